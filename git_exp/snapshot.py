"""Workspace snapshots: the tree ``git add -A`` would record, built in a temporary index.

The user's index, HEAD and work tree are never touched: we copy the index (keeping
git's stat cache, so unchanged files are not re-hashed) to a private file inside the
git directory and point ``GIT_INDEX_FILE`` at it, so ``.gitignore``, attributes and
filters (git-lfs) behave exactly as in a normal commit.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile

from git_exp.git import GitError
from git_exp.repo import Repo

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing imports re (~12 ms)
    from typing import Iterator


@contextlib.contextmanager
def temp_index(repo: Repo) -> Iterator[dict[str, str]]:
    """Environment for git commands that use a private copy of the index."""
    fd, path = tempfile.mkstemp(prefix="exp-index.", dir=repo.git_dir)
    os.close(fd)
    try:
        source = os.path.join(repo.git_dir, "index")
        if os.path.exists(source):
            shutil.copy2(source, path)  # keep the mtime: git's racy-clean check depends on it
        else:
            os.unlink(path)
        yield {"GIT_INDEX_FILE": path}
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + ".lock")


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
           "GIT_AUTHOR_EMAIL": f"git-exp@{socket.gethostname() or 'localhost'}"}
    who["GIT_COMMITTER_EMAIL"] = who["GIT_AUTHOR_EMAIL"]
    return repo.out(*args, input=message, env=who)
