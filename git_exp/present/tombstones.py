"""How ``git exp gc --tombstones`` reports the tombstones it deleted."""
from __future__ import annotations

import time

from git_exp.present.common import note, out


def deleted(doomed, remote: str | None, dry_run: bool) -> None:
    text, said = deleted_lines(doomed, dry_run, remote)
    out(text)
    note(said)


def deleted_lines(doomed, dry_run: bool, remote: str | None) -> tuple[str, str]:
    """(stdout: one line per tombstone, stderr: the count)."""
    verb = "would delete" if dry_run else "deleted"
    lines = []
    for t in doomed:
        when = time.strftime("%Y-%m-%d", time.gmtime(t.when)) if t.when else "unknown date"
        what = f"renamed to {t.renamed_to}" if t.renamed_to else "removed"
        kept = f", kept {t.removed}" if t.removed else ""
        lines.append(f"{verb} tombstone {t.name} ({what} {when}{kept})\n")
    where = f" on {remote}" if remote else ""
    count = f"{len(doomed)} tombstone" + ("" if len(doomed) == 1 else "s")
    return "".join(lines), f"{verb} {count}{where}"
