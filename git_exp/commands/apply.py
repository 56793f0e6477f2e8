"""``git exp apply NAME``: put an experiment's files in the work tree, HEAD unchanged.

The work tree is switched from its current snapshot to the experiment's tree with a
two-tree ``read-tree -m -u`` on a private index (NAME as ``revisions`` reads it:
``origin/NAME`` and ``NAME~1`` too), so files the experiment deleted are
removed and the user's index and HEAD stay as they were.  A dirty work tree is
refused, or with ``--force`` first saved as an experiment: nothing is ever lost.
"""
from __future__ import annotations

from dataclasses import dataclass

from git_exp import revisions
from git_exp.commands.save import Saved, check_can_save, save
from git_exp.errors import ExpError
from git_exp.names import shown
from git_exp.repo import Repo
from git_exp.snapshot import temp_index, write_tree


@dataclass
class Applied:
    name: str
    sha: str
    saved: Saved | None  # the dirty state saved first, with --force


def _tree(repo: Repo, commit: str) -> str:
    return repo.out("rev-parse", "--verify", commit + "^{tree}")


def _changed(repo: Repo, old: str, new: str, shown_at_most: int = 3) -> str:
    """The paths that differ between two trees, as git quotes them: a few, then a count."""
    paths = repo.out("diff-tree", "-r", "--name-only", "--no-renames", old, new).splitlines()
    more = len(paths) - shown_at_most
    return ", ".join(paths[:shown_at_most]) + (f" and {more} more" if more > 0 else "")


def apply(repo: Repo, name: str, *, force: bool = False) -> Applied:
    check_can_save(repo, "apply")
    exp = revisions.resolve(repo, name)
    name = exp.label
    head = repo.head()
    head_tree = _tree(repo, head) if head else repo.out("hash-object", "-t", "tree", "/dev/null")
    saved = None
    with temp_index(repo) as env:
        current = write_tree(repo, env)
        if current != head_tree:
            if not force:
                raise ExpError(f"the work tree has changes that are not committed ({_changed(repo, head_tree, current)})"
                               " — commit or stash them (git stash -u), or use --force to save them as an "
                               "experiment first")
            saved = save(repo, message=f"work tree before `git exp apply {name}`", command="apply")
        result = repo.run("read-tree", "-m", "-u", current, _tree(repo, exp.sha), env=env, check=False)
        if result.returncode:
            why = result.err.strip().splitlines()[-1] if result.err.strip() else "git read-tree failed"
            raise ExpError(f"cannot apply {shown(name)}: {why}"
                           + (f" — your changes are saved as experiment {shown(saved.name)}" if saved else " — nothing was changed"))
    return Applied(name, exp.sha, saved)
