"""``git exp diff A [B]``: which params and metrics differ (B defaults to A's baseline).

A is an experiment as ``revisions`` reads one (``NAME``, ``REMOTE/NAME``, ``NAME~N``); B
is one too, or, when no experiment has that name, any commit git can resolve.  A
``REMOTE/NAME`` of a configured remote that was never fetched is fetched the way ``show
REMOTE`` does (``peek``: commits and result files only, into git-exp's store, no ref made).  Metrics
that only a history gives (``history``) compare by their latest values.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from git_exp import history, results, revisions
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


def _target(repo: Repo, ref: str) -> tuple[str, str]:
    """``(sha, label)`` of an experiment, or failing that of any commit git can resolve."""
    found = revisions.find(repo, ref)
    if found is not None:
        return found.sha, found.label
    try:
        return repo.resolve_commit(ref), ref
    except UsageError:
        raise UsageError(f"no experiment or commit named {shown(ref)} — `git exp ls -r` lists experiments") from None


def _unfetched(repo: Repo, spec: str, files: dict, stat: bool, *, commit_ok: bool = False):
    """``peek.find`` of ``spec`` (a configured remote's experiment not fetched yet), for
    an experiment no local or remote-tracking ref names (and with ``commit_ok``, no
    commit either: ``diff x origin/main`` compares with the branch, asking no remote):
    ``(View, Target)`` or None."""
    if revisions.find(repo, spec) is not None:
        return None
    if commit_ok:
        try:
            repo.resolve_commit(spec)
            return None
        except UsageError:
            pass
    from git_exp import peek

    found = peek.find(repo, spec, files)
    if found is not None and stat:
        raise UsageError(f"--stat needs {shown(found[1].label)}'s files, which are not fetched — "
                         f"`git exp pull {found[1].remote} {found[1].name}` first, or drop --stat")
    return found


def _with_dvc(repo: Repo, shas: list[str], files: dict) -> dict:
    """``files`` with what the ``dvc.yaml`` of either side declares (``dvc.files``): the
    two sides are compared over the same files."""
    from git_exp import dvc

    declared = dvc.files(repo, shas, files["max_size"])
    more = {kind: [p for sha in shas for p in declared.get(sha, {}).get(kind, ())] for kind in ("params", "metrics")}
    return {**files, "params": tuple(dict.fromkeys([*files["params"], "params.yaml", *more["params"]])),
            "metrics": tuple(dict.fromkeys([*files["metrics"], *more["metrics"]]))}


def diff(repo: Repo, a: str, b: str | None = None, *, stat: bool = False) -> Diff:
    files = results.configured_files(repo)
    remote_a = _unfetched(repo, a, files, stat)
    if remote_a is not None:
        repo, exp = remote_a  # a View: the store and the user's objects
    else:
        exp = revisions.resolve(repo, a)
    remote_b = _unfetched(repo, b, files, stat, commit_ok=True) if b is not None and "/" in b else None
    if remote_b is not None:
        repo = remote_b[0]
    if b is None:
        above = revisions.parents(repo, exp.sha)
        if not above:
            raise UsageError(f"experiment {shown(exp.label)} has no baseline (it is a root commit) — name a second experiment to compare")
        b_sha, b_label = above[0], "baseline"
    else:
        b_sha, b_label = (remote_b[1].sha, remote_b[1].label) if remote_b is not None else _target(repo, b)
    if exp.name.startswith("dvc:") or b_label.startswith(("dvc:", "refs/exps/")) or "/dvc:" in b_label:
        files = _with_dvc(repo, [exp.sha, b_sha], files)
    data = results.read(repo, [exp.sha, b_sha], files)
    left, right = data[exp.sha], data[b_sha]
    latest = history.summaries(repo, [exp.sha, b_sha], files)  # metrics no file gives: a history's last step
    for row, sha in ((left, exp.sha), (right, b_sha)):
        for metric, value in latest[sha]["latest"].items():
            row.setdefault("metrics." + metric, value)
    changes = [
        {"key": key, "a": left.get(key), "b": right.get(key)}
        for key in sorted((set(left) | set(right)) - {results.ERRORS})  # the error cells say it
        if left.get(key) != right.get(key)
    ]
    errors = {side: row[results.ERRORS] for side, row in (("a", left), ("b", right)) if results.ERRORS in row}
    text = repo.out("diff", "--stat", "--no-color", b_sha, exp.sha, "--") if stat else None
    return Diff(exp.label, b_label, exp.sha, b_sha, changes, text, errors)

