"""``git exp gc``: prune experiments by age, orphaned baseline or count; pack refs."""
from __future__ import annotations

import re
import time

from git_exp import cache
from git_exp.errors import UsageError
from git_exp.repo import Exp, Repo

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_age(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([smhdwy]?)\s*", text)
    if not match:
        raise UsageError(f"cannot read age {text!r} — write a number and a unit: 90m, 12h, 30d, 2w, 1y")
    return int(match[1]) * UNITS[match[2] or "d"]


def orphaned(repo: Repo, exps: list[Exp]) -> set[str]:
    """Names whose baseline is not reachable from any branch (local or remote-tracking) or tag, in one rev-list."""
    baselines = {e.baseline for e in exps if e.baseline}
    if not baselines:
        return set()
    result = repo.run("rev-list", "--stdin", "--not", "--branches", "--tags", "--remotes",
                      input="".join(f"{b}\n" for b in sorted(baselines)))
    unreachable = set(result.out.split())
    return {e.name for e in exps if e.baseline in unreachable}


def gc(repo: Repo, *, older_than: str | None = None, orphans: bool = False, keep: int | None = None,
       dry_run: bool = False, now: float | None = None) -> list[Exp]:
    if keep is not None and keep < 0:
        raise UsageError("--keep needs a number of experiments, 0 or more")
    exps = repo.list(trailers=False)
    doomed = list(exps)
    selected = False
    if older_than is not None:
        cutoff = (time.time() if now is None else now) - parse_age(older_than)
        doomed = [e for e in doomed if e.created < cutoff]
        selected = True
    if orphans:
        lost = orphaned(repo, exps)
        doomed = [e for e in doomed if e.name in lost]
        selected = True
    if keep is not None:
        newest = sorted(exps, key=lambda e: (e.created, e.name), reverse=True)[:keep]
        protected = {e.name for e in newest}
        doomed = [e for e in doomed if e.name not in protected]
        selected = True
    if not selected:
        doomed = []
    if not dry_run:
        from git_exp import leftovers

        leftovers.sweep(repo)  # what killed commands left: stale locks, staging refs, index copies, worktrees
        repo.transaction([(e.ref, repo.zero, e.sha) for e in doomed], "git exp gc")
        repo.pack_refs()
        cache.clear(repo.common_dir)
    return doomed


def gc_tombstones(repo: Repo, *, older_than: str | None = None, dry_run: bool = False,
                  now: float | None = None) -> list:
    """Delete the tombstones here (all, or those older than ``older_than`` by the time of
    the removal) in one transaction; the commits they kept reachable may then go with
    git's own gc.  Returns the ``tombstones.Tombstone``s deleted."""
    from git_exp import tombstones

    found = tombstones.local(repo)
    about = tombstones.describe(repo, found.values())
    doomed = []
    cutoff = None if older_than is None else (time.time() if now is None else now) - parse_age(older_than)
    for name, sha in sorted(found.items()):
        info = about.get(sha) or tombstones.Tombstone(name, sha, "", 0, None)
        if cutoff is None or info.when < cutoff:
            info.name = name
            doomed.append(info)
    if not dry_run and doomed:
        repo.transaction([(tombstones.ref(t.name), repo.zero, t.sha) for t in doomed], "git exp gc --tombstones")
    return doomed
