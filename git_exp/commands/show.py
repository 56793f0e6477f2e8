"""``git exp show``: one table of experiments with their run metadata, params and metrics.

``start`` starts the ref listing and the ``git config`` of the file list before the
repository is looked at; ``show`` returns the rows and columns; ``listed`` and
``lines_cache`` serve ``present.show``'s warm ``--json`` path (rows kept as JSON lines).

Metric histories (``history``) add the latest value of each metric no metrics file
gives (``metrics.acc`` from the last step), and ``--best metrics.acc`` (or
``-metrics.loss`` / ``min:metrics.loss`` to minimise) puts each experiment's best step
in that column and the step in ``best_step``.

Patterns are globs over names; a name with a version (``lr~1``) or with a ``/`` (it may
be ``REMOTE/NAME``, ``-r`` not needed) is read by ``revisions``, ambiguity refused
(``needs_resolving``; the warm ``--json`` path is not taken for those).

A row whose params or metrics file could not be read (too large, too many values, not
UTF-8, ...) has an error cell (``"params": "error: params.yaml is too large (...)"``)
and the reasons under ``"errors"`` (``present.show.unreadable`` words the warning).
"""
from __future__ import annotations

from git_exp import cache, git, history, names, notes, results, revisions, rows
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.record import Record
from git_exp.repo import Repo

COLUMNS = ("name", "created", "baseline", "status", "exit_code", "duration", "executor")
NOTE_COLUMNS = ("tags", "note")  # shown in tables when some experiment has tags or notes
TAG_PATTERN = "tag:"  # `git exp show tag:best`: the experiments tagged best (':' is in no name)


class Source:
    """What ``show`` reads: the repository, and the gits ``start`` set going before it;
    ``refs``: ``rows.narrowed``'s patterns when the listing holds only what the patterns
    may select.  (No dataclass: importing ``dataclasses`` costs ~25 ms, ``inspect`` and ``ast``.)"""

    __slots__ = ("repo", "remotes", "listing", "files", "refs", "trailers")

    def __init__(self, repo: Repo, remotes: bool, listing: git.Running, files: git.Running,
                 refs: list[str] | None = None, trailers: git.Running | None = None) -> None:
        self.repo, self.remotes, self.listing, self.files, self.refs = repo, remotes, listing, files, refs
        self.trailers: git.Running | str | None = trailers  # the trailer settings' git, then its cache key

    def trailer_key(self) -> str | None:
        """``cache.trailer_key`` of the trailer settings (rows read under others differ)."""
        if isinstance(self.trailers, git.Running) or self.trailers is None:
            running = self.trailers or self.repo.start(*cache.TRAILER_CONFIG)
            self.trailers = cache.trailer_key(running.wait(check=False).out) or ""
        return self.trailers or None


def start(*, remotes: bool = False, patterns: list[str] | None = None, trailers: bool = False) -> Source:
    """Start listing refs and reading the file list, then look at the repository; with
    ``patterns`` (globs and names, none read by ``revisions``), list only the experiments
    they may select (``rows.narrowed``: a selection costs what it selects); ``trailers``:
    start reading the trailer settings too (``Source.trailer_key`` waits for them)."""
    plain = patterns and not any(needs_resolving(p) or p.startswith(TAG_PATTERN) for p in patterns)
    refs = rows.narrowed(patterns, remotes) if plain else None  # tag:T may be any experiment
    listing, files = rows.start_listing(remotes=remotes, refs=refs), results.start_files()
    config = git.start(*cache.TRAILER_CONFIG) if trailers else None
    with git.stopped_on_error(*(p for p in (listing, files, config) if p)):
        repo = Repo()
    return Source(repo, remotes, listing, files, refs, config)


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
    return (cache.of_commits(source.repo, "lines"),
            (files["params"], files["metrics"], files["max_size"], files["history"], source.trailer_key()))


BEST_STEP = "best_step"


