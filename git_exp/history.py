"""Metric histories: the step-wise series training code writes, read from experiment commits.

Where they are: git config ``exp.history`` (multi-valued, one path per value, as
``exp.params`` and ``exp.metrics``; a value may hold commas, file names can), else the
defaults: DVCLive's ``dvclive/plots/metrics/`` and a top-level ``metrics.jsonl``.  A
value naming

- a directory is read as DVCLive writes one: every ``.tsv``/``.csv`` below it is one
  metric, named by its path below the directory with ``/`` as ``.``
  (``dvclive/plots/metrics/train/loss.tsv`` is ``train.loss``), its rows ``timestamp``,
  ``step`` and the value (a file with several value columns gives ``train.loss.COLUMN``);
- a ``.jsonl``/``.ndjson`` file: one JSON object per step, nested keys flattened with dots,
  ``step`` optional (the line's index otherwise), ``timestamp`` ignored;
- a ``.tsv``/``.csv`` file: a header, then one row per step, each column but ``step``
  and ``timestamp`` a metric.

Only numbers are points (true/false and text are left out); NaN and infinities are
kept as None, a gap in the curve.  DVCLive's summary ``dvclive/metrics.json`` (without its
``step``) gives the latest values where it exists, as DVCLive means it to.

Files are data from outside, read with the limits of ``results``: a blob over
``exp.maxFileSize`` is never read; a file that is not UTF-8, does not parse, or holds
more than MAX_ROWS steps, and an experiment with more than MAX_FILES history files,
MAX_METRICS metrics or MAX_POINTS points, gives an error for that experiment, the series
read so far kept.  A JSON-lines file whose last line has no newline and does not parse
is being written: that line is left out.

Reading N commits costs a fixed number of git processes: one ``cat-file
--batch-check`` of every configured path in every commit, one ``cat-file --batch`` per
directory level of the distinct trees found, then the distinct blobs (``results``).
``summaries`` keeps what ``show`` needs per commit (last, best and worst values and their
steps) in the facts' ``history`` section (``cache``): a commit never changes.

``read(repo, shas, metrics=None)`` is the interface for other readers (the report's
curves): ``{sha: {metric: [(step, value), ...]}}``.
"""
from __future__ import annotations

from git_exp import cache, results
from git_exp.repo import Repo

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Iterable

DEFAULT_HISTORY = ("dvclive/plots/metrics", "metrics.jsonl")
DVCLIVE_SUMMARY = "dvclive/metrics.json"
JSONL = (".jsonl", ".ndjson")
TABLES = (".tsv", ".csv")
IGNORED = ("step", "timestamp")
MAX_ROWS = 100_000  # steps in one file
MAX_FILES = 1_000  # history files in one experiment
MAX_METRICS = 1_000  # metrics in one experiment
MAX_POINTS = 1_000_000  # (step, value) points in one experiment
MAX_DEPTH = 20  # directory levels below a configured directory

def entries(files: dict | None) -> tuple[str, ...]:
    """The configured history paths (``results.configured_files``' ``history``), or the defaults."""
    configured = tuple(p.strip("/") for p in (files or {}).get("history", ()) if p.strip("/"))
    return configured or DEFAULT_HISTORY


def metric_name(text: str) -> str:
    """A metric as the user may write it: ``acc`` or ``metrics.acc`` (``show``'s column)."""
    return text[len("metrics."):] if text.startswith("metrics.") else text


def read(repo: Repo, shas: Iterable[str], metrics: Iterable[str] | None = None,
         files: dict | None = None) -> dict[str, dict[str, list[tuple[Any, Any]]]]:
    """``{sha: {metric: [(step, value), ...]}}`` of each commit in ``shas`` (an id git gave,
    e.g. ``revisions.resolve(...).sha``): the series in file order, values None where a
    step logged NaN; ``metrics`` (names or globs, ``acc`` or ``metrics.acc``) keeps those
    only.  Unreadable files are left out; ``load`` also says why."""
    return load(repo, shas, metrics, files)[0]


def load(repo: Repo, shas: Iterable[str], metrics: Iterable[str] | None = None,
         files: dict | None = None) -> tuple[dict[str, dict[str, list]], dict[str, list[str]]]:
    """``(read's series, {sha: [why a file could not be read, ...]})``."""
    series, errors, _ = _load(repo, shas, metrics, files)
    return series, errors


def paths(files: dict | None, dvclive: bool = False) -> tuple[str, ...]:
    """The paths history files are looked for at (``entries``), with DVCLive's summary
    when ``dvclive`` and no ``exp.history`` is set."""
    found = entries(files)
    return found + (DVCLIVE_SUMMARY,) if dvclive and not (files or {}).get("history") else found


