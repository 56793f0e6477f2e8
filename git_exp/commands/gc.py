"""``git exp gc [NAME|GLOB...]``: prune experiments by age, orphaned baseline, count or
``--where`` query; sweep what killed commands left, pack refs, clear the caches."""
from __future__ import annotations

from git_exp import cache, pruning
from git_exp.errors import UsageError
from git_exp.repo import Exp, Repo

parse_age = pruning.parse_age  # the name tests and older callers know


def gc(repo: Repo, patterns: list[str] | None = None, *, older_than: str | None = None, orphans: bool = False,
       keep: int | None = None, dry_run: bool = False, now: float | None = None, where: str | None = None) -> list[Exp]:
    """Delete the experiments (among those ``patterns`` name, or all) that every given
    criterion selects; with no criterion, delete none and only tidy up.  With ``where``
    a ``query.Matched`` (``undecided``: rows the query could not decide, which are kept)."""
    parsed = None
    if where is not None:
        from git_exp import query

        parsed = query.parse(where, now)  # a bad query fails before anything is read
    given = pruning.criteria_given(older_than, orphans, keep) or parsed is not None
    if patterns and not given:
        raise UsageError("say which of them to delete: --older-than AGE, --orphaned, --keep N or --where QUERY "
                         "(`git exp rm` deletes by name alone)")
    exps = repo.list(trailers=False)
    candidates = pruning.matching(exps, patterns) if patterns else exps
    doomed = pruning.choose(repo, candidates, older_than=older_than, orphans=orphans, keep=keep, now=now) if given else []
    if parsed is not None:
        doomed = pruning.queried(repo, parsed, doomed)
    if not dry_run:
        from git_exp import leftovers

        leftovers.sweep(repo)  # what killed commands left: stale locks, staging refs, index copies, worktrees
        repo.transaction([(e.ref, repo.zero, e.sha) for e in doomed], "git exp gc")
        repo.pack_refs()
        cache.clear(repo.common_dir)
        gone = {e.name for e in doomed}
        drop_logs(repo, {e.name for e in exps} - gone)
    return doomed


def drop_logs(repo: Repo, kept: set[str]) -> list[str]:
    """Remove the output logs of sweep runs (``<git dir>/git-exp/logs/NAME.log``) whose
    experiment no longer exists; return their names."""
    import os

    root = os.path.join(repo.common_dir, "git-exp", "logs")
    dropped = []
    for folder, _dirs, files in os.walk(root, topdown=False):
        for file in files:
            path = os.path.join(folder, file)
            name = os.path.relpath(path, root)[:-len(".log")] if file.endswith(".log") else None
            if name is not None and name not in kept:
                os.remove(path)
                dropped.append(name)
        if folder != root and not os.listdir(folder):
            os.rmdir(folder)
    return dropped
