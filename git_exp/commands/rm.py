"""``git exp rm NAME|GLOB...``: delete experiments in one transaction."""
from __future__ import annotations

from git_exp import names
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.repo import Exp, Repo


def select(repo: Repo, patterns: list[str]) -> list[Exp]:
    """The experiments matching ``patterns``; an unmatched pattern is a usage error."""
    if not patterns:
        raise UsageError("name the experiments to delete — e.g. `git exp rm old-run 'sweep/*'`")
    for pattern in patterns:
        if not names.is_glob(pattern):
            names.ExpName(pattern)
    by_name = repo.by_name()
    chosen, unmatched = names.select(list(by_name), patterns)
    if unmatched:
        raise UsageError(f"no experiment matches {shown(unmatched[0])} — nothing was deleted; `git exp ls` lists them")
    return [by_name[n] for n in chosen]


def rm(repo: Repo, patterns: list[str], *, dry_run: bool = False) -> list[Exp]:
    doomed = select(repo, patterns)
    if not dry_run:
        repo.transaction([(e.ref, repo.zero, e.sha) for e in doomed], "git exp rm")
        if len(doomed) >= 100:
            repo.pack_refs()
    return doomed
