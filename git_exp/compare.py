"""What ``show --md --vs REF`` compares with: REF resolved to a commit, and its params and metrics.

REF is an experiment as ``revisions`` resolves one (``NAME``, ``REMOTE/NAME`` as ``ls -r``
prints it, ``NAME~N``), else a branch (``refs/heads/REF``), else a tag or commit.  Names
are validated before git sees them as refs; anything else goes to ``git rev-parse
--verify --end-of-options REF^{commit}``, so it can never be read as an option and must
name a commit.
"""
from __future__ import annotations

from dataclasses import dataclass

from git_exp import names, results
from git_exp.errors import UsageError
from git_exp.repo import Repo


@dataclass
class Baseline:
    ref: str  # as given
    sha: str
    kind: str  # "experiment", "remote-tracking experiment", "branch" or "commit"
    values: dict  # {"params.lr": 0.1, "metrics.acc": 0.9, ...}


def resolve(repo: Repo, ref: str) -> tuple[str, str]:
    """``(commit, kind)`` that ``ref`` names; UsageError when it names none."""
    from git_exp import revisions

    if ref.strip():
        found = revisions.find(repo, ref)  # NAME, REMOTE/NAME, NAME~N; ambiguity is an error
        if found is not None:
            return found.sha, "experiment" if found.remote is None else "remote-tracking experiment"
        if not names.problem(ref):
            sha = repo.ref_sha(f"refs/heads/{ref}^{{commit}}")
            if sha:
                return sha, "branch"
        try:
            return repo.resolve_commit(ref), "commit"
        except UsageError:
            pass
    raise UsageError(f"no experiment, branch or commit named {names.shown(ref)} to compare with — "
                     "name a branch (--vs main), a commit, or an experiment `git exp ls -r` lists")


def baseline(repo: Repo, ref: str, files=None) -> Baseline:
    sha, kind = resolve(repo, ref)
    from git_exp.commands.show import add_history

    configured = results.configured_files(repo, files)
    row = {"sha": sha, **results.read(repo, [sha], configured)[sha]}
    add_history(repo, [row], configured)  # the latest history values, as in show's rows
    del row["sha"]
    return Baseline(ref, sha, kind, row)
