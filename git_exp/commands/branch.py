"""``git exp branch NAME [BRANCH]``: a real branch at an experiment's commit.

NAME as ``revisions`` reads it; BRANCH defaults to the experiment's name without its
remote (``origin/lr`` makes branch ``lr``); an older version (``lr~1``) needs BRANCH."""
from __future__ import annotations

from git_exp import revisions
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.repo import RefMoved, Repo


def branch(repo: Repo, name: str, branch_name: str | None = None) -> tuple[str, str]:
    exp = revisions.resolve(repo, name)
    if branch_name is None and exp.version:
        raise UsageError(f"{shown(exp.label)} is an older version — name the branch: `git exp branch {exp.label} NEW-BRANCH`")
    target = branch_name or exp.name
    check = repo.run("check-ref-format", "--branch", target, check=False)
    if check.returncode or target.startswith("-"):
        raise UsageError(f"invalid branch name {shown(target)} — give a valid one as second argument")
    ref = f"refs/heads/{target}"
    if repo.ref_sha(ref):
        raise UsageError(f"branch {shown(target)} already exists — pick another name: `git exp branch {name} NEW-BRANCH`")
    try:
        repo.transaction([(ref, exp.sha, repo.zero)], f"branch: created from experiment {exp.label}")
    except RefMoved as exc:
        raise UsageError(f"cannot create branch {shown(target)}: {exc} — pick another name") from None
    return target, exp.sha
