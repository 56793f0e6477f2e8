"""``git exp log NAME``: the versions of an experiment (``save --append``), newest first.

NAME as ``revisions`` reads it (``origin/NAME``, or ``NAME~2`` to start further back).
Each version is a row as ``show`` makes one — its run metadata, params and metrics, the
latest values of its metric histories — with ``version`` (0 for the newest) and the
``name`` that selects it (``NAME~1``).
"""
from __future__ import annotations

from git_exp import results, revisions
from git_exp.commands.show import add_history
from git_exp.repo import Repo

MAX_VERSIONS = 10_000  # versions walked, one git each


def log(repo: Repo, spec: str, *, limit: int | None = None) -> tuple[list[dict], list[str]]:
    """The rows of the versions, newest first, and the metric columns they have."""
    start = revisions.resolve(repo, spec)
    want = min(limit, MAX_VERSIONS) if limit else MAX_VERSIONS
    chain = revisions.versions(repo, start.sha, want)
    targets = [revisions.Target(revisions.label_of(start.remote, start.name, start.version + i), start.name,
                                start.remote, start.version + i, start.ref, sha)
               for i, sha in enumerate(chain)]
    table = revisions.rows(repo, targets)
    for row, target in zip(table, targets):
        row["version"] = target.version
        row["name"] = target.label
        row["remote"] = target.remote
    files = results.configured_files(repo)
    data = results.read(repo, {row["sha"]: row["baseline"] for row in table}, files)
    columns: dict[str, None] = {}
    for row in table:
        values = data.get(row["sha"]) or {}
        row.update(values)
        columns.update(dict.fromkeys(values))
    columns.update(add_history(repo, table, files))
    metrics = sorted(k for k in columns if k == "metrics" or k.startswith("metrics."))
    return table, metrics
