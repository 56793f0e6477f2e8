"""``git exp show``: one table of experiments with their run metadata, params and metrics.

Everything in a row but its name and remote comes from the commit and its files, so
``--json`` keeps each row's JSON after those two in ``lines.marshal`` (``cache``), per
configured file list: a warm ``show --json`` then lists names and commits, reads that
file and writes: at 1k 36 ms where building and encoding the rows took 60 ms here, at
10k 85 against 320 ms.  Any listed commit missing there sends ``show`` the long way,
which stores what it wrote.

Metric histories (``history``) add the latest value of each metric no metrics file
gives (``metrics.acc`` from the last step), and ``--best metrics.acc`` (or
``-metrics.loss`` / ``min:metrics.loss`` to minimise) puts each experiment's best step
in that column and the step in ``best_step``.

Patterns are globs over names; a name with a version (``lr~1``) or with a ``/`` (it may
be ``REMOTE/NAME``, ``-r`` not needed) is read by ``revisions``, ambiguity refused.

A row whose params or metrics file could not be read (too large, too many values, not
UTF-8, ...) has an error cell (``"params": "error: params.yaml is too large (...)"``)
and the reasons under ``"errors"``; ``unreadable`` words the warning for them.
"""
from __future__ import annotations

from git_exp import cache, history, names, render, results, revisions, rows
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.repo import Repo

COLUMNS = ("name", "created", "baseline", "status", "exit_code", "duration", "executor")
LINES_VERSION = 1


BEST_STEP = "best_step"


def show(repo: Repo, patterns: list[str] | None = None, *, sort: str | None = None,
         where: str | None = None, remotes: bool = False, listing=None, files=None,
         best: str | None = None) -> tuple[list[dict], list[str]]:
    """Rows and the ordered column list (base columns, then params.*, then metrics.*);
    ``listing`` is ``rows.start_listing``'s, ``files`` ``results.start_files``'s git."""
    if where or sort:
        from git_exp import query  # re and shlex: ~13 ms, only when asked to filter or sort
    accept = query.parse_where(where) if where else None
    chosen = parse_best(best) if best else None
    found = rows.load(repo, remotes=remotes, listing=listing)
    if patterns:
        found = _pick(repo, found, patterns)
    files = results.configured_files(repo, files)
    data = results.read(repo, {row["sha"]: row["baseline"] for row in found}, files, complete=not patterns)
    extra: dict[str, None] = {}
    for row in found:
        values = data.get(row["sha"])
        if values:
            row.update(values)
            extra.update(dict.fromkeys(values))
    extra.update(add_history(repo, found, files, best=chosen, complete=not patterns))
    table = found
    if accept:
        table = [row for row in table if accept(row)]
    if sort:
        table = query.sort_rows(table, sort)
    params = sorted(k for k in extra if k == "params" or k.startswith("params."))
    metrics = sorted(k for k in extra if k == "metrics" or k.startswith("metrics."))
    if chosen:
        metrics.insert(metrics.index(chosen[0]) + 1, BEST_STEP)
    return table, [*COLUMNS, *params, *metrics]


def parse_best(spec: str) -> tuple[str, bool]:
    """``(column, maximise)`` of ``--best``: ``metrics.acc`` or ``max:metrics.acc`` (the
    highest step), ``-metrics.loss`` or ``min:metrics.loss`` (the lowest); ``acc`` is
    ``metrics.acc``."""
    maximise = True
    if spec.startswith("-"):
        spec, maximise = spec[1:], False
    elif spec.startswith(("min:", "max:")):
        spec, maximise = spec[4:], spec.startswith("max:")
    metric = history.metric_name(spec)
    if not metric or names.is_glob(metric):
        raise UsageError(f"--best takes one metric, as metrics.acc, -metrics.loss or min:metrics.loss — not {shown(spec)}")
    return "metrics." + metric, maximise


