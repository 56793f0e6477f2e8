"""push, pull, ``rm --remote``, ``rename --remote``: a line per experiment that changed,
a count of the rest, and the one-line error naming what was rejected or left."""
from __future__ import annotations

from git_exp.present.common import count, note, out

VERBOSE = False  # -v: every per-experiment line
QUIET = False  # -q: errors only


def set_verbosity(verbose: bool = False, quiet: bool = False) -> None:
    global VERBOSE, QUIET
    VERBOSE, QUIET = verbose, quiet


def screenful() -> int | None:
    """How many per-experiment lines to print: all with -v or when stdout is no terminal
    (a script reads them), else what fits the terminal with the summary below."""
    import os
    import shutil

    try:
        if VERBOSE or not os.isatty(1):
            return None
    except OSError:
        return None
    return max(shutil.get_terminal_size().lines - 4, 5)


ORDER = ("new", "updated", "forced", "deleted", "would be new", "would be updated", "would be forced",
         "would be deleted", "local is ahead", "skipped", "rejected", "diverged")


def lines(results, width: int, palette=None) -> None:
    """One line per experiment that changed, up to a screenful; the rest counted.
    ``palette``: a dict, None, or what makes one (``terminal.colours``), asked only when
    there are lines to colour (it reads git config; a no-op push or pull has none)."""
    if QUIET:
        return
    changed = [r for r in results if r.status != "up to date"]
    if not changed:
        return
    if callable(palette):
        palette = palette()
    limit = screenful()
    shown = changed if limit is None or len(changed) <= limit else changed[:limit - 1]
    out("".join(f"{painted(r.status, width, palette)} {r.name}" + (f"  ({r.detail})" if r.detail else "") + "\n"
                for r in shown))
    if len(shown) < len(changed):
        note(f"... and {len(changed) - len(shown)} more (-v lists them all)")


def summary(results, already: int = 0) -> None:
    """One line on stderr: ``2000 new, 3 updated, 1 diverged, 5 up to date`` when several
    experiments were involved; ``N experiments already up to date`` when nothing changed."""
    if QUIET:
        return
    tally: dict[str, int] = {}
    for r in results:
        tally[r.status] = tally.get(r.status, 0) + 1
    same = already + tally.pop("up to date", 0)
    if not tally:
        if same:
            note(f"{count(same)} already up to date")
        return
    if sum(tally.values()) + same < 2:
        return
    parts = [f"{tally.pop(k)} {k}" for k in ORDER if k in tally] + [f"{n} {k}" for k, n in tally.items()]
    if same:
        parts.append(f"{same} up to date")
    note(", ".join(parts))


def named(names_: list[str], most: int = 5) -> str:
    return ", ".join(names_[:most]) + (f" and {len(names_) - most} more" if len(names_) > most else "")


def painted(status: str, width: int, palette: dict | None) -> str:
    """``status`` padded to ``width``, in its colour (``terminal``'s slots: rejected,
    diverged) when ``palette`` is given."""
    code = palette.get(status) if palette else None
    return (code + status + "\033[m" if code else status) + " " * (width - len(status))


def pushed(results, remote: str, palette=None) -> int:
    """One line per experiment that changed (or was refused), the summary; exit 1 if any
    was rejected, naming them.  ``palette``: colours for statuses (``lines``)."""
    lines(results, 12, palette)
    already = getattr(results, "already", 0)
    summary(results, already)
    rejected = [r.name for r in results if r.status == "rejected"]
    if rejected:
        for line in results.remote_says:
            note(f"{remote}: {line}")
        moved = any(r.status == "rejected" and any(k in r.detail for k in ("fetch first", "non-fast-forward", "stale info"))
                    for r in results)
        them = "it" if len(rejected) == 1 else "them"
        advice = (f"{'it' if len(rejected) == 1 else 'they'} changed on the remote: `git exp pull` and compare, "
                  f"then push again, or --force to overwrite"
                  if moved else f"{remote} refused {them}; its reasons are above")
        note(f"git-exp: error: {remote} rejected {count(len(rejected))}: {named(rejected)} — {advice}")
        return 1
    if not results and not already and not QUIET and not getattr(results, "notes", None):
        note("nothing to push")
    return said_about_notes(results)


def said_about_notes(results) -> int:
    """What became of the tags and notes (``notesync``) after push or pull: a line, or the
    one-line error (exit 1) when they could not be moved though the experiments were."""
    if getattr(results, "notes", None) and not QUIET:
        note(results.notes)
    if getattr(results, "notes_error", None):
        note(f"git-exp: error: {results.notes_error}")
        return 1
    return 0


def pulled(results, remote: str, palette=None) -> int:
    """One line per experiment that changed, the summary; exit 1 when some diverged or
    could not be created, naming them.  ``palette``: colours for statuses (``lines``)."""
    lines(results, 14, palette)
    summary(results)
    if not results and not getattr(results, "unmatched", 0) and not getattr(results, "undecided", ()) and not QUIET:
        note(f"nothing to pull: {remote} has no experiments — `git exp push {remote} NAME` shares one")
    blocked = [r.name for r in results if r.status == "rejected"]
    diverged = [r.name for r in results if r.status == "diverged"]
    if diverged:
        was = "was left as it is" if len(diverged) == 1 else "were left as they are"
        note(f"git-exp: error: {count(len(diverged))} diverged from {remote} and {was}: "
             f"{named(diverged)} — compare with `git exp diff`, or pull --force to take theirs")
    if blocked:
        note(f"git-exp: error: {count(len(blocked))} could not be created because a local name is in the way: "
             f"{named(blocked)} — rename or remove the local experiment, then pull again")
    left = getattr(results, "removed_there", [])
    if left and not QUIET:
        one = len(left) == 1
        note(f"{count(len(left))} here {'was' if one else 'were'} removed on {remote}: {named(left)} — "
             f"`git exp pull --prune` removes {'it' if one else 'them'} here")
    failed = 1 if diverged or blocked else 0
    return said_about_notes(results) or failed


def removed(results, remote: str, target: str) -> int:
    """``rm --remote``: each deleted experiment with the commit it pointed at, as local
    ``rm`` prints them, and how to put one back; then ``pushed``'s errors for the rest."""
    gone = [r for r in results if r.status in ("deleted", "would be deleted")]
    for r in gone:
        out(f"{'would delete' if r.status != 'deleted' else 'deleted'} {r.name} ({r.detail})")
    if gone and gone[0].status == "deleted":
        first = gone[0]
        note(f"restore with: git push {target} <sha>:refs/exp/<name> from a clone that has the commit "
             f"(e.g. git push {target} {first.detail}:refs/exp/{first.name})")
    rest = type(results)(r for r in results if r not in gone)
    rest.remote_says, rest.already = results.remote_says, getattr(results, "already", 0)
    if not rest and gone:
        return 0
    return pushed(rest, remote)
