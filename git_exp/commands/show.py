"""``git exp show``: one table of experiments with their run metadata, params and metrics.

``start`` starts the ref listing and the ``git config`` of the file list before the
repository is looked at; ``show`` returns the rows and columns; ``listed`` and
``lines_cache`` serve ``present.show``'s warm ``--json`` path (rows kept as JSON lines).

A row whose params or metrics file could not be read (too large, too many values, not
UTF-8, ...) has an error cell (``"params": "error: params.yaml is too large (...)"``)
and the reasons under ``"errors"`` (``present.show.unreadable`` words the warning).
"""
from __future__ import annotations

from dataclasses import dataclass

from git_exp import cache, git, names, results, rows
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.repo import Repo

COLUMNS = ("name", "created", "baseline", "status", "exit_code", "duration", "executor")


@dataclass
class Source:
    """What ``show`` reads: the repository, and the gits ``start`` set going before it."""
    repo: Repo
    remotes: bool
    listing: git.Running
    files: git.Running


def start(*, remotes: bool = False) -> Source:
    """Start listing refs and reading the file list, then look at the repository."""
    listing, files = rows.start_listing(remotes=remotes), results.start_files()
    with git.stopped_on_error(listing, files):
        repo = Repo()
    return Source(repo, remotes, listing, files)


def listed(source: Source, patterns: list[str]) -> tuple[list[str], list[str], list[str | None]]:
    """``(shas, names, remotes)`` of the experiments ``patterns`` select (all for none),
    from the listing alone; UsageError for a pattern matching none."""
    shas, refs = rows.listed(source.listing)
    exp_names, owners = rows.split_names(refs, source.remotes)
    if patterns:
        keep = _selected(rows.labels(exp_names, owners), patterns)
        shas, exp_names, owners = ([v for v, kept in zip(column, keep) if kept] for column in (shas, exp_names, owners))
    return shas, exp_names, owners


def lines_cache(source: Source) -> tuple[str | None, tuple]:
    """Where ``show --json`` keeps each row's JSON after its name and remote, and the key
    of that file: the file list, and the versions of the caches the rows come from (a
    change in either changes the rows)."""
    files = results.configured_files(source.repo, source.files)
    return (cache.of_commits(source.repo, "lines.marshal"),
            (files["params"], files["metrics"], files["max_size"], results.RowCache.VERSION, rows.CACHE_VERSION))


def show(repo: Repo, patterns: list[str] | None = None, *, sort: str | None = None,
         where: str | None = None, remotes: bool = False, listing=None, files=None) -> tuple[list[dict], list[str]]:
    """Rows and the ordered column list (base columns, then params.*, then metrics.*);
    ``listing`` is ``rows.start_listing``'s, ``files`` ``results.start_files``'s git."""
    if where or sort:
        from git_exp import query  # re and shlex: ~13 ms, only when asked to filter or sort
    accept = query.parse_where(where) if where else None
    found = rows.load(repo, remotes=remotes, listing=listing)
    if patterns:
        keep = _selected(rows.labels([row["name"] for row in found], [row["remote"] for row in found]), patterns)
        found = [row for row, kept in zip(found, keep) if kept]
    data = results.read(repo, {row["sha"]: row["baseline"] for row in found}, results.configured_files(repo, files),
                        complete=not patterns)
    extra: dict[str, None] = {}
    for row in found:
        values = data.get(row["sha"])
        if values:
            row.update(values)
            extra.update(dict.fromkeys(values))
    table = found
    if accept:
        table = [row for row in table if accept(row)]
    if sort:
        table = query.sort_rows(table, sort)
    params = sorted(k for k in extra if k == "params" or k.startswith("params."))
    metrics = sorted(k for k in extra if k == "metrics" or k.startswith("metrics."))
    return table, [*COLUMNS, *params, *metrics]


def _selected(labels: list[str], patterns: list[str]) -> list[bool]:
    """Whether each label matches one of ``patterns``; UsageError for a pattern matching none."""
    chosen, unmatched = names.select(labels, patterns)
    if unmatched:
        raise UsageError(f"no experiment matches {shown(unmatched[0])} — `git exp ls` lists them")
    keep = set(chosen)
    return [label in keep for label in labels]
