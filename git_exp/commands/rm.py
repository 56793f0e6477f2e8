"""``git exp rm NAME|GLOB...``: delete experiments in one transaction, optionally only
those older than an age or beyond the newest N of them."""
from __future__ import annotations

from git_exp import pruning
from git_exp.errors import UsageError
from git_exp.repo import Exp, Repo


def select(repo: Repo, patterns: list[str]) -> list[Exp]:
    """The experiments matching ``patterns``; an unmatched pattern is a usage error."""
    if not patterns:
        raise UsageError("name the experiments to delete — e.g. `git exp rm old-run 'sweep/*'`")
    return pruning.matching(list(repo.by_name().values()), patterns)


def rm(repo: Repo, patterns: list[str], *, dry_run: bool = False, older_than: str | None = None,
       keep: int | None = None) -> list[Exp]:
    if pruning.criteria_given(older_than, False, keep):  # needs each commit's time: read them
        select(repo, patterns)  # the same errors, before reading anything more
        doomed = pruning.choose(repo, pruning.matching(repo.list(trailers=False), patterns),
                                older_than=older_than, keep=keep)
    else:
        doomed = select(repo, patterns)
    if not dry_run:
        repo.transaction([(e.ref, repo.zero, e.sha) for e in doomed], "git exp rm")
        if len(doomed) >= 100:
            repo.pack_refs()
    return doomed