def add_history(repo: Repo, table: list[dict], files: dict, *, best: tuple[str, bool] | None = None,
                complete: bool = False) -> dict[str, None]:
    """Put in each row the latest value of each history metric no metrics file gave, and
    with ``best`` that metric's best step (value and ``best_step``); the columns added.
    UsageError when ``best`` names a metric no row has a history of."""
    summaries = history.summaries(repo, [row["sha"] for row in table], files,
                                  listed=[row["sha"] for row in table] if complete else None)
    added: dict[str, None] = {}
    had_best = False
    for row in table:
        summary = summaries[row["sha"]]
        for metric, value in summary["latest"].items():
            column = "metrics." + metric
            if column not in row:
                row[column] = value
                added[column] = None
        if summary["errors"]:
            row.setdefault(results.ERRORS, []).extend(summary["errors"])
            if "metrics" not in row:
                row["metrics"] = "error: " + "; ".join(summary["errors"])
                added["metrics"] = None
        if best:
            column, maximise = best
            series = summary["series"].get(column[len("metrics."):])
            row[BEST_STEP] = None
            if series is not None:
                row[column], row[BEST_STEP] = history.best(series, maximise)
                added[column] = None
                had_best = True
    if best and table and not had_best:
        known = sorted({m for row in table for m in summaries[row["sha"]]["series"]})
        hint = f"metrics with a history: {', '.join('metrics.' + m for m in known[:10])}" if known else \
            "none of them has a metric history (dvclive/plots/metrics/, metrics.jsonl or exp.history)"
        raise UsageError(f"no experiment shown has a history of {shown(best[0])} — {hint}")
    return added


def _pick(repo: Repo, found: list[dict], patterns: list[str]) -> list[dict]:
    """The rows ``patterns`` select: globs and plain names among ``found``; a name with a
    version or a ``/`` read by ``revisions`` (one row each)."""
    labels = rows.labels([row["name"] for row in found], [row["remote"] for row in found])
    exact = [p for p in patterns if needs_resolving(p)]
    plain = [p for p in patterns if p not in exact]
    keep = _selected(labels, plain) if plain else [False] * len(found)
    picked = [row for row, kept in zip(found, keep) if kept]
    seen = {(row["remote"], row["name"]) for row in picked}
    for row in revisions.rows(repo, [revisions.resolve(repo, p) for p in exact]):
        if (row["remote"], row["name"]) not in seen:
            seen.add((row["remote"], row["name"]))
            picked.append(row)
    return picked


def needs_resolving(pattern: str) -> bool:
    """Whether a ``show`` pattern is read by ``revisions`` rather than matched as a glob."""
    return revisions.has_version(pattern) or (not names.is_glob(pattern) and "/" in pattern)


def _selected(labels: list[str], patterns: list[str]) -> list[bool]:
    """Whether each label matches one of ``patterns``; UsageError for a pattern matching none."""
    chosen, unmatched = names.select(labels, patterns)
    if unmatched:
        raise UsageError(f"no experiment matches {shown(unmatched[0])} — `git exp ls` lists them")
    keep = set(chosen)
    return [label in keep for label in labels]


def _lines_cache(repo: Repo, files) -> tuple[str | None, tuple]:
    """Where the lines are kept, and their key: the file list, and the versions of the
    caches the rows come from (a change in either changes the rows)."""
    files = results.configured_files(repo, files)
    return (cache.of_commits(repo, "lines.marshal"),
            (files["params"], files["metrics"], files["max_size"], results.RowCache.VERSION, rows.CACHE_VERSION,
             files["history"], history.CACHE_VERSION))


def _head(encode, name: str, remote: str | None) -> str:
    return f'{{"name": {encode(name)}, "remote": {"null" if remote is None else encode(remote)}, '


def json_from_cache(repo: Repo, patterns: list[str], *, remotes: bool = False, listing=None, files=None) -> str | None:
    """``show --json`` (no --where or --sort) from ``lines.marshal`` alone, or None when a
    listed commit is not there or the rows are too few to be written one per line."""
    listing = listing or rows.start_listing(repo, remotes=remotes)
    where, key = _lines_cache(repo, files)
    if any(map(needs_resolving, patterns)):
        return None
    known = cache.load(where, LINES_VERSION, key)
    shas, refs = rows.listed(listing)
    exp_names, owners = rows.split_names(refs, remotes)
    if patterns:
        keep = _selected(rows.labels(exp_names, owners), patterns)
        shas, exp_names, owners = ([v for v, kept in zip(column, keep) if kept] for column in (shas, exp_names, owners))
    tails = list(map(known.get, shas))
    if len(tails) < render.LINES_MIN or None in tails:
        return None
    encode = render.string_encoder()
    return render.json_lines([_head(encode, n, o) + t for n, o, t in zip(exp_names, owners, tails)])


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
        head = _head(encode, row["name"], row["remote"])
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
