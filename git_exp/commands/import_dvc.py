"""``git exp import-dvc [NAMES]``: DVC's experiments as git-exp experiments.

Each selected DVC experiment ``dvc:NAME`` (``refs/exps/<baseline>/<NAME>``; all when no
pattern is given, globs ``dvc:*``-style or bare) becomes ``refs/exp/NAME``: a new commit
with the DVC commit's tree and message, parents ``[baseline, DVC commit]`` and the
trailers ``Exp-Status: saved`` and ``Exp-Imported-From: refs/exps/...``.  So the
baseline stays the first parent, as git-exp reads every experiment, and the DVC commit
is the second, which git-exp reads as the previous version: ``NAME~1`` is DVC's commit,
kept reachable (``git exp log NAME`` shows both).  The DVC ref stays as it is; DVC does
not see the imported one (``refs/exp/`` is not its namespace).

A name git-exp already has, or the same DVC name on several baselines, is skipped and
reported (``--prefix P`` imports as ``P<NAME>`` instead); the refs are created in one
compare-and-swap transaction, so nothing is half-imported.
"""
from __future__ import annotations

from git_exp import dvc, names
from git_exp.errors import ExpError, UsageError
from git_exp.record import Record
from git_exp.repo import Repo

TRAILER = "Exp-Imported-From"


class Imported(Record):
    """name (git-exp's), source (the DVC ref), sha (the new commit, or ""), status
    (imported, skipped), detail."""

    __slots__ = ("name", "source", "sha", "status", "detail")


def import_dvc(repo: Repo, patterns: list[str], *, prefix: str = "") -> list[Imported]:
    from git_exp.revisions import commits, parents
    from git_exp.snapshot import commit_tree

    available = dvc.listed(repo)
    if not available:
        raise UsageError("no DVC experiments here (refs/exps/) — `git exp ls` lists experiments")
    labels = {ref: dvc.label(ref.rpartition("/")[2]) for ref in available}
    chosen = sorted(available)
    if patterns:
        wanted = [p if dvc.is_label(p) else dvc.label(p) for p in patterns]
        picked, unmatched = names.select(sorted(set(labels.values())), wanted)
        if unmatched:
            raise UsageError(f"no DVC experiment matches {names.shown(unmatched[0])} — `git exp ls 'dvc:*'` lists them")
        keep = set(picked)
        chosen = [ref for ref in chosen if labels[ref] in keep]
    if prefix:
        names.ExpName(prefix + "x")  # the prefix must make valid names
    existing = repo.names()
    clashes = names.Clashes(existing)
    per_name: dict[str, list[str]] = {}
    for ref in chosen:
        per_name.setdefault(ref.rpartition("/")[2], []).append(ref)
    read = commits(repo, [available[ref] for ref in chosen])
    report, moves = [], []
    for ref in chosen:
        dvc_name, sha = ref.rpartition("/")[2], available[ref]
        name = prefix + dvc_name
        if len(per_name[dvc_name]) > 1:
            report.append(Imported(name, ref, "", "skipped", f"DVC has {dvc.label(dvc_name)} on "
                                   f"{len(per_name[dvc_name])} baselines — import one with its ref as pattern"))
            continue
        why = names.problem(name)
        other = None if why else (name if name in clashes.names else clashes.find(name))
        if why or other:
            report.append(Imported(name, ref, "", "skipped", why or f"experiment {names.shown(other)} exists — "
                                   "import with --prefix, or rename it"))
            continue
        exp = read.get(sha)
        if exp is None:
            report.append(Imported(name, ref, "", "skipped", "it points at no commit"))
            continue
        above = parents(repo, sha)
        baseline = above[0] if above else dvc.baseline_of(ref)
        tree = repo.out("rev-parse", f"{sha}^{{tree}}").strip()
        text = _message(repo, sha, exp.trailers, ref)
        new = commit_tree(repo, tree, [baseline, sha], text)
        clashes.add(name)
        moves.append((names.PREFIX + name, new, repo.zero))
        report.append(Imported(name, ref, new, "imported", ""))
    if not moves:
        first = report[0]
        more = f" (and {len(report) - 1} more)" if len(report) > 1 else ""
        raise ExpError(f"nothing imported: {first.source} skipped{more}, {first.detail}")
    repo.transaction(moves, "git exp import-dvc")
    return report


def _message(repo: Repo, sha: str, trailers: dict, ref: str) -> str:
    """The DVC commit's message with ``Exp-Imported-From`` added to its trailers (a
    ``save --dvc`` commit keeps its ``Exp-*`` ones), or a paragraph of git-exp's."""
    from git_exp import metadata

    original = repo.out("log", "-1", "--format=%B", sha).strip()
    if any(key.startswith("Exp-") for key in trailers):
        return f"{original}\n{TRAILER}: {ref}\n"
    return metadata.message(original or "DVC experiment", [("Exp-Status", "saved"), (TRAILER, ref)])
