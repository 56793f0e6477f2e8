"""``git exp note NAME ["TEXT"] [--clear]``: note lines in ``refs/notes/exp``.

Each ``note`` appends one line (stripped, secrets redacted) as an event of the note of
the experiment's commit; ``--clear`` appends a ``clear`` event that hides the lines
before it (they stay in the notes' history).  Without TEXT it reports the lines.
"""
from __future__ import annotations

from git_exp import notes
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.record import Record
from git_exp.repo import Repo


class Noted(Record):
    """The experiment, its commit, what was added ('' for none), whether it was cleared,
    and its note lines now."""

    __slots__ = ("name", "sha", "added", "cleared", "notes")


def note(repo: Repo, name: str, text: str | None = None, *, clear: bool = False) -> Noted:
    if clear and text is not None:
        raise UsageError("--clear takes no text — clear first, then add the new note with a second `git exp note`")
    line = notes.check_text(text) if text is not None else ""
    exp = repo.get(name)
    current = notes.of(repo, exp.sha)
    if clear:
        if current.notes:
            notes.append(repo, exp.sha, [notes.event("clear")], f"clear the notes of {shown(exp.name)}")
        return Noted(exp.name, exp.sha, "", bool(current.notes), ())
    if line:
        notes.append(repo, exp.sha, [notes.event("note", line)], f"add a note to {shown(exp.name)}")
        return Noted(exp.name, exp.sha, line, False, (*current.notes, line))
    return Noted(exp.name, exp.sha, "", False, current.notes)