def show(repo: Repo, patterns: list[str] | None = None, *, sort: str | None = None,
         where: str | None = None, remotes: bool = False, listing=None, files=None,
         best: str | None = None, limit: int | None = None, reverse: bool = False,
         refs: list[str] | None = None, trailers=..., found: list[dict] | None = None) -> tuple[list[dict], list[str]]:
    """Rows, newest first unless ``sort``, at most ``limit`` of them, then ``reverse``d if
    asked (as ``git log -n N --reverse``), and the ordered column list (base columns, then
    params.*, then metrics.*); ``listing`` is ``rows.start_listing``'s, ``files``
    ``results.start_files``'s git, ``refs`` the listing's narrowing (``Source.refs``),
    ``trailers`` the trailer settings' key (``Source.trailer_key``).  With ``where`` the rows are a ``query.Matched``:
    ``undecided`` holds those the query could not decide (their params or metrics file was
    unreadable).  ``found``: these base rows instead of the experiment refs' (``show --archived``)."""
    if where is not None or sort:
        from git_exp import query  # only when asked to filter or sort
    parsed = query.parse(where) if where is not None else None  # a bad query fails before any work
    notes_head = notes.start_head(repo)
    chosen = parse_best(best) if best else None
    given = found is not None
    files = files if isinstance(files, dict) else results.configured_files(repo, files)
    changes = results.Changes(repo, read_paths(files))
    if not given:  # commits not read before: what they changed is read beside them
        found = rows.load(repo, remotes=remotes, listing=listing, refs=refs, trailers=trailers,
                          unknown=lambda shas: changes.start(shas) if len(shas) > results.DIRECT_MAX else None)
    by_commit = notes.read_all(repo, notes.finish_head(notes_head))
    found = annotated(found, by_commit)
    if patterns:
        found = _pick(repo, found, patterns, by_commit)
    few = refs is not None and len(found) <= rows.FEW  # a few of many: read without the caches
    try:
        extra = read(repo, found, files, complete=not patterns and not given, best=chosen, cached=not few,
                     changes=changes)
    finally:
        changes.close()
    table = found
    if parsed:
        table = parsed.select(table)
    if sort:
        undecided = getattr(table, "undecided", [])
        table = query.Matched(query.sort_rows(table, sort, query.known_columns(found)))
        table.undecided = undecided
    else:
        table.sort(key=_created, reverse=True)  # in place (a Matched stays one); stable: one second's stay in name order
    if limit is not None or reverse:
        undecided = getattr(table, "undecided", None)
        table = rows.limited(table, limit, reverse)
        if undecided is not None:
            table = query.Matched(table)
            table.undecided = undecided
    params = sorted(k for k in extra if k == "params" or k.startswith("params."))
    metrics = sorted(k for k in extra if k == "metrics" or k.startswith("metrics."))
    said = NOTE_COLUMNS if any(row["tags"] or row["note"] for row in table) else ()
    if chosen:
        metrics.insert(metrics.index(chosen[0]) + 1, BEST_STEP)
    return table, [*COLUMNS, *said, *params, *metrics]


class Remote(Record):
    """``show REMOTE``'s answer besides the rows: the remote's ``label``, and ``fetched``
    (``peek.Fetched``: what was fetched, and whether whole)."""

    __slots__ = ("label", "fetched")


def remote_of(source: Source, patterns: list[str], remote: str | None) -> tuple[str | None, list[str]]:
    """``(remote, patterns)`` of ``show [REMOTE] [PATTERNS]`` / ``show --remote R``: the
    first argument is a remote when it is plainly a URL (``_plainly_url``), or a configured
    remote's name that no local experiment has (the experiment wins: ``--remote``
    says otherwise)."""
    if remote is not None or not patterns:
        return remote, patterns
    from git_exp import remotes

    first = patterns[0]
    if remotes.is_url(first) and _plainly_url(first):
        return first, patterns[1:]
    if first in remotes.configured(source.repo) and source.repo.ref_sha(names.PREFIX + first) is None:
        return first, patterns[1:]
    return None, patterns


def _plainly_url(text: str) -> bool:
    """Whether a first argument of ``show`` is a URL beyond doubt: ``scheme://``, the path
    of a repository that exists (``/srv/x.git``, ``../x``), or scp-like with a user
    (``git@host:path``).  ``a:model.txt``, ``HEAD:x`` or ``..`` is an experiment pattern
    (an error), never a host or directory to contact; ``--remote`` takes any URL."""
    import os

    if "://" in text or "@" in text.partition(":")[0]:
        return True
    return os.path.isfile(os.path.join(text, "HEAD")) or os.path.exists(os.path.join(text, ".git"))


