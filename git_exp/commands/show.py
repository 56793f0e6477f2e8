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

from git_exp import cache, git, names, notes, results, rows
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.repo import Repo

COLUMNS = ("name", "created", "baseline", "status", "exit_code", "duration", "executor")
NOTE_COLUMNS = ("tags", "note")  # shown in tables when some experiment has tags or notes
TAG_PATTERN = "tag:"  # `git exp show tag:best`: the experiments tagged best (':' is in no name)


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


def listed(source: Source, patterns: list[str]) -> tuple[list[str], list[str], list[str | None], list]:
    """``(shas, names, remotes, annotations)`` of the experiments ``patterns`` select (all
    for none), from the listing and the tags and notes (``notes.read_all``: cached per
    notes commit); UsageError for a pattern matching none."""
    notes_head = notes.start_head(source.repo)
    shas, refs = rows.listed(source.listing)
    exp_names, owners = rows.split_names(refs, source.remotes)
    by_commit = notes.read_all(source.repo, notes.finish_head(notes_head))
    said = [by_commit.get(sha, notes.EMPTY) for sha in shas]
    if patterns:
        keep = _selected(rows.labels(exp_names, owners), patterns, [a.tags for a in said])
        shas, exp_names, owners, said = ([v for v, kept in zip(column, keep) if kept]
                                         for column in (shas, exp_names, owners, said))
    return shas, exp_names, owners, said


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
    notes_head = notes.start_head(repo)
    found = rows.load(repo, remotes=remotes, listing=listing)
    found = annotated(found, notes.read_all(repo, notes.finish_head(notes_head)))
    if patterns:
        keep = _selected(rows.labels([row["name"] for row in found], [row["remote"] for row in found]), patterns,
                         [row["tags"] for row in found])
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
    said = NOTE_COLUMNS if any(row["tags"] or row["note"] for row in table) else ()
    return table, [*COLUMNS, *said, *params, *metrics]


def annotated(found: list[dict], by_commit: dict) -> list[dict]:
    """``found`` with each row's ``tags`` (a list) and ``note`` (a string or None) right
    after its name and remote (``notes``: they are not facts of the commit, so they stay
    out of the per-commit caches)."""
    empty = notes.EMPTY
    result = []
    for row in found:
        said = by_commit.get(row["sha"], empty)
        result.append({"name": row["name"], "remote": row["remote"], "tags": list(said.tags), "note": said.note,
                       **row})
    return result


def _selected(labels: list[str], patterns: list[str], tags: list) -> list[bool]:
    """Whether each label matches one of ``patterns`` (``tag:T``: has tag T); UsageError for
    a pattern matching none."""
    keep: set = set()
    plain = [p for p in patterns if not p.startswith(TAG_PATTERN)]
    for pattern in patterns:
        if pattern.startswith(TAG_PATTERN):
            wanted = notes.check_tag(pattern[len(TAG_PATTERN):])
            hits = {label for label, have in zip(labels, tags) if wanted in have}
            if not hits:
                raise UsageError(f"no experiment is tagged {shown(wanted)} — `git exp show` lists the tags")
            keep |= hits
    if plain:
        chosen, unmatched = names.select(labels, plain)
        if unmatched:
            raise UsageError(f"no experiment matches {shown(unmatched[0])} — `git exp ls` lists them")
        keep.update(chosen)
    return [label in keep for label in labels]
