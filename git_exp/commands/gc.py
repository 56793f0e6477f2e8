"""``git exp gc [NAME|GLOB...]``: prune experiments by age, orphaned baseline, count or
``--where`` query; sweep what killed commands left, pack refs, clear the caches and ``show REMOTE``'s
store."""
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
        from git_exp import peek

        peek.forget(repo)  # what `show REMOTE` fetched: nothing points into it
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


def gc_tombstones(repo: Repo, *, older_than: str | None = None, dry_run: bool = False,
                  now: float | None = None) -> list:
    """Delete the tombstones here (all, or those older than ``older_than`` by the time of
    the removal) in one transaction; the commits they kept reachable may then go with
    git's own gc.  Returns the ``tombstones.Tombstone``s deleted."""
    import time

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


def gc_tombstones_here(remote: str | None, *, older_than: str | None = None, dry_run: bool = False,
                       misused: bool = False) -> tuple[list, str | None]:
    """``git exp gc --tombstones [--remote REMOTE]`` in the repository here: the tombstones
    deleted (or that would be), and the remote's label (None: here)."""
    if misused:
        raise UsageError("--tombstones takes only --older-than, --dry-run and --remote (which needs it) — "
                         "e.g. `git exp gc --tombstones --older-than 90d`")
    if older_than is not None:
        parse_age(older_than)  # a usage error before anything is asked of a remote
    if remote is None:
        return gc_tombstones(Repo(), older_than=older_than, dry_run=dry_run), None
    from git_exp import remotes
    from git_exp.commands.remote_ops import gc_remote_tombstones

    repo = Repo(remotes=True)
    where = remotes.resolve(repo, remote)
    doomed, _pushed = gc_remote_tombstones(repo, where, older_than=older_than, dry_run=dry_run)
    return doomed, where.label