def show_remote(repo: Repo, text: str, patterns: list[str], *, sort: str | None = None, where: str | None = None,
                files=None, best: str | None = None, limit: int | None = None,
                reverse: bool = False) -> tuple[list[dict], list[str], Remote]:
    """``show REMOTE``: the rows of the remote's experiments ``patterns`` select (globs
    over their names), read from git-exp's store after fetching the commits and result
    files it lacks (``peek``): no ref and no local experiment is created."""
    from git_exp import peek, remotes

    if where is not None:
        from git_exp import query

        query.parse(where)  # a bad query fails before any network work
    if best:
        parse_best(best)
    remote = remotes.resolve(repo, text)
    files = results.configured_files(repo, files)
    listed = remotes.ls_remote(repo, remote)
    shown_names = sorted(listed)
    if patterns:
        chosen_names, unmatched = names.select(shown_names, patterns)
        if unmatched:
            raise UsageError(f"{remote.label} has no experiment matching {shown(unmatched[0])} — "
                             f"`git exp ls {remote.label}` lists them")
        shown_names = chosen_names
    view, fetched = peek.fetch(repo, remote, [listed[n] for n in shown_names], peek.paths(files))
    found = peek.base_rows(view, remote.label, [(n, listed[n]) for n in shown_names])
    table, columns = show(view, sort=sort, where=where, files=files, best=best, limit=limit, reverse=reverse, found=found)
    return table, columns, Remote(remote.label, fetched)


def _dvc_files(repo: Repo, found: list[dict], files: dict, extra: dict) -> dict:
    """Put in DVC experiments' rows the params and metrics their own ``dvc.yaml``
    declares (``dvc.files``), their keys in ``extra``; ``files`` with the plots they
    declare as histories."""
    from git_exp import dvc

    commits = {row["sha"]: row["baseline"] for row in found if row["name"].startswith("dvc:")}
    declared = dvc.files(repo, list(commits), files["max_size"])
    groups: dict[tuple, dict] = {}
    for sha, baseline in commits.items():
        mine = declared.get(sha, {"params": ["params.yaml"], "metrics": [], "plots": []})
        key = (tuple(dict.fromkeys([*files["params"], *mine["params"]])),
               tuple(dict.fromkeys([*files["metrics"], *mine["metrics"]])))
        groups.setdefault(key, {})[sha] = baseline
    fresh: dict[str, dict] = {}
    for (params, metrics), group in groups.items():
        if (params, metrics) != (tuple(files["params"]), tuple(files["metrics"])):
            fresh.update(results.read(repo, group, {**files, "params": params, "metrics": metrics}))
    for row in found:
        values = fresh.get(row["sha"]) if row["name"].startswith("dvc:") else None
        if values:
            row.update(values)
            extra.update(dict.fromkeys(values))
    plots = [p for sha in commits for p in declared.get(sha, {}).get("plots", ())]
    if not plots:
        return files
    return {**files, "history": tuple(dict.fromkeys([*history.entries(files), *plots]))}


def _created(row: dict) -> int:
    return row["created"]


def annotated(found: list[dict], by_commit: dict) -> list[dict]:
    """``found`` with each row's ``tags`` (a list) and ``note`` (a string or None) right
    after its name and remote (``notes``: they are not facts of the commit, so they stay
    out of the per-commit caches)."""
    empty = notes.EMPTY
    for at, row in enumerate(found):  # in place: each row's old dict is freed as its new one is made
        said = by_commit.get(row["sha"], empty)
        found[at] = {"name": row["name"], "remote": row["remote"], "tags": list(said.tags), "note": said.note, **row}
    return found


class Heads:
    """Every experiment's commit facts without a row each (``rows.heads``), newest first:
    ``order`` holds indexes into ``names``, ``owners`` and ``shas``, sorted as ``show``
    sorts its rows; ``rows(indexes)`` builds the ``annotated`` rows of some of them, so
    that a caller reading a part at a time holds a row only while it reads it (at 100k,
    100k rows are ~115 MB)."""

    __slots__ = ("names", "owners", "shas", "known", "by_commit", "order")

    def __init__(self, repo: Repo, *, remotes: bool = False, listing=None, trailers: str | None = None) -> None:
        notes_head = notes.start_head(repo)
        self.names, self.owners, self.shas, self.known = rows.heads(repo, remotes=remotes, listing=listing,
                                                                    trailers=trailers)
        self.by_commit = notes.read_all(repo, notes.finish_head(notes_head))
        at = rows.CACHED.index("created")
        created = [self.known[sha][at] for sha in self.shas]
        self.order = sorted(range(len(self.shas)), key=created.__getitem__, reverse=True)  # stable, as ``show``'s

    def rows(self, indexes: list[int]) -> list[dict]:
        empty, cached, known, by_commit, shas = notes.EMPTY, rows.CACHED, self.known, self.by_commit, self.shas
        found = []
        for at in indexes:
            said = by_commit.get(shas[at], empty)
            found.append({"name": self.names[at], "remote": self.owners[at], "tags": list(said.tags),
                          "note": said.note, **dict(zip(cached, known[shas[at]]))})
        return found

    def said(self) -> bool:
        """Whether some experiment has tags or a note (``NOTE_COLUMNS``), looked up from
        the notes (usually few) rather than from every row."""
        annotated = [sha for sha, said in self.by_commit.items() if said.tags or said.note]
        if not annotated:
            return False
        listed = set(self.shas)
        return any(sha in listed for sha in annotated)


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


