"""What ``--where`` has to say besides its rows: the experiments it could not decide,
and that it matched nothing."""
from __future__ import annotations

from git_exp.present.common import count, note

SHOWN = 3  # experiments named; the rest are counted


def undecided(rows: list[dict]) -> str | None:
    """The one-line warning for the rows a query could neither match nor rule out
    (``query.Matched.undecided``), or None when there are none."""
    if not rows:
        return None
    from git_exp.names import shown

    labels = [shown(f"{row['remote']}/{row['name']}" if row.get("remote") else row["name"]) for row in rows[:SHOWN]]
    if len(rows) > SHOWN:
        labels.append(f"and {len(rows) - SHOWN} more")
    counted = "1 experiment was" if len(rows) == 1 else f"{len(rows)} experiments were"
    their = "its" if len(rows) == 1 else "their"
    return (f"git-exp: warning: {counted} left out because --where cannot decide without {their} unreadable params "
            f"or metrics files: {', '.join(labels)} (`git exp show` shows why)")


def warn_undecided(result) -> None:
    """``undecided`` for a command's result that carries ``undecided`` rows."""
    text = undecided(list(getattr(result, "undecided", ())))
    if text:
        note(text)


def selected(result, nothing: str) -> bool:
    """Warn about undecided rows; say ``nothing`` when the query matched no experiment
    (and none was already up to date); whether anything was selected."""
    warn_undecided(result)
    if result or getattr(result, "already", 0):
        return True
    note(f"no experiment matches --where; {nothing}")
    return False


def unmatched_pulls(result, remote: str) -> None:
    """How many of the remote's experiments were fetched but did not match (``pull --where``)."""
    if getattr(result, "unmatched", 0):
        note(f"{count(result.unmatched)} did not match --where (fetched to refs/remote-exp/{remote}/ only)")
