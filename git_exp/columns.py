"""Choosing columns by name: ``--columns`` and ``--drop`` (names, globs), ``--only-changed``.

A name is a column's full name (``params.lr``), or its name after ``params.`` /
``metrics.`` when only one column has it (``lr``), as ``query.resolve_column`` (the
shared resolver, also of ``--where`` and ``--sort``) reads it; a pattern with ``*``,
``?`` or ``[`` is a glob over full names (``'metrics.*'``).  A name or pattern that
picks no column is a usage error that lists the columns there are.
"""
from __future__ import annotations

from git_exp.errors import UsageError
from git_exp.names import shown

EXTRA = ("sha", "remote", "age", "command", "message", "run_url")  # row keys that are no default column
LISTED = 40  # columns named in the error; the rest are counted


def split(text: str | None) -> list[str]:
    """``a,b, c`` as ``["a", "b", "c"]`` (empty items dropped)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _unknown(what: str, option: str, known: list[str]) -> UsageError:
    listed = ", ".join(known[:LISTED]) + (f" and {len(known) - LISTED} more" if len(known) > LISTED else "")
    return UsageError(f"no column {what} for {option} — the columns are: {listed}")


def resolve(name: str, known: list[str], option: str = "--columns") -> list[str]:
    """The columns ``name`` picks from ``known``, in ``known``'s order for a glob."""
    if any(c in name for c in "*?["):
        from fnmatch import fnmatchcase  # imports re: only when a glob is given

        found = [column for column in known if fnmatchcase(column, name)]
        if not found:
            raise _unknown(f"matches {shown(name)}", option, known)
        return found
    if name in known:
        return [name]
    from git_exp.query import resolve_column  # the shared resolver: UsageError for none or two

    return [resolve_column(name, known, option=option)]


def pick(known: list[str], shown_: list[str], rows: list[dict], *, columns: str | None = None,
         drop: str | None = None, only_changed: bool = False, keep: tuple = ("name",)) -> list[str]:
    """The columns to show: ``shown_`` (the default list) or those ``columns`` names, in its
    order; less those ``drop`` names; less (``only_changed``, with two rows or more) those
    whose value is the same in every row.  ``known`` are all names that may be asked for;
    ``keep`` columns come first and are never dropped as unchanged."""
    chosen = list(shown_)
    if columns is not None:
        chosen = []
        for name in split(columns):
            chosen += [c for c in resolve(name, known) if c not in chosen]
        chosen = [c for c in keep if c not in chosen] + chosen
    if drop is not None:
        doomed = {c for name in split(drop) for c in resolve(name, known, "--drop")}
        chosen = [c for c in chosen if c not in doomed or c in keep]
    if only_changed and len(rows) > 1:
        chosen = [c for c in chosen if c in keep or _changes(rows, c)]
    return chosen


def _changes(rows: list[dict], column: str) -> bool:
    first = rows[0].get(column)
    return any(row.get(column) != first for row in rows)
