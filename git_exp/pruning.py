"""Which experiments ``gc`` and ``rm`` delete: names or globs, combined (AND) with age,
orphaned baselines, a number of newest to keep and a ``--where`` query (``queried``)."""
from __future__ import annotations

import time

from git_exp import names
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.repo import Exp, Repo

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_age(text: str) -> int:
    """Seconds in ``90m``, ``12h``, ``30d``, ``2w``, ``1y`` (a bare number is days)."""
    number = text.strip()
    unit = number[-1:] if number[-1:] in UNITS else ""
    digits = number[:len(number) - len(unit)].strip()
    if not digits.isdigit() or not digits.isascii() or len(digits) > 9:
        raise UsageError(f"cannot read age {shown(text)} — write a number and a unit: 90m, 12h, 30d, 2w, 1y")
    return int(digits) * UNITS[unit or "d"]


def matching(exps: list[Exp], patterns: list[str], what: str = "deleted") -> list[Exp]:
    """The experiments whose names match ``patterns``; a pattern matching none is a usage error."""
    for pattern in patterns:
        if not names.is_glob(pattern):
            names.ExpName(pattern)
    by_name = {e.name: e for e in exps}
    chosen, unmatched = names.select(list(by_name), patterns)
    if unmatched:
        raise UsageError(f"no experiment matches {shown(unmatched[0])} — nothing was {what}; `git exp ls` lists them")
    return [by_name[n] for n in chosen]


def orphaned(repo: Repo, exps: list[Exp]) -> set[str]:
    """Names whose baseline is not reachable from any branch (local or remote-tracking) or tag, in one rev-list."""
    baselines = {e.baseline for e in exps if e.baseline}
    if not baselines:
        return set()
    result = repo.run("rev-list", "--stdin", "--not", "--branches", "--tags", "--remotes",
                      input="".join(f"{b}\n" for b in sorted(baselines)))
    unreachable = set(result.out.split())
    return {e.name for e in exps if e.baseline in unreachable}


def criteria_given(older_than: str | None, orphans: bool, keep: int | None) -> bool:
    return older_than is not None or orphans or keep is not None


def choose(repo: Repo, candidates: list[Exp], *, older_than: str | None = None, orphans: bool = False,
           keep: int | None = None, now: float | None = None) -> list[Exp]:
    """Of ``candidates``, those every given criterion selects: older than ``older_than``,
    baseline orphaned, and not among the ``keep`` newest candidates."""
    if keep is not None and keep < 0:
        raise UsageError("--keep needs a number of experiments, 0 or more")
    doomed = list(candidates)
    if older_than is not None:
        cutoff = (time.time() if now is None else now) - parse_age(older_than)
        doomed = [e for e in doomed if e.created < cutoff]
    if orphans:
        lost = orphaned(repo, candidates)
        doomed = [e for e in doomed if e.name in lost]
    if keep is not None:
        newest = sorted(candidates, key=lambda e: (e.created, e.name), reverse=True)[:keep]
        protected = {e.name for e in newest}
        doomed = [e for e in doomed if e.name not in protected]
    return doomed


def queried(repo: Repo, parsed, candidates: list[Exp]):
    """``query.Matched``: those of ``candidates`` the parsed ``--where`` query matches, each
    at the commit it was decided on (one that moved since it was listed is left out), and
    in ``undecided`` the rows it could not decide (unreadable files), which are kept."""
    from git_exp.commands.show import matching
    from git_exp.query import Matched

    wanted = {e.name: e for e in candidates}
    matched = matching(repo, parsed, keep=lambda row: row["name"] in wanted)
    found = Matched(wanted[row["name"]] for row in matched if wanted[row["name"]].sha == row["sha"])
    found.undecided = matched.undecided
    return found