def _load(repo: Repo, shas: Iterable[str], metrics: Iterable[str] | None, files: dict | None,
          dvclive: bool = False, changes: results.Changes | None = None,
          ) -> tuple[dict[str, dict[str, list]], dict[str, list[str]], dict[str, dict]]:
    """``load``, and with ``dvclive`` (and no ``exp.history``) DVCLive's latest values per
    commit: ``dvclive/metrics.json`` flattened, its ``step`` left out.  ``changes``: the
    experiments' changes at (at least) these paths, if known (``results.Changes``)."""
    files = files or results.configured_files(repo)
    max_size = files.get("max_size", results.MAX_SIZE)
    shas = list(dict.fromkeys(shas))
    looked = paths(files, dvclive)
    if changes is not None and len(shas) > results.DIRECT_MAX and changes.covers(shas) \
            and set(looked) <= set(changes.paths) and all(sha in changes.baselines for sha in shas):
        located, errors = _locate_changed(repo, shas, looked, changes)
    else:
        located, errors = _locate(repo, shas, looked)
    wanted = {oid for found in located.values() for _, oid, _ in found}
    sizes = {oid: size for found in located.values() for _, oid, size in found if size >= 0}
    blobs = dict(results.read_blobs(repo, wanted, sizes, max_size))
    parsed: dict[tuple, Any] = {}
    keep = chooser(metrics)
    series: dict[str, dict[str, list]] = {}
    latest: dict[str, dict] = {}
    for sha in shas:
        mine = series[sha] = {}
        points = 0
        found = located.get(sha)
        if not found:
            continue
        for (path, oid, size), name in zip(found, _names(found, files)):
            key = (oid, path, name)
            if key not in parsed:
                if oid not in blobs:
                    parsed[key] = results.too_large(path, size, max_size) if size > max_size else \
                        results.Unreadable(f"{path} cannot be read (object {oid} is missing)")
                else:
                    try:
                        parsed[key] = _summary_file(path, blobs[oid]) if path == DVCLIVE_SUMMARY else \
                            parse(path, blobs[oid], name)
                    except results.Unreadable as exc:
                        parsed[key] = exc
            got = parsed[key]
            if isinstance(got, results.Unreadable):
                errors.setdefault(sha, []).append(str(got))
                continue
            if path == DVCLIVE_SUMMARY:
                latest[sha] = got
                continue
            for metric, points_of in got.items():
                if metric not in mine and len(mine) >= MAX_METRICS:
                    errors.setdefault(sha, []).append(f"{path}: more than {MAX_METRICS} metrics")
                    break
                points += len(points_of)
                if points > MAX_POINTS:
                    errors.setdefault(sha, []).append(f"{path}: more than {MAX_POINTS} points in all")
                    break
                if keep(metric):
                    mine.setdefault(metric, []).extend(points_of)
            else:
                continue
            break
    return series, errors, latest


def _summary_file(path: str, data: bytes) -> dict[str, Any]:
    """DVCLive's ``metrics.json``: ``{metric: latest value}``, numbers only, no ``step``."""
    flat: dict[str, Any] = {}
    results.flatten(results.parse(path, data), "", flat, path)
    values = {key: _number(value) for key, value in flat.items() if key not in IGNORED}
    return {key: value for key, value in values.items() if value is not ...}


def chooser(metrics: Iterable[str] | None):
    """A predicate on metric names: one of ``metrics`` (names or globs, ``metrics.`` or not)."""
    if metrics is None:
        return lambda name: True
    from git_exp.names import matcher

    tests = [matcher(metric_name(m)) for m in metrics]
    return lambda name: any(test(name) for test in tests)


def _names(found, files) -> list[str | None]:
    """The metric name prefix of each located file: its path below its directory entry
    (``train.loss``), or None for a file named directly (its columns or keys name it)."""
    tops = entries(files)
    names = []
    for path, _, _ in found:
        top = next((t for t in tops if path.startswith(t + "/")), None)
        if top is None:
            names.append(None)
            continue
        rest = path[len(top) + 1:]
        names.append(rest.rsplit(".", 1)[0].replace("/", "."))
    return names


def _entry(path: str, looked: tuple[str, ...]) -> int | None:
    """The index in ``looked`` of the history path that ``path`` is or is below, or None."""
    for at, top in enumerate(looked):
        if path == top or path.startswith(top + "/"):
            return at
    return None


