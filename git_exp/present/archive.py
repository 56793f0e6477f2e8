"""``archive``, ``unarchive``, ``push --archived``, ``pull --archived``: a line per
experiment on stdout (a script reads them), then a count on stderr."""
from __future__ import annotations

from git_exp.present.common import count, note, out


def archived(result, verb: str = "archived") -> None:
    """``archive`` or ``unarchive``'s result: ``<verb> NAME (sha)`` per experiment."""
    shown = f"would be {verb}" if result.dry_run else verb
    for entry in result.entries:
        out(f"{shown} {entry.name} ({entry.sha[:12]})")
    if not result.entries:
        note(f"nothing to be {verb}: no experiment matches")
        return
    where = "" if result.dry_run else f" in {len(result.written)} archive ref{'s' if len(result.written) != 1 else ''}"
    note(f"{shown} {count(len(result.entries))}{where}"
         + ("; `git exp unarchive NAME` brings one back" if verb == "archived" and not result.dry_run else ""))


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def pushed(shared, remote: str, dry_run: bool) -> None:
    """One line: what was sent and deleted, only the parts that happened; or that nothing was."""
    would = "would " if dry_run else ""
    parts = [f"{would}send {plural(len(shared.archives), 'archive ref')}"] if shared.archives else []
    if shared.deleted:
        parts.append(f"{would}delete {count(len(shared.deleted))} now archived there")
    if shared.replaced:
        parts.append(f"{would}delete {plural(len(shared.replaced), 'replaced archive')}")
    note(f"{remote}: " + "; ".join(parts) if parts else f"nothing to push: {remote} has every archive")


def pulled(shared, remote: str) -> None:
    for name in shared.unarchived:
        out(f"unarchived {name}")
    note(f"{remote}: fetched {plural(len(shared.archives), 'new archive ref')}"
         + (f"; unarchived {count(len(shared.unarchived))}" if shared.unarchived else ""))
