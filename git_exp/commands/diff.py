"""``git exp diff A [B]``: which params and metrics differ (B defaults to A's baseline)."""
from __future__ import annotations

from dataclasses import dataclass, field

from git_exp import names, results
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.repo import Repo


@dataclass
class Diff:
    a: str
    b: str
    a_sha: str
    b_sha: str
    changes: list[dict]  # {"key", "a", "b"}
    stat: str | None
    errors: dict = field(default_factory=dict)  # {"a" or "b": why its files could not be read}


def _target(repo: Repo, ref: str) -> str:
    """An experiment name, or failing that any commit git can resolve."""
    if not names.problem(ref):
        sha = repo.ref_sha(names.PREFIX + ref)
        if sha:
            return sha
    try:
        return repo.resolve_commit(ref)
    except UsageError:
        raise UsageError(f"no experiment or commit named {shown(ref)} — `git exp ls` lists experiments") from None


def diff(repo: Repo, a: str, b: str | None = None, *, stat: bool = False) -> Diff:
    exp = repo.get(a)
    if b is None:
        if exp.baseline is None:
            raise UsageError(f"experiment {shown(a)} has no baseline (it is a root commit) — name a second experiment to compare")
        b_sha, b_label = exp.baseline, "baseline"
    else:
        b_sha, b_label = _target(repo, b), b
    data = results.read(repo, [exp.sha, b_sha])
    left, right = data[exp.sha], data[b_sha]
    changes = [
        {"key": key, "a": left.get(key), "b": right.get(key)}
        for key in sorted((set(left) | set(right)) - {results.ERRORS})  # the error cells say it
        if left.get(key) != right.get(key)
    ]
    errors = {side: row[results.ERRORS] for side, row in (("a", left), ("b", right)) if results.ERRORS in row}
    text = repo.out("diff", "--stat", "--no-color", b_sha, exp.sha, "--") if stat else None
    return Diff(a, b_label, exp.sha, b_sha, changes, text, errors)
