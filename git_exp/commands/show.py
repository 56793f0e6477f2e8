"""``git exp show``: one table of experiments with their run metadata, params and metrics.

Everything in a row but its name and remote comes from the commit and its files, so
``--json`` keeps each row's JSON after those two in ``lines.marshal`` (``cache``), per
configured file list: a warm ``show --json`` then lists names and commits, reads that
file and writes: at 1k 36 ms where building and encoding the rows took 60 ms here, at
10k 85 against 320 ms.  Any listed commit missing there sends ``show`` the long way,
which stores what it wrote.

A row whose params or metrics file could not be read (too large, too many values, not
UTF-8, ...) has an error cell (``"params": "error: params.yaml is too large (...)"``)
and the reasons under ``"errors"``; ``unreadable`` words the warning for them.
"""
from __future__ import annotations

from git_exp import cache, names, notes, render, results, rows
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.repo import Repo

COLUMNS = ("name", "created", "baseline", "status", "exit_code", "duration", "executor")
NOTE_COLUMNS = ("tags", "note")  # shown in tables when some experiment has tags or notes
TAG_PATTERN = "tag:"  # `git exp show tag:best`: the experiments tagged best (':' is in no name)
LINES_VERSION = 1


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


def _lines_cache(repo: Repo, files) -> tuple[str | None, tuple]:
    """Where the lines are kept, and their key: the file list, and the versions of the
    caches the rows come from (a change in either changes the rows)."""
    files = results.configured_files(repo, files)
    return (cache.of_commits(repo, "lines.marshal"),
            (files["params"], files["metrics"], files["max_size"], results.RowCache.VERSION, rows.CACHE_VERSION))


def _head(encode, name: str, remote: str | None, said) -> str:
    """The start of a row's JSON line: what does not come from its commit alone."""
    tags = "[" + ", ".join(map(encode, said.tags)) + "]"
    note = "null" if said.note is None else encode(said.note)
    return (f'{{"name": {encode(name)}, "remote": {"null" if remote is None else encode(remote)}, '
            f'"tags": {tags}, "note": {note}, ')


def json_from_cache(repo: Repo, patterns: list[str], *, remotes: bool = False, listing=None, files=None) -> str | None:
    """``show --json`` (no --where or --sort) from ``lines.marshal`` alone, or None when a
    listed commit is not there or the rows are too few to be written one per line."""
    listing = listing or rows.start_listing(repo, remotes=remotes)
    notes_head = notes.start_head(repo)
    where, key = _lines_cache(repo, files)
    known = cache.load(where, LINES_VERSION, key)
    shas, refs = rows.listed(listing)
    exp_names, owners = rows.split_names(refs, remotes)
    by_commit = notes.read_all(repo, notes.finish_head(notes_head))
    said = [by_commit.get(sha, notes.EMPTY) for sha in shas]
    if patterns:
        keep = _selected(rows.labels(exp_names, owners), patterns, [a.tags for a in said])
        shas, exp_names, owners, said = ([v for v, kept in zip(column, keep) if kept]
                                         for column in (shas, exp_names, owners, said))
    tails = list(map(known.get, shas))
    if len(tails) < render.LINES_MIN or None in tails:
        return None
    encode = render.string_encoder()
    return render.json_lines([_head(encode, n, o, a) + t for n, o, a, t in zip(exp_names, owners, said, tails)])


def json_text(repo: Repo, table: list[dict], files=None, *, everything: bool = False) -> str:
    """``show``'s rows as JSON; one per line from LINES_MIN rows on, and then each row's
    line after its name and remote is kept for ``json_from_cache`` (``everything``: the
    table holds every experiment, so lines of no experiment listed may be dropped)."""
    table = rows.iso_created(table)
    if len(table) < render.LINES_MIN:
        return render.json_text(table)
    where, key = _lines_cache(repo, files)
    known = cache.load(where, LINES_VERSION, key)
    encode_row, encode = render.row_encoder(), render.string_encoder()
    lines, fresh = [], 0
    for row in table:
        line = encode_row(row)
        head = _head(encode, row["name"], row["remote"], notes.Annotation(row["tags"], (row["note"],) if row["note"] else ()))
        if line.startswith(head) and row["sha"] not in known:
            known[row["sha"]] = line[len(head):]
            fresh += 1
        lines.append(line)
    if fresh:
        cache.save(where, LINES_VERSION, known, key, listed=[row["sha"] for row in table] if everything else None)
    return render.json_lines(lines)


SHOWN_UNREADABLE = 3  # experiments named in the warning; the rest are counted


def unreadable(table: list[dict]) -> str | None:
    """The one-line warning for rows with unreadable files, or None when there are none."""
    bad = [row for row in table if results.ERRORS in row]
    if not bad:
        return None
    named = [f"{names.shown(rows.labels([row['name']], [row.get('remote')])[0])}: {'; '.join(row[results.ERRORS])}"
             for row in bad[:SHOWN_UNREADABLE]]
    if len(bad) > SHOWN_UNREADABLE:
        named.append(f"and {len(bad) - SHOWN_UNREADABLE} more")
    count = "1 experiment has" if len(bad) == 1 else f"{len(bad)} experiments have"
    return f"git-exp: warning: {count} unreadable files, shown as error cells: {'; '.join(named)}"


def unreadable_in_lines(text: str) -> str | None:
    """``unreadable`` for ``show --json`` text written one row per line (``json_from_cache``)."""
    marker = f'"{results.ERRORS}": ['  # only a row's own key: in a string a quote is escaped
    if marker not in text:
        return None
    import json

    return unreadable([json.loads(line.rstrip(",")) for line in text.splitlines() if marker in line])
