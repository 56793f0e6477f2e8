"""``git exp __complete WORD... CURRENT``: what the shells offer at the cursor.

The completions in ``completion/`` (bash, zsh, fish) are thin: each hands the words
after ``exp`` (the one under the cursor last) to this hidden command and shows what it
prints, ``candidate<TAB>description`` per line.  So commands and options come from the
declarations in ``cli`` and never drift from them, and one place knows what each
position takes:

- a command name, then options (``--name=`` for one that takes a value) when the word
  starts with ``-``;
- experiment names, local and ``REMOTE/NAME`` (one ``for-each-ref``, no object read),
  remotes where a command takes a remote (``ARGUMENTS``), nothing after ``run``'s CMD;
- after ``--remote``: remotes; after ``--sort``, ``--where``, ``--columns``, ``--drop``:
  the columns ``show`` has in this repository (``--sort=-COLUMN`` too, and ``A,B`` lists
  for ``--columns``/``--drop``).

Outside a repository, or on any error, it offers nothing: a completion never prints an
error into the user's command line.
"""
from __future__ import annotations

COLUMN_OPTIONS = ("--sort", "--where", "--columns", "--drop")
LIST_OPTIONS = ("--columns", "--drop")  # comma-separated lists of columns
REMOTE_OPTIONS = ("--remote",)
GLOBAL_OPTIONS = (("--version", "Print the version and exit."), ("--help", "Show the help and exit."))
# What each positional argument takes, per command (default: experiment names at every
# position); "remote names": a remote or an experiment, "" nothing to offer.
ARGUMENTS = {
    "ls": ("remote",),
    "push": ("remote names", "names"),
    "pull": ("remote names", "names"),
    "show": ("remote names", "names"),  # show REMOTE [GLOB...]: a remote first, or names
    "install": ("remote",),
    "uninstall": ("remote",),
    "run": ("",),
    "rename": ("names", ""),
    "branch": ("names", ""),
    "tag": ("names", ""),
    "note": ("names", ""),
}


def candidates(words: list[str]) -> list[tuple[str, str]]:
    """``(candidate, description)`` for the last of ``words`` (the words after ``exp``)."""
    from git_exp.cli import COMMANDS

    *before, current = words or [""]
    at = next((i for i, word in enumerate(before) if not word.startswith("-")), None)
    if at is None:  # no command yet
        if current.startswith("-"):
            return _matching(GLOBAL_OPTIONS, current)
        return _matching([(name, _summary(function)) for name, (function, options) in COMMANDS.items()
                          if not options.get("hidden")], current)
    name = before[at]
    if name not in COMMANDS:
        return []
    options = _options(COMMANDS[name][0])
    takes = {decl: kind for decl, kind, _ in options}
    position, pending, dashdash = 0, None, False
    for word in before[at + 1:]:
        if name == "run" and (position or dashdash):
            return []  # the words of run's CMD: not ours to complete
        if pending is not None:
            pending = None
        elif word == "--" and not dashdash:
            dashdash = True
        elif word.startswith("-") and len(word) > 1 and not dashdash:
            if takes.get(word):
                pending = takes[word]
        else:
            position += 1
    if name == "run" and (position or dashdash):
        return []
    if pending is not None:
        return _values(pending, "", current)
    if current.startswith("--") and "=" in current:
        decl, _, value = current.partition("=")
        return _values(takes.get(decl, ""), decl + "=", value)
    if current.startswith("-") and not dashdash:
        return _matching([(decl + ("=" if kind else ""), text) for decl, kind, text in options
                          if decl.startswith("--")] + [("--help", "Show the help and exit.")], current)
    kinds = ARGUMENTS.get(name, ("names",))
    kind = kinds[min(position, len(kinds) - 1)]
    return _values(kind, "", current)


def _summary(function) -> str:
    return (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""


def _options(function) -> list[tuple[str, str, str]]:
    """``(declaration, kind of value or "", help)`` for each option of a command."""
    from git_exp.params import Param, signature

    found = []
    for _, annotation, param in signature(function):
        if not isinstance(param, Param) or param.kind != "Option":
            continue
        for decl in param.decls:
            if annotation == "bool":
                kind = ""
            elif decl in REMOTE_OPTIONS:
                kind = "remote"
            elif decl in COLUMN_OPTIONS:
                kind = "list" if decl in LIST_OPTIONS else "column"
            else:
                kind = "value"
            found.append((decl, kind, param.options.get("help", "")))
    return found


def _matching(pairs, current: str) -> list[tuple[str, str]]:
    return [(word, text) for word, text in pairs if word.startswith(current)]


def _values(kind: str, prefix: str, current: str) -> list[tuple[str, str]]:
    """What a value of ``kind`` may be, as whole words ``prefix + value``."""
    found: list[tuple[str, str]] = []
    if kind in ("column", "list"):
        lead = ""
        if kind == "list":
            lead = current.rpartition(",")[0] + "," if "," in current else ""
        elif current.startswith("-") and prefix.startswith("--sort"):
            lead = "-"
        found = [(lead + column, "") for column in columns()]
    else:
        if "remote" in kind:
            found += [(remote, "remote") for remote in remotes()]
        if "names" in kind:
            found += [(label, "") for label in experiment_names()]
    return [(prefix + word, text) for word, text in found if word.startswith(current)]


def remotes() -> list[str]:
    from git_exp import remotes as remotes_
    from git_exp.repo import Repo

    return sorted(remotes_.configured(Repo(remotes=True)))


def experiment_names() -> list[str]:
    """Local experiments, then remote-tracking ones as ``REMOTE/NAME``: the names ``ls -r`` prints."""
    from git_exp import rows
    from git_exp.repo import Repo

    listing = rows.start_listing(Repo(), remotes=True)
    _, refs = rows.listed(listing)
    return rows.labels(*rows.split_names(refs, True))


def columns() -> list[str]:
    """``show``'s columns in this repository (params and metrics from every experiment)."""
    from git_exp.commands import show

    source = show.start()
    return list(show.show(source.repo, [], listing=source.listing, files=source.files)[1])
