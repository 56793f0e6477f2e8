"""What ``show --md --vs REF`` compares with: REF resolved to a commit, and its params and metrics.

REF is an experiment (``NAME``, or ``REMOTE/NAME`` as ``ls -r`` prints it), else a branch
(``refs/heads/REF``), else a tag or commit.  Names are validated before git sees them as
refs; anything else goes to ``git rev-parse --verify --end-of-options REF^{commit}``, so
it can never be read as an option and must name a commit.
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
    if not names.problem(ref):
        for prefix, kind in ((names.PREFIX, "experiment"), (names.REMOTE_PREFIX, "remote-tracking experiment"),
                             ("refs/heads/", "branch")):
            if prefix == names.REMOTE_PREFIX and "/" not in ref:
                continue
            sha = repo.ref_sha(f"{prefix}{ref}^{{commit}}")
            if sha:
                return sha, kind
    try:
        return repo.resolve_commit(ref), "commit"
    except UsageError:
        raise UsageError(f"no experiment, branch or commit named {names.shown(ref)} to compare with — "
                         "name a branch (--vs main), a commit, or an experiment `git exp ls` lists") from None


def baseline(repo: Repo, ref: str, files=None) -> Baseline:
    sha, kind = resolve(repo, ref)
    values = results.read(repo, [sha], results.configured_files(repo, files))[sha]
    return Baseline(ref, sha, kind, values)
