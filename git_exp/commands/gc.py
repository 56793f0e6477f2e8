"""``git exp gc``: prune experiments by age, orphaned baseline, count or ``--where``; pack refs."""
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
       dry_run: bool = False, now: float | None = None, where: str | None = None) -> list[Exp]:
    """The experiments deleted (or, ``dry_run``, that would be): those every given
    criterion selects.  With ``where`` a ``query.Matched`` (``undecided``: the rows the
    query could not decide, which are kept)."""
    if keep is not None and keep < 0:
        raise UsageError("--keep needs a number of experiments, 0 or more")
    parsed = None
    if where is not None:
        from git_exp import query

        parsed = query.parse(where, now)  # a bad query fails before anything is read
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
    undecided: list = []
    if parsed is not None:
        from git_exp import rows

        candidates = {e.name for e in doomed}  # what the other criteria chose (all, if none is given)
        matched = rows.matching(repo, parsed, keep=lambda row: row["name"] in candidates)
        decided_on = {row["name"]: row["sha"] for row in matched}
        doomed = [e for e in doomed if decided_on.get(e.name) == e.sha]  # moved meanwhile: not what was decided on
        undecided = matched.undecided
        selected = True
    if not selected:
        doomed = []
    if parsed is not None:
        from git_exp.query import Matched

        doomed = Matched(doomed)
        doomed.undecided = undecided
    if not dry_run:
        from git_exp import leftovers

        leftovers.sweep(repo)  # what killed commands left: stale locks, staging refs, index copies, worktrees
        repo.transaction([(e.ref, repo.zero, e.sha) for e in doomed], "git exp gc")
        repo.pack_refs()
        cache.clear(repo.common_dir)
    return doomed
