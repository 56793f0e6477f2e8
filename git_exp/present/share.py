"""push, pull, ``rm --remote``, ``rename --remote``: a line per experiment that changed,
a count of the rest, and the one-line error naming what was rejected or left."""
from __future__ import annotations

from git_exp.present.common import count, note, out


def pushed(results, remote: str) -> int:
    """One line per experiment that changed (or was refused), a count of those already up
    to date; exit 1 if any was rejected, naming them."""
    out("".join(f"{r.status:<12} {r.name}" + (f"  ({r.detail})" if r.detail else "") + "\n"
                for r in results if r.status != "up to date"))
    same = getattr(results, "already", 0) + sum(r.status == "up to date" for r in results)
    if same:
        note(f"{count(same)} already up to date")
    rejected = [r.name for r in results if r.status == "rejected"]
    if rejected:
        for line in results.remote_says:
            note(f"{remote}: {line}")
        shown = ", ".join(rejected[:5]) + (f" and {len(rejected) - 5} more" if len(rejected) > 5 else "")
        moved = any(r.status == "rejected" and any(k in r.detail for k in ("fetch first", "non-fast-forward", "stale info"))
                    for r in results)
        advice = ("they changed on the remote: `git exp pull` and compare, then push again, or --force to overwrite"
                  if moved else f"{remote} refused them; its reasons are above")
        note(f"git-exp: error: {remote} rejected {count(len(rejected))}: {shown} — {advice}")
        return 1
    if not results and not same:
        note("nothing to push")
    return 0


def pulled(results, remote: str) -> int:
    """One line per experiment that changed, a count of the rest; exit 1 when some
    diverged or could not be created, naming them."""
    changed = [r for r in results if r.status != "up to date"]
    out("".join(f"{r.status:<14} {r.name}" + (f"  ({r.detail})" if r.detail else "") + "\n" for r in changed))
    same = len(results) - len(changed)
    if same:
        note(f"{count(same)} already up to date")
    blocked = [r.name for r in results if r.status == "rejected"]
    diverged = [r.name for r in results if r.status == "diverged"]
    if diverged:
        note(f"git-exp: error: {count(len(diverged))} diverged from {remote} and were left as they are: "
             f"{', '.join(diverged[:5])} — compare with `git exp diff`, or pull --force to take theirs")
    if blocked:
        note(f"git-exp: error: {count(len(blocked))} could not be created because a local name is in the way: "
             f"{', '.join(blocked[:5])} — rename or remove the local experiment, then pull again")
    return 1 if diverged or blocked else 0