def read_paths(files: dict) -> list[str]:
    """Every path ``read`` looks at: the params and metrics files, then the histories'."""
    return [*(path for kind in results.KINDS for path in files[kind]), *history.paths(files, dvclive=True)]


def read(repo: Repo, found: list[dict], files=None, *, complete: bool = False, cached: bool = True,
         best: tuple[str, bool] | None = None, changes: results.Changes | None = None,
         kept: dict | None = None) -> dict[str, None]:
    """Put in each row what ``show`` shows besides the commit's own fields: params and
    metrics (``rows.with_files``), then the latest values of metric histories
    (``add_history``); the columns they brought.  ``files``: ``results.start_files``'s
    git, the configured files, or None; ``changes``: a ``results.Changes`` of (at least)
    ``read_paths``, maybe started for these commits already; ``kept``: ``{"files": {},
    "history": {}}`` to get what was read (not from the caches) as the caches keep it
    (``commands.show_cold`` writes them itself)."""
    files = files if isinstance(files, dict) else results.configured_files(repo, files)
    changes = changes or results.Changes(repo, read_paths(files))  # one diff-tree for both
    changes.baselines = {row["sha"]: row["baseline"] for row in found}
    extra = rows.with_files(repo, found, files, complete=complete, cached=cached, changes=changes,
                            kept=kept and kept["files"])
    if any(row["name"].startswith("dvc:") for row in found):  # DVC's experiments: files their dvc.yaml declares
        files = _dvc_files(repo, found, files, extra)
    extra.update(add_history(repo, found, files, best=best, complete=complete, cached=cached, changes=changes,
                             kept=kept and kept["history"]))
    return extra


def matching(repo: Repo, where, *, remotes: bool = False, keep=None, listing=None):
    """``query.Matched``: the rows, read as ``show`` reads them, that the ``--where`` query
    ``where`` (text or a parsed ``query.Query``) matches among the local experiments, and
    the remote-tracking ones with ``remotes``, those ``keep(row)`` keeps if given.  Every
    command's ``--where`` selects through this, so it sees the columns ``show`` shows."""
    from git_exp import query

    parsed = query.parse(where) if isinstance(where, str) else where
    notes_head = notes.start_head(repo)
    found = rows.load(repo, remotes=remotes, listing=listing)
    found = annotated(found, notes.read_all(repo, notes.finish_head(notes_head)))  # tags and note too
    if keep is not None:
        found = [row for row in found if keep(row)]
    read(repo, found)
    return parsed.select(found)


def add_history(repo: Repo, table: list[dict], files: dict, *, best: tuple[str, bool] | None = None,
                complete: bool = False, cached: bool = True, changes=None, kept: dict | None = None) -> dict[str, None]:
    """Put in each row the latest value of each history metric no metrics file gave, and
    with ``best`` that metric's best step (value and ``best_step``); the columns added.
    UsageError when ``best`` names a metric no row has a history of."""
    summaries = history.summaries(repo, [row["sha"] for row in table], files,
                                  listed=[row["sha"] for row in table] if complete else None, cached=cached,
                                  changes=changes, kept=kept)
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


def _pick(repo: Repo, found: list[dict], patterns: list[str], by_commit: dict) -> list[dict]:
    """The rows ``patterns`` select: globs and plain names among ``found``; a name with a
    version or a ``/`` read by ``revisions`` (one row each)."""
    labels = rows.labels([row["name"] for row in found], [row["remote"] for row in found])
    exact = [p for p in patterns if needs_resolving(p)]
    plain = [p for p in patterns if p not in exact]
    keep = _selected(labels, plain, [row["tags"] for row in found]) if plain else [False] * len(found)
    picked = [row for row, kept in zip(found, keep) if kept]
    seen = {(row["remote"], row["name"]) for row in picked}
    for row in annotated(revisions.rows(repo, [revisions.resolve(repo, p) for p in exact]), by_commit):
        if (row["remote"], row["name"]) not in seen:
            seen.add((row["remote"], row["name"]))
            picked.append(row)
    return picked


def needs_resolving(pattern: str) -> bool:
    """Whether a ``show`` pattern is read by ``revisions`` rather than matched as a glob."""
    if pattern.startswith(TAG_PATTERN):
        return False
    return revisions.has_version(pattern) or (not names.is_glob(pattern) and "/" in pattern)
