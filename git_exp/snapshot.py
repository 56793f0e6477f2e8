"""Workspace snapshots: the tree ``git add -A`` would record, built in a temporary index.

The user's index, HEAD and work tree are never touched: we copy the index (keeping
git's stat cache, so unchanged files are not re-hashed) to a private file inside the
git directory and point ``GIT_INDEX_FILE`` at it, so ``.gitignore``, attributes and
filters (git-lfs) behave exactly as in a normal commit.  Copies left by a killed save or
run are removed on the way in (``leftovers.sweep_indexes``: one listing of the git dir).
"""
from __future__ import annotations

import os

from git_exp import leftovers
from git_exp.git import GitError
from git_exp.repo import Repo


class temp_index:  # noqa: N801 - used like the context-manager function it was
    """``with temp_index(repo) as env``: environment for git commands that use a private
    copy of the index, removed afterwards.  Plain ``os`` calls: tempfile, shutil and
    contextlib cost ~15 ms of imports on ``git exp save``'s start-up path."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.path = ""

    def __enter__(self) -> dict[str, str]:
        leftovers.sweep_indexes(self.repo.git_dir)
        self.path = os.path.join(self.repo.git_dir, f"exp-index.{os.getpid()}.{os.urandom(6).hex()}")
        try:
            with open(os.path.join(self.repo.git_dir, "index"), "rb") as index:
                data, stat = index.read(), os.fstat(index.fileno())
        except FileNotFoundError:
            return {"GIT_INDEX_FILE": self.path}  # no index yet: git starts from an empty one
        try:
            with os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as copy:
                copy.write(data)
            os.utime(self.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # git's racy-clean check reads the mtime
        except BaseException:
            self.__exit__()
            raise
        return {"GIT_INDEX_FILE": self.path}

    def __exit__(self, *exc) -> None:
        for leftover in (self.path, self.path + ".lock"):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass


def write_tree(repo: Repo, env: dict[str, str], *, untracked: bool = True) -> str:
    """Stage the work tree into the index named by ``env`` and write it as a tree."""
    repo.run("add", "-A" if untracked else "-u", env=env)
    return repo.out("write-tree", env=env)


def snapshot(repo: Repo, *, untracked: bool = True) -> str:
    """The tree object of the work tree as it is now."""
    with temp_index(repo) as env:
        return write_tree(repo, env, untracked=untracked)


def commit_tree(repo: Repo, tree: str, parents: list[str], message: str) -> str:
    args = ["commit-tree", tree]
    for parent in parents:
        args += ["-p", parent]
    args += ["-F", "-"]
    try:
        return repo.out(*args, input=message)
    except GitError as exc:
        if b"ident" not in exc.stderr and b"tell me who you are" not in exc.stderr:
            raise
    # No identity configured (typical of fresh CI runners): sign as git-exp@host.
    who = {"GIT_AUTHOR_NAME": "git-exp", "GIT_COMMITTER_NAME": "git-exp",
           "GIT_AUTHOR_EMAIL": f"git-exp@{os.uname().nodename or 'localhost'}"}
    who["GIT_COMMITTER_EMAIL"] = who["GIT_AUTHOR_EMAIL"]
    return repo.out(*args, input=message, env=who)