def _locate_changed(repo: Repo, shas: list[str], looked: tuple[str, ...],
                    changes: results.Changes) -> tuple[dict[str, list], dict[str, list[str]]]:
    """``_locate`` from the baselines' history files (``_locate`` of those few) and what
    each experiment changed below ``looked`` (``results.Changes``), instead of looking up
    every path in every experiment (100k experiments: a 1.7 s ``cat-file --batch-check``
    of 300k paths).  An experiment whose files ``_locate`` would have refused or cut
    (too many, too deep, not a history file) is left to ``_locate``, which says why."""
    baselines = changes.baselines
    bases = sorted({baselines[sha] for sha in shas if baselines[sha]})
    base_located, base_errors = _locate(repo, bases, looked)
    diffs = changes.parsed()
    located: dict[str, list] = {}
    direct: list[str] = []
    entry: dict[str, int | None] = {}  # path -> _entry (most are params or metrics files: None)
    nothing: dict = {}
    for sha in shas:
        baseline = baselines[sha]
        if baseline and base_errors.get(baseline):
            direct.append(sha)
            continue
        had = base_located.get(baseline) if baseline else None
        mine = {path: (oid, size) for path, oid, size in had} if had else {}
        plain = True
        for path, change in diffs.get(sha, nothing).items():
            at = entry.get(path, -1)
            if at == -1:
                at = entry[path] = _entry(path, looked)
            if at is None:
                continue
            if change is None:
                mine.pop(path, None)
                continue
            mode, oid = change
            top = looked[at]
            if path == top:  # a file named directly
                if not (path.endswith(JSONL + TABLES) or path == DVCLIVE_SUMMARY) or mode == "160000":
                    plain = False
                    break
            elif top.endswith(JSONL + TABLES) or top == DVCLIVE_SUMMARY or \
                    path.count("/") - top.count("/") >= MAX_DEPTH:
                plain = False  # below what should be a file, or as deep as _walk stops
                break
            elif mode not in ("100644", "100755") or not path.endswith(JSONL + TABLES):
                mine.pop(path, None)  # _walk passes over links, submodules and other files
                continue
            mine[path] = (oid, -1)  # its size: asked before it is read (``results.read_blobs``)
        if not plain or len(mine) > MAX_FILES:
            direct.append(sha)
        elif not mine:
            located[sha] = []
        else:
            located[sha] = [(path, oid, size) for path, (oid, size) in
                            sorted(mine.items(), key=lambda item: (_entry(item[0], looked), item[0]))]
    errors: dict[str, list[str]] = {}
    if direct:
        more, errors = _locate(repo, direct, looked)
        located.update(more)
    return {sha: located[sha] for sha in shas}, errors


def _locate(repo: Repo, shas: list[str], paths: tuple[str, ...]) -> tuple[dict[str, list], dict[str, list[str]]]:
    """``{sha: [(path, blob, size), ...]}`` of the history files in each commit, and errors
    (too many files): one batch-check for every ``<commit>:<path>``, then the distinct
    trees found, level by level."""
    located: dict[str, list] = {sha: [] for sha in shas}
    errors: dict[str, list[str]] = {}
    queries = [(sha, path) for sha in shas for path in paths]
    if not queries:
        return located, errors
    said = repo.run("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
                    input="".join(f"{sha}:{path}\n" for sha, path in queries)).out.splitlines()
    dirs: dict[str, list[tuple[str, str]]] = {}  # tree -> [(sha, path)]
    for (sha, path), line in zip(queries, said):
        parts = line.split(" ")
        if len(parts) != 3 or not parts[2].isdigit():
            continue  # "<commit>:<path> missing"
        oid, kind, size = parts
        if kind == "blob" and (path.endswith(JSONL + TABLES) or path == DVCLIVE_SUMMARY):
            located[sha].append((path, oid, int(size)))
        elif kind == "tree" and not path.endswith(JSONL + TABLES) and path != DVCLIVE_SUMMARY:
            dirs.setdefault(oid, []).append((sha, path))
        elif kind == "blob":
            errors.setdefault(sha, []).append(f"{path} is not a history file (exp.history takes a directory "
                                              "or a .jsonl, .ndjson, .tsv or .csv file)")
    listing = _walk(repo, list(dirs))
    for tree, users in dirs.items():
        files, complete = listing[tree]
        for sha, path in users:
            located[sha].extend((f"{path}/{rel}", oid, size) for rel, oid, size in files)
            if not complete:
                errors.setdefault(sha, []).append(f"{path} holds more than {MAX_FILES} history files "
                                                  f"or {MAX_DEPTH} levels of directories")
    for sha, found in located.items():
        found.sort(key=lambda item: (_entry(item[0], paths), item[0]))  # as _locate_changed orders them
        if len(found) > MAX_FILES:
            del found[MAX_FILES:]
            errors.setdefault(sha, []).append(f"more than {MAX_FILES} history files")
    return located, errors


