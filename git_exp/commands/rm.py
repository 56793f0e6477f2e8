"""``git exp rm NAME|GLOB...``: delete experiments in one transaction, optionally only
those older than an age, beyond the newest N of them, or matching a ``--where`` query
(which alone may select from all experiments)."""
from __future__ import annotations

from git_exp import pruning
from git_exp.errors import UsageError
from git_exp.repo import Exp, Repo


def select(repo: Repo, patterns: list[str]) -> list[Exp]:
    """The experiments matching ``patterns``; an unmatched pattern is a usage error."""
    if not patterns:
        raise UsageError("name the experiments to delete — e.g. `git exp rm old-run 'sweep/*'`, "
                         "or select them with `git exp rm --where QUERY`")
    return pruning.matching(list(repo.by_name().values()), patterns)


def rm(repo: Repo, patterns: list[str], *, dry_run: bool = False, older_than: str | None = None,
       keep: int | None = None, where: str | None = None) -> list[Exp]:
    """The experiments deleted (or, ``dry_run``, that would be).  With ``where`` a
    ``query.Matched`` (``undecided``: rows the query could not decide, which are kept)."""
    parsed = None
    if where is not None:
        from git_exp import query

        parsed = query.parse(where)  # a bad query fails before anything is read
    if parsed is not None or pruning.criteria_given(older_than, False, keep):  # needs each commit: read them
        if patterns or parsed is None:
            select(repo, patterns)  # the same errors, before reading anything more
        exps = repo.list(trailers=False)
        doomed = pruning.choose(repo, pruning.matching(exps, patterns) if patterns else exps,
                                older_than=older_than, keep=keep)
        if parsed is not None:
            doomed = pruning.queried(repo, parsed, doomed)
    else:
        doomed = select(repo, patterns)
    if not dry_run:
        from git_exp import leftovers

        leftovers.clear_stale_locks(repo)  # what a killed git left (a killed rm's own, on its rerun)
        repo.transaction([(e.ref, repo.zero, e.sha) for e in doomed], "git exp rm")
        if len(doomed) >= 100:
            repo.pack_refs()
    return doomed
