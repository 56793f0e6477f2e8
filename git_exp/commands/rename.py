"""``git exp rename OLD NEW``: move an experiment to a new name in one transaction."""
from __future__ import annotations

from git_exp.errors import UsageError
from git_exp.names import ExpName, conflict
from git_exp.repo import ZERO, Repo


def rename(repo: Repo, old: str, new: str) -> tuple[str, str]:
    exp = repo.get(old)
    target = ExpName(new)
    existing = repo.names()
    if target in existing:
        raise UsageError(f"experiment {target!r} already exists — remove it first or pick another name")
    repo.check_free(target, [n for n in existing if n != old])
    message = f"git exp rename: {old} -> {target}"
    if conflict(target, [old]):
        # 'a' -> 'a/b' (or back): git cannot hold both names even for a moment, so
        # delete first, then create; if creating fails, put the old name back.
        repo.transaction([(exp.ref, ZERO, exp.sha)], message)
        try:
            repo.transaction([(target.ref, exp.sha, ZERO)], message)
        except Exception:
            repo.transaction([(exp.ref, exp.sha, ZERO)], message)
            raise
    else:
        repo.transaction([(exp.ref, ZERO, exp.sha), (target.ref, exp.sha, ZERO)], message)
    return target, exp.sha
