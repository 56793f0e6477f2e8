"""What ``--where`` has to say besides its rows: the experiments it could not decide."""
from __future__ import annotations

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
    count = "1 experiment was" if len(rows) == 1 else f"{len(rows)} experiments were"
    their = "its" if len(rows) == 1 else "their"
    return (f"git-exp: warning: {count} left out because --where cannot decide without {their} unreadable params "
            f"or metrics files: {', '.join(labels)} (`git exp show` shows why)")
