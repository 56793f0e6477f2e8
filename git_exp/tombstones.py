"""Tombstones: what was removed (or renamed away) on a remote, so that it stays removed.

A tombstone is the ref ``refs/exp-tombstones/<name>/@removed`` pointing at a commit made
for it: its parent is the removed experiment's commit (which it keeps reachable, so
nothing is lost), its tree that commit's tree (no new tree or blob), its committer
date the time of the removal, and its message says what happened::

    git exp: removed lr-0.1

    Exp-Removed: lr-0.1
    Exp-Renamed-To: lr-0.1-final      (for a rename)

``rm --remote`` and ``rename --remote`` push the tombstone in the same ``git push
--atomic`` as the deletion.  ``push`` sees the remote's tombstones in its ``ls-remote``
and skips those names (``--force`` pushes them and deletes the tombstone, atomically);
``pull --prune`` removes local copies the tombstone's commit contains and keeps the
tombstone here (so the copy stays reachable until ``gc --tombstones`` ages it out).
Tombstones are outside ``refs/exp/``: no listing of experiments shows them.  The
``@removed`` leaf keeps git's file/directory rule out of the way: the tombstones of
``a`` and of ``a/b`` (``a/@removed``, ``a/b/@removed``) can both exist (only a name
with a component ``@removed`` could clash).

Tombstone commits are written with one ``git hash-object -w --stdin-paths`` for all
of them (a ``commit-tree`` each would be a process per experiment).
"""
from __future__ import annotations

import os

from git_exp.errors import ExpError
from git_exp.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from git_exp.repo import Repo

PREFIX = "refs/exp-tombstones/"
LEAF = "/@removed"
SEP = "\x1f"


def ref(name: str) -> str:
    """The tombstone ref of experiment ``name``."""
    return PREFIX + name + LEAF


def by_name(refs: dict[str, str]) -> dict[str, str]:
    """{name: sha} from {path below PREFIX: sha}, leaving out what is not a tombstone."""
    return {path[:-len(LEAF)]: sha for path, sha in refs.items() if path.endswith(LEAF)}


class Tombstone(Record):
    """name, the tombstone commit (``sha``), the removed commit, when (Unix time), renamed_to."""

    __slots__ = ("name", "sha", "removed", "when", "renamed_to")


def trees(repo: Repo, shas) -> dict[str, str]:
    """{commit: its tree} in one ``git log``."""
    shas = sorted(set(shas))
    if not shas:
        return {}
    out = repo.out("log", "--no-walk=unsorted", "--stdin", "--format=%H %T", input="".join(f"{s}\n" for s in shas))
    return dict(line.split() for line in out.splitlines() if line)


def _committer(repo: Repo) -> str:
    """``git var GIT_COMMITTER_IDENT``, or git-exp's stand-in where no identity is
    configured (a CI runner removing old experiments), as ``save`` signs."""
    from git_exp.repo import lacks_identity, stand_in_identity

    result = repo.run("var", "GIT_COMMITTER_IDENT", check=False)
    if result.returncode and lacks_identity(result.err):
        result = repo.run("var", "GIT_COMMITTER_IDENT", env=stand_in_identity(), check=False)
    if result.returncode:
        said = result.err.strip().splitlines() or [f"git var exited with {result.returncode}"]
        raise ExpError(f"git could not say who writes the tombstones: {said[-1]} — "
                       f"nothing was removed")
    return result.out.strip()


def make(repo: Repo, removed: dict[str, str], renamed_to: dict[str, str] | None = None) -> dict[str, str]:
    """Write a tombstone commit for each ``{name: removed commit}`` (whose objects are here);
    return ``{name: tombstone commit}``."""
    if not removed:
        return {}
    renamed_to = renamed_to or {}
    ident = _committer(repo)
    tree_of = trees(repo, removed.values())
    import shutil  # here, not at the top: push and ls REMOTE import this module (~8 ms with re)
    import tempfile

    work = tempfile.mkdtemp(prefix="exp-tombstones.", dir=repo.git_dir)
    try:
        paths, order = [], []
        for i, (name, sha) in enumerate(sorted(removed.items())):
            body = f"tree {tree_of[sha]}\nparent {sha}\nauthor {ident}\ncommitter {ident}\n\n"
            body += f"git exp: {'renamed' if name in renamed_to else 'removed'} {name}\n\nExp-Removed: {name}\n"
            if name in renamed_to:
                body += f"Exp-Renamed-To: {renamed_to[name]}\n"
            path = os.path.join(work, str(i))
            with open(path, "w", encoding="utf-8") as f:
                f.write(body)
            paths.append(path)
            order.append(name)
        out = repo.out("hash-object", "-w", "-t", "commit", "--stdin-paths", input="".join(p + "\n" for p in paths))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dict(zip(order, out.split()))


def describe(repo: Repo, shas) -> dict[str, Tombstone]:
    """{tombstone commit: Tombstone} for the tombstone commits ``shas`` that are here."""
    shas = sorted(set(shas))
    if not shas:
        return {}
    fmt = SEP.join(["%H", "%P", "%ct", "%(trailers:key=Exp-Removed,valueonly,separator=)",
                    "%(trailers:key=Exp-Renamed-To,valueonly,separator=)"]) + "%x00"
    result = repo.run("log", "--no-walk=unsorted", "--stdin", f"--format={fmt}",
                      input="".join(f"{s}\n" for s in shas), check=False)
    found = {}
    for record in result.out.split("\0"):
        parts = record.strip("\n").split(SEP)
        if len(parts) != 5:
            continue
        sha, parents, when, name, renamed = parts
        parent = parents.split()[0] if parents else ""
        found[sha] = Tombstone(name.strip(), sha, parent, int(when or 0), renamed.strip() or None)
    return found


def local(repo: Repo) -> dict[str, str]:
    """{name: tombstone commit} of the tombstones here."""
    return by_name(repo.refs(PREFIX))