def _walk(repo: Repo, trees: list[str]) -> dict[str, tuple[list[tuple[str, str, int]], bool]]:
    """``{tree: ([(relative path, blob, size) of each .tsv/.csv/.jsonl below it], complete)}``,
    reading the distinct trees of each level with one ``cat-file --batch``."""
    result: dict[str, tuple[list, bool]] = {t: ([], True) for t in trees}
    level = [(t, t, "") for t in dict.fromkeys(trees)]  # (root, tree, prefix)
    depth = 0
    while level:
        depth += 1
        distinct = list(dict.fromkeys(tree for _, tree, _ in level))
        objects = _read_trees(repo, distinct)
        following = []
        for root, tree, prefix in level:
            files, complete = result[root]
            if not complete:
                continue
            for mode, name, oid in objects.get(tree, ()):
                if mode == "40000":
                    if depth >= MAX_DEPTH:
                        result[root] = (files, False)
                        break
                    following.append((root, oid, f"{prefix}{name}/"))
                elif mode in ("100644", "100755") and name.endswith(JSONL + TABLES):
                    if len(files) >= MAX_FILES:
                        result[root] = (files, False)
                        break
                    files.append((f"{prefix}{name}", oid))
        level = following
    blobs = list(dict.fromkeys(oid for files, _ in result.values() for _, oid in files))
    sizes: dict[str, int] = {}
    if blobs:  # sizes first, so that no blob over exp.maxFileSize is ever read
        said = repo.run("cat-file", "--batch-check=%(objectsize)", input="".join(f"{o}\n" for o in blobs)).out
        sizes = {oid: int(size) for oid, size in zip(blobs, said.splitlines()) if size.isdigit()}
    return {root: ([(rel, oid, sizes.get(oid, -1)) for rel, oid in files], complete)
            for root, (files, complete) in result.items()}


def _read_trees(repo: Repo, trees: list[str]) -> dict[str, list[tuple[str, str, str]]]:
    """``{tree: [(mode, name, id), ...]}`` from git's binary tree format (names that are
    not UTF-8 are left out)."""
    if not trees:
        return {}
    rawsz = repo.hexsz // 2
    found: dict[str, list] = {}
    for tree, got in zip(trees, repo.objects(trees)):
        if got is None:
            continue
        data = got[1]
        entries_, i = [], 0
        while i < len(data):
            space = data.index(b" ", i)
            nul = data.index(b"\0", space)
            try:
                name = data[space + 1:nul].decode("utf-8")
            except UnicodeDecodeError:
                name = None
            if name is not None:
                entries_.append((data[i:space].decode("ascii"), name, data[nul + 1:nul + 1 + rawsz].hex()))
            i = nul + 1 + rawsz
        found[tree] = entries_
    return found


def _number(value: Any) -> Any:
    """A point's value: a finite number, None for NaN/infinity; ``...`` for no number."""
    if type(value) is bool or not isinstance(value, (int, float)):
        return ...
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value


