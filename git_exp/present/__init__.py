"""How each command's result is shown: text, ``--json``, ``--md``, ``--csv``, summaries.

One module per command family; a presenter takes what a command module returned and
writes it (``common.out`` to stdout, ``common.note`` to stderr).  Presenters start no
process and never call a command.
"""
