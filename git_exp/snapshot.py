"""Workspace snapshots: the tree ``git add -A`` would record, built in a temporary index.

The user's index, HEAD and work tree are never touched: we copy the index (keeping
git's stat cache, so unchanged files are not re-hashed) to a private file inside the
git directory and point ``GIT_INDEX_FILE`` at it, so ``.gitignore``, attributes and
filters (git-lfs) behave exactly as in a normal commit.  Copies left by a killed save or
run are removed on the way in (``leftovers.sweep_indexes``: one listing of the git dir).

With ``vet`` (``save``'s check for large untracked files, ``cautions.Vetting``), the
tree is the same as ``git add -A`` records, built so that the work tree is walked once:
``git add -u`` stages the tracked changes while ``git ls-files --others`` lists the
untracked files beside it, those are vetted (nothing of them hashed yet), then added by
name.  The old way, the listing then ``git add -A``, walked the work tree twice in a
row: at 20k files ls-files took ~15 ms and add -A ~36 ms (read 2, lstat of every entry
18, walk 12, write 5) against ~27 ms for add -u (``make bench --ops save``).  Past
``FEW`` untracked paths, git matching each path against every pathspec would cost more
than one more walk (100 paths by name: 30 ms, ``add -A``: 35 ms), so ``git add -A``
finishes instead; so it does when adding by name
fails (a listed file went away meanwhile): the result is git's own either way.
"""
from __future__ import annotations

import os

from git_exp import leftovers
from git_exp.errors import ExpError
from git_exp.git import GitError, stopped_on_error
from git_exp.repo import Repo, lacks_identity, stand_in_identity

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable

UNTRACKED = ("ls-files", "-z", "--others", "--exclude-standard")  # of the user's index: the same tracked files
FEW = 100  # untracked paths added by name; more: ``git add -A`` walks again


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


def snapshot(repo: Repo, *, untracked: bool = True, vet: Callable[[list[str]], None] | None = None) -> str:
    """The tree object of the work tree as it is now.  ``vet`` (with ``untracked``) is
    called with the untracked paths before any of them is hashed, and may raise to stop
    the snapshot (``cautions.Vetting``)."""
    with temp_index(repo) as env:
        if untracked and vet is not None:
            add_vetted(repo, env, vet)
            return repo.out("write-tree", env=env)
        return write_tree(repo, env, untracked=untracked)


def add_vetted(repo: Repo, env: dict[str, str], vet: Callable[[list[str]], None]) -> None:
    """``git add -A`` into the index of ``env``, with the untracked paths shown to ``vet``
    first (see the module docstring).  A refusal waits for ``add -u`` to end: a git
    stopped half-way can leave temporary object files behind."""
    tracked = repo.start("add", "-u", env=env)  # the longer of the two: first
    with stopped_on_error(tracked):
        listing = repo.start(*UNTRACKED)
        with stopped_on_error(listing):
            try:
                paths = [path for path in listing.wait().out.split("\0") if path]
                vet(paths)
            except ExpError:
                tracked.wait(check=False)
                raise
        tracked.wait()
    if len(paths) > FEW:
        repo.run("add", "-A", env=env)
    elif paths:
        named = repo.run("add", "--", *paths, env={**env, "GIT_LITERAL_PATHSPECS": "1"}, check=False)
        if named.returncode:
            repo.run("add", "-A", env=env)


def commit_tree(repo: Repo, tree: str, parents: list[str], message: str) -> str:
    args = ["commit-tree", tree]
    for parent in parents:
        args += ["-p", parent]
    args += ["-F", "-"]
    try:
        return repo.out(*args, input=message)
    except GitError as exc:
        if b"ident" not in exc.stderr and not lacks_identity(exc.stderr):
            raise
    return repo.out(*args, input=message, env=stand_in_identity())  # no identity configured