def _step(value: Any, path: str, row: int) -> Any:
    if type(value) is bool or not isinstance(value, (int, float)) or value != value:
        raise results.Unreadable(f"{path} has a step that is not a number on line {row}")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def parse(path: str, data: bytes, name: str | None = None) -> dict[str, list[tuple[Any, Any]]]:
    """The series in one history file: ``{metric: [(step, value), ...]}``; ``name``: the
    metric a file inside a directory entry is (``train.loss``).  Unreadable past the limits."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise results.Unreadable(f"{path} is not UTF-8") from None
    if path.endswith(JSONL):
        found = _jsonl(path, text)
    else:
        found = _table(path, text)
    if name is None:
        return found
    if len(found) == 1:
        return {name: next(iter(found.values()))}
    last = name.rsplit(".", 1)[-1]
    return {name if column == last or column == name.replace(".", "/") else f"{name}.{column}": points
            for column, points in found.items()}


def _jsonl(path: str, text: str) -> dict[str, list]:
    import json

    lines = text.split("\n")
    if len(lines) > MAX_ROWS + 1:
        raise results.Unreadable(f"{path} holds more than {MAX_ROWS} steps")
    found: dict[str, list] = {}
    index = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            if number == len(lines):  # no newline after it: still being written
                break
            raise results.Unreadable(f"{path} does not parse on line {number}") from None
        if not isinstance(value, dict):
            raise results.Unreadable(f"{path} line {number} is not a JSON object")
        flat: dict[str, Any] = {}
        results.flatten(value, "", flat, path)
        step = _step(flat["step"], path, number) if "step" in flat else index
        index += 1
        for key, item in flat.items():
            if key in IGNORED:
                continue
            item = _number(item)
            if item is not ...:
                found.setdefault(key, []).append((step, item))
        if len(found) > MAX_METRICS:
            raise results.Unreadable(f"{path} holds more than {MAX_METRICS} metrics")
    return found


def _table(path: str, text: str) -> dict[str, list]:
    import csv

    reader = csv.reader(text.splitlines(), delimiter="\t" if path.endswith(".tsv") else ",")
    try:
        header = next(reader, None)
        if not header:
            return {}
        if len(header) > MAX_METRICS:
            raise results.Unreadable(f"{path} holds more than {MAX_METRICS} columns")
        step_at = header.index("step") if "step" in header else None
        columns = [(i, c) for i, c in enumerate(header) if c not in IGNORED]
        found: dict[str, list] = {c: [] for _, c in columns}
        for index, row in enumerate(reader):
            if index >= MAX_ROWS:
                raise results.Unreadable(f"{path} holds more than {MAX_ROWS} steps")
            if not row:
                continue
            step: Any = index
            if step_at is not None:
                step = _step(_float(row[step_at]) if step_at < len(row) else None, path, index + 2)
            for i, column in columns:
                if i < len(row):
                    value = _number(_float(row[i]))
                    if value is not ...:
                        found[column].append((step, value))
    except csv.Error:
        raise results.Unreadable(f"{path} does not parse") from None
    return {c: points for c, points in found.items() if points}


def _float(text: str) -> Any:
    text = text.strip()
    if not text or len(text) > 100:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


# -- what ``show`` needs: each metric's last, best and worst value ---------------------------

def _summary(points: list[tuple[Any, Any]]) -> tuple:
    """``(last, max, step of max, min, step of min)`` (the first step reaching each)."""
    last = points[-1][1] if points else None
    top = low = None
    top_step = low_step = None
    for step, value in points:
        if value is None:
            continue
        if top is None or value > top:
            top, top_step = value, step
        if low is None or value < low:
            low, low_step = value, step
    return last, top, top_step, low, low_step


def summaries(repo: Repo, shas: list[str], files: dict | None = None, *,
              listed: list[str] | None = None, cached: bool = True,
              changes: results.Changes | None = None, kept: dict | None = None) -> dict[str, dict]:
    """``{sha: {"series": {metric: _summary}, "latest": {metric: value}, "errors": [...]}}``
    — ``latest`` from DVCLive's summary where it has the metric, else the last step —
    cached per commit; ``listed``: every commit an experiment names now (``cache.save``);
    ``changes``: what ``show`` knows of the experiments' changes (``results.Changes``);
    ``kept``: a dict that gets each summary read (not from the cache) as the cache keeps it."""
    files = files or results.configured_files(repo)
    key = (entries(files), files.get("max_size", results.MAX_SIZE))
    where = cache.at(repo.common_dir, "history") if cached else None
    known = cache.load(where, key)
    todo = [sha for sha in dict.fromkeys(shas) if sha not in known]
    if todo:
        series, errors, dvclive = _load(repo, todo, None, files, dvclive=True, changes=changes)
        for sha in todo:
            if not series[sha] and sha not in dvclive and sha not in errors:
                known[sha] = None  # most experiments: kept as this, not as three empty containers
                continue
            summary = {metric: _summary(points) for metric, points in series[sha].items()}
            latest = {metric: s[0] for metric, s in summary.items()}
            latest.update(dvclive.get(sha, {}))  # metrics logged without a plot too
            known[sha] = {"series": summary, "latest": latest, "errors": errors.get(sha, [])}
        cache.save(where, known, key, listed=listed)
        if kept is not None:
            kept.update((sha, known[sha]) for sha in todo)
    return {sha: known[sha] or NO_SUMMARY for sha in shas}


NO_SUMMARY = {"series": {}, "latest": {}, "errors": []}  # ``summaries`` of a commit with no history: read it only


def best(summary: tuple, maximise: bool) -> tuple[Any, Any]:
    """``(value, step)`` of the best step of one metric's ``_summary``."""
    return (summary[1], summary[2]) if maximise else (summary[3], summary[4])
