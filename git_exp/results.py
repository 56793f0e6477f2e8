"""Params and metrics: which files hold them, and reading them from many commits at once.

Files come from git config ``exp.params`` / ``exp.metrics`` (multi-valued paths), else
``params.{yaml,yml,json,toml}`` and ``metrics.{json,yaml,yml}`` at the top level.
Reading N experiments costs three git processes whatever N is: the candidate files of
the (few) distinct baselines by ``cat-file --batch-check``, one ``diff-tree --stdin``
of every experiment against its baseline restricted to those paths, then one
``cat-file --batch`` reading each distinct blob once; and once read, a commit's row
is cached (``RowCache``).  Nested keys flatten with dots.

Files are data from outside (a remote sends them), so reading is bounded: a blob over
``exp.maxFileSize`` (MAX_SIZE by default) is never read, its size known from
``cat-file --batch-check``; a file that is not UTF-8, does not parse, holds more than
MAX_VALUES values (YAML aliases counted as expanded, before anything is built from them)
or nests deeper than MAX_DEPTH levels becomes an error cell for that experiment
(``"params": "error: params.yaml is too large (...)"``, and the reason under ``"errors"``).
"""
from __future__ import annotations

from git_exp import cache
from git_exp.repo import Repo

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing and pathlib cost ~8 ms at start-up here
    from typing import Any, Iterable, Iterator, Mapping, Optional, Union

    Commits = Union[Iterable[str], Mapping[str, Optional[str]]]

DEFAULT_PARAMS = ("params.yaml", "params.yml", "params.json", "params.toml")
DEFAULT_METRICS = ("metrics.json", "metrics.yaml", "metrics.yml")
KINDS = ("params", "metrics")
ERRORS = "errors"  # row key: what made a file unreadable, ["params.yaml is too large (...)", ...]
MAX_SIZE = 1 << 20  # bytes in one file unless git config exp.maxFileSize says otherwise
MAX_VALUES = 10_000  # dict entries and list items in one file, counted as flattening expands them
MAX_DEPTH = 100  # levels of nesting in one file
YAML_PLAIN_MAX = 32 << 10  # a YAML file this small and without aliases is read by the plain loader
READ_CHUNK = 64 << 20  # bytes of blobs read by one `cat-file --batch` (files of 10k experiments: ~3 MB)
READ_COMMITS = 10_000  # commits whose files are found, read and parsed together (what is held meanwhile)
DIRECT_MAX = 16  # up to this many commits, look every path up directly
CACHE_MIN = 32  # from this many commits on, use the row cache


FILES_CONFIG = ("config", "--get-regexp", r"^exp\.(params|metrics|maxfilesize|history)$")


def start_files():
    """Start the ``git config`` ``configured_files`` reads, here, before the repository
    has been looked at (it needs nothing from it)."""
    from git_exp import git

    return git.start(*FILES_CONFIG)


def configured_files(repo: Repo, running=None) -> dict[str, Any]:
    """The params and metrics files, ``max_size`` (``exp.maxFileSize``, bytes), and
    ``history``: the ``exp.history`` values, empty when unset (``history`` decides
    the defaults); ``running`` is ``start_files``'s git, if started."""
    result = (running or repo.start(*FILES_CONFIG)).wait(check=False)
    files: dict[str, list[str]] = {"params": [], "metrics": [], "history": []}
    max_size = MAX_SIZE
    for line in result.out.splitlines():
        key, _, value = line.partition(" ")
        name = key.split(".", 1)[1].lower()
        if name == "maxfilesize":
            max_size = _size(value.strip())
        else:
            files[name].append(value.strip().lstrip("/"))
    return {
        "params": tuple(files["params"]) or DEFAULT_PARAMS,
        "metrics": tuple(files["metrics"]) or DEFAULT_METRICS,
        "max_size": max_size,
        "history": tuple(files["history"]),
    }


def _size(text: str) -> int:
    """A byte count as git writes one (``512``, ``64k``, ``2m``, ``1g``); UsageError otherwise."""
    number, unit = (text[:-1], text[-1].lower()) if text[-1:].isalpha() else (text, "")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(unit)
    if scale is None or not number.isdigit() or len(number) > 12:
        from git_exp.errors import UsageError
        from git_exp.names import shown

        raise UsageError(f"exp.maxFileSize is not a size: {shown(text)} — set it to a byte count "
                         "such as 1m (`git config exp.maxFileSize 4m`)")
    return int(number) * scale


def _bytes(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{size} bytes"


class Unreadable(Exception):
    """A file read as an error cell; the text says why, ``params.yaml is too large (...)``."""


def too_large(path: str, size: int, max_size: int = MAX_SIZE) -> Unreadable:
    shown, limit = _bytes(size), _bytes(max_size)
    if shown == limit:  # just over: "1 MiB > 1 MiB" would say nothing
        shown, limit = f"{size} bytes", f"{max_size} bytes"
    return Unreadable(f"{path} is too large ({shown} > {limit}, exp.maxFileSize)")


def parse(path: str, data: bytes) -> Any:
    """The value in the file ``path`` holding ``data``; Unreadable when it is not UTF-8,
    does not parse, holds too many values or nests too deep (``flatten`` counts those
    for every format; YAML's aliases are counted before they are built)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(f"{path} is not UTF-8") from None
    try:
        if path.endswith(".json"):
            import json

            return json.loads(text)
        if path.endswith(".toml"):
            try:
                import tomllib
            except ImportError:  # Python < 3.11
                import tomli as tomllib  # type: ignore[no-redef]
            return tomllib.loads(text)
        return _yaml(path, text)
    except Unreadable:
        raise
    except RecursionError:
        raise Unreadable(f"{path} is nested deeper than {MAX_DEPTH} levels") from None
    except Exception as exc:  # any parser error
        why = str(exc)
        if "integer string conversion" in why:  # Python's limit on digits (4300)
            raise Unreadable(f"{path} holds a number too long to read") from None
        if "maximum nesting depth" in why:  # libyaml's limit (1000)
            raise Unreadable(f"{path} is nested deeper than {MAX_DEPTH} levels") from None
        raise Unreadable(f"{path} does not parse ({type(exc).__name__})") from None


def _yaml(path: str, text: str) -> Any:
    """YAML by libyaml's parser when PyYAML was built with it (~10x faster over 10k small
    files); a file with aliases (``*``), or too large for its nodes to be few, goes through
    ``_bounded_loader``, which refuses past the limits while composing (an alias bomb of 9
    levels of 9 aliases is 81 aliases and 387 million values once expanded).  The plainest
    files, nested mappings of simple scalars, are read without PyYAML (``plainyaml``: 30x
    quicker, the same values)."""
    if len(text) <= YAML_PLAIN_MAX:
        from git_exp import plainyaml

        value = plainyaml.load(text)
        if value is not plainyaml.NOT_PLAIN:
            return value
    import yaml

    if len(text) <= YAML_PLAIN_MAX and "*" not in text:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    loader = _bounded_loader()(text)
    loader.path = path
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


_BOUNDED = None


def _bounded_loader():
    """A safe YAML loader whose composer counts nodes, an alias as the nodes it stands
    for, and levels, and raises Unreadable past 2 * MAX_VALUES + 1 (a mapping of MAX_VALUES
    entries) or MAX_DEPTH: nothing is built from a document past the limits, and building
    one within them makes at most that many objects (merge keys ``<<`` included)."""
    global _BOUNDED
    if _BOUNDED is not None:
        return _BOUNDED
    import yaml
    from yaml.composer import Composer
    from yaml.events import AliasEvent

    limit = 2 * MAX_VALUES + 1

    class Counting(Composer):
        path = "a YAML file"
        nodes = depth = 0

        def compose_node(self, parent, index):
            if self.check_event(AliasEvent):
                node = super().compose_node(parent, index)
                size = self.sizes.get(id(node))
                if size is None:  # an alias inside the node it names
                    raise Unreadable(f"{self.path} has an alias to a node that holds it")
                self.nodes += size
                if self.nodes > limit:
                    raise Unreadable(f"{self.path} holds more than {MAX_VALUES} values once its aliases are expanded")
                return node
            self.depth += 1
            self.nodes += 1
            if self.depth > MAX_DEPTH:
                raise Unreadable(f"{self.path} is nested deeper than {MAX_DEPTH} levels")
            if self.nodes > limit:
                raise Unreadable(f"{self.path} holds more than {MAX_VALUES} values")
            before = self.nodes
            node = super().compose_node(parent, index)
            self.sizes[id(node)] = self.nodes - before + 1
            self.depth -= 1
            return node

    try:
        from yaml.cyaml import CParser
    except ImportError:  # PyYAML without libyaml
        class Bounded(Counting, yaml.SafeLoader):
            def __init__(self, stream):
                yaml.SafeLoader.__init__(self, stream)
                self.sizes = {}
    else:
        from yaml.constructor import SafeConstructor
        from yaml.resolver import Resolver

        class Bounded(Counting, CParser, SafeConstructor, Resolver):  # CSafeLoader, composed in Python
            def __init__(self, stream):
                CParser.__init__(self, stream)
                Composer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)
                self.sizes = {}

    _BOUNDED = Bounded
    return Bounded


def flatten(value: Any, prefix: str, into: dict[str, Any], path: str = "the file") -> None:
    """``value``'s leaves into ``into`` under dotted keys (a list is one leaf); Unreadable
    past MAX_VALUES dict entries and list items or MAX_DEPTH levels, counted as expanded:
    an object reached twice counts twice, so shared or cyclic references cost no more."""
    if isinstance(value, dict):
        _flatten(value, f"{prefix}." if prefix else "", into, 1, MAX_VALUES, path)
    else:
        if isinstance(value, list):
            _count(value, 1, MAX_VALUES, path)
        into[prefix] = value


def _flatten(value: dict, prefix: str, into: dict[str, Any], depth: int, left: int, path: str) -> int:
    """``flatten`` of a dict at level ``depth`` with ``left`` values to go; what is left.
    Leaves are stored here, not by a call each: 10k files of ~8 values in ~55 ms."""
    if depth > MAX_DEPTH:
        raise Unreadable(f"{path} is nested deeper than {MAX_DEPTH} levels")
    left -= len(value)
    if left < 0:
        raise Unreadable(f"{path} holds more than {MAX_VALUES} values")
    for key, item in value.items():
        if isinstance(item, dict):
            left = _flatten(item, f"{prefix}{key}.", into, depth + 1, left, path)
            continue
        if isinstance(item, list):
            left = _count(item, depth + 1, left, path)
        into[f"{prefix}{key}"] = item
    return left


def _count(value: list, depth: int, left: int, path: str) -> int:
    """``left`` less a list's items, its nested ones too (``flatten``)."""
    stack = [(value, depth)]
    while stack:
        items, level = stack.pop()
        if level > MAX_DEPTH:
            raise Unreadable(f"{path} is nested deeper than {MAX_DEPTH} levels")
        left -= len(items)
        if left < 0:
            raise Unreadable(f"{path} holds more than {MAX_VALUES} values")
        for item in (items.values() if isinstance(items, dict) else items):
            if isinstance(item, (list, dict)):
                stack.append((item, level + 1))
    return left


UNKNOWN = "?"  # baseline marker: a commit given without its baseline


def read(repo: Repo, commits: Commits, files: dict[str, tuple[str, ...]] | None = None, *,
         complete: bool = False, cached: bool = True, changes: Changes | None = None,
         kept: dict | None = None) -> dict[str, dict[str, Any]]:
    """``{commit: {"params.lr": 0.1, "metrics.acc": 0.9, ...}}``; a file that cannot be read
    gives an error cell, ``"params": "error: <why>"``, and ``<why>`` in the row's ERRORS list.

    ``commits`` may map each commit to its baseline (None for a root commit): then the
    files are found from the baselines plus one ``diff-tree`` of every experiment
    against its baseline, instead of looking up every candidate path in every commit.
    ``complete``: they are every experiment there is, so the row cache may drop others;
    ``cached``: False to leave the row cache alone (a few of many: ``rows.FEW``);
    ``changes``: a ``Changes`` shared with other readers (``show``), its paths these files and more;
    ``kept``: a dict that gets each row read (not from the cache) as the cache keeps it.
    """
    if not hasattr(commits, "items"):
        commits = {c: UNKNOWN for c in commits}
    files = files or configured_files(repo)
    max_size = files.get("max_size", MAX_SIZE)
    paths = [(kind, path) for kind in KINDS for path in files[kind]]
    names = [p for _, p in paths]
    known = RowCache(repo, names, max_size) if cached and len(commits) > CACHE_MIN else None
    table = known.rows(commits) if known else {}
    todo = {c: b for c, b in commits.items() if c not in table}
    fresh: dict[str, dict[str, Any]] = {}
    if len(todo) > DIRECT_MAX and all(b != UNKNOWN for b in todo.values()):
        if changes is not None and changes.commits is None and set(names) <= set(changes.paths):
            changes.start(todo)  # the shared one, for every part: the histories' lookup reads it too
        order = list(todo)
        before = None
        for start in range(0, len(order), READ_COMMITS):  # what is read of each part is let go before the next
            part = {commit: todo[commit] for commit in order[start:start + READ_COMMITS]}
            sizes: dict[str, int] = {}
            located = _via_baselines(repo, part, names, sizes, changes)
            wanted = _wanted(located)
            ahead = _Ahead(repo, wanted, sizes, max_size)  # git reads this part's files while Python parses the last's
            if before is not None:
                _rows(before[0], before[1], before[2].blobs(), paths, before[3], max_size, fresh)
            before = (located, wanted, ahead, sizes)
        if before is not None:
            _rows(before[0], before[1], before[2].blobs(), paths, before[3], max_size, fresh)
    else:
        sizes = {}
        located = _direct(repo, list(todo), names, sizes)
        wanted = _wanted(located)
        _rows(located, wanted, _read_blobs(repo, wanted, sizes, max_size), paths, sizes, max_size, fresh)
    if known:
        known.put(fresh, listed=list(commits) if complete else None)
    if kept is not None:
        kept.update((commit, _as_json(row)) for commit, row in fresh.items())
    table.update(fresh)
    return table


def _wanted(located: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    """``{blob: the paths it is found at}`` of what ``located`` found."""
    wanted: dict[str, set[str]] = {}
    for found in located.values():
        for path, oid in found.items():
            wanted.setdefault(oid, set()).add(path)
    return wanted


class _Ahead:
    """``_read_blobs`` in a thread, started now: its gits run while the main thread
    parses what was read before (100k experiments: ~0.6 s of waiting for ``cat-file``
    gone).  ``blobs()`` waits for them and gives what they read, or raises what they did."""

    def __init__(self, repo: Repo, wanted: dict[str, set[str]], sizes: dict[str, int], max_size: int) -> None:
        import threading

        self.read: list[tuple[str, bytes]] = []
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._read, args=(repo, wanted, sizes, max_size), daemon=True,
                                       name="git-exp blobs")
        self.thread.start()

    def _read(self, repo: Repo, wanted, sizes, max_size) -> None:
        try:
            self.read = list(_read_blobs(repo, wanted, sizes, max_size))
        except BaseException as exc:  # a git that failed, or was stopped by an interrupt of the main thread
            self.failed = exc

    def blobs(self) -> list[tuple[str, bytes]]:
        self.thread.join()
        if self.failed is not None:
            raise self.failed
        read, self.read = self.read, []
        return read


def _rows(located: dict[str, dict[str, str]], wanted: dict[str, set[str]], blobs: Iterable[tuple[str, bytes]],
          paths: list[tuple[str, str]], sizes: dict[str, int], max_size: int, fresh: dict[str, dict[str, Any]]) -> None:
    """Put in ``fresh`` the row of each commit ``located`` finds files of (``{commit:
    {path: blob}}``): the ``blobs`` read of ``wanted`` (each distinct blob once) parsed and
    flattened."""
    parsed: dict[tuple[str, str], Any] = {}  # (blob, path) -> its value, or Unreadable
    flat: dict[tuple[str, str, str], Any] = {}  # (blob, path, kind) -> its flattened keys, or Unreadable
    kinds: dict[str, list[str]] = {}
    for kind, path in paths:
        kinds.setdefault(path, []).append(kind)
    for oid, data in blobs:
        for path in wanted[oid]:
            if path.endswith((".yaml", ".yml")) and _plain_cells(oid, path, kinds[path], data, flat):
                continue
            try:
                parsed[(oid, path)] = parse(path, data)
            except Unreadable as exc:
                parsed[(oid, path)] = exc
    plans: dict[tuple, list[tuple[str, str]]] = {}  # the paths a commit has -> (kind, path) in ``paths`` order
    for commit, found in located.items():
        row = fresh[commit] = {}
        have = tuple(found)
        plan = plans.get(have)
        if plan is None:
            plan = plans[have] = [(kind, path) for kind, path in paths if path in found]
        for kind, path in plan:
            oid = found[path]
            cells = flat.get((oid, path, kind))
            if cells is None:
                cells = flat[(oid, path, kind)] = _cells(kind, path, oid, parsed, sizes, max_size)
            if type(cells) is dict:
                row.update(cells)
                continue
            prior = row.get(kind)
            row[kind] = f"{prior}; {cells}" if ERRORS in row and str(prior).startswith("error: ") else f"error: {cells}"
            row.setdefault(ERRORS, []).append(str(cells))


def _plain_cells(oid: str, path: str, kinds: list[str], data: bytes, flat: dict) -> bool:
    """Put in ``flat`` the cells of a YAML file that ``plainyaml.load_flat`` reads (most
    params files: flattened as read, no nested value built); False for any other file."""
    from git_exp import plainyaml

    if len(data) > YAML_PLAIN_MAX:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    cells = [plainyaml.load_flat(text, kind, MAX_VALUES, MAX_DEPTH) for kind in kinds]
    if any(got is plainyaml.NOT_PLAIN for got in cells):
        return False
    for kind, got in zip(kinds, cells):
        flat[(oid, path, kind)] = got
    return True


def _cells(kind: str, path: str, oid: str, parsed: dict, sizes: dict[str, int], max_size: int) -> Any:
    """The row cells of one file, ``{"params.lr": 0.1, ...}``, or the Unreadable that stands for them."""
    if (oid, path) not in parsed:
        size = sizes.get(oid)
        return Unreadable(f"{path} cannot be read (object {oid} is missing)") if size is None else \
            too_large(path, size, max_size)
    value = parsed[(oid, path)]
    if isinstance(value, Unreadable):
        return value
    cells: dict[str, Any] = {}
    try:
        flatten(value, kind, cells, path)
    except Unreadable as exc:
        return exc
    return cells


def _direct(repo: Repo, commits: list[str], paths: list[str], sizes: dict[str, int]) -> dict[str, dict[str, str]]:
    """{commit: {path: blob}} by looking up every ``<commit>:<path>`` (one batch-check,
    which also puts each blob's size in ``sizes``)."""
    located: dict[str, dict[str, str]] = {c: {} for c in commits}
    queries = [(c, p) for c in commits for p in paths]
    if not queries:
        return located
    check = repo.run("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
                     input="".join(f"{c}:{p}\n" for c, p in queries)).out.splitlines()
    for (commit, path), line in zip(queries, check):
        oid, _, rest = line.partition(" ")
        kind, _, size = rest.partition(" ")
        if kind == "blob" and size.isdigit():
            located[commit][path] = oid
            sizes[oid] = int(size)
    return located


def _via_baselines(repo: Repo, commits: dict[str, Optional[str]], paths: list[str],
                   sizes: dict[str, int], changes: Changes | None = None) -> dict[str, dict[str, str]]:
    """{commit: {path: blob}}: the baselines' files, changed by each commit's diff to its
    baseline (``Changes``: ``changes`` if it covers them, else one of our own).

    Measured at 10k experiments over one baseline: 7 candidate paths looked up directly
    cost 0.92 s in ``cat-file --batch-check``; one ``diff-tree --stdin`` limited to those
    paths costs a fraction of that, since git compares top-level trees by hash.
    """
    if changes is None or not changes.covers(commits) or not set(paths) <= set(changes.paths):
        changes = Changes(repo, paths)
        changes.start(commits)
    base_files = _direct(repo, sorted({b for b in commits.values() if b}), paths, sizes)
    diffs = changes.parsed()
    wanted = set(paths)
    located = {}
    for commit, baseline in commits.items():
        found = dict(base_files.get(baseline, {})) if baseline else {}
        for path, change in diffs.get(commit, {}).items():
            if path not in wanted:
                continue
            if change is None:
                found.pop(path, None)
            else:
                found[path] = change[1]
        located[commit] = found
    return located


class Changes:
    """What changed in each experiment against its baseline (its first parent) at
    ``paths``, from one ``diff-tree --stdin --diff-merges=first-parent``: ``show`` asks it
    once for the params and metrics files and the metric histories (``history``), and
    git computes it in the background while Python reads the commits.

    ``start(commits)`` starts git for them, once (later calls do nothing); ``covers``
    says whether it was started for some commits; ``parsed()``: ``{commit: {path: (mode,
    blob) or None for deleted}}``, commits with no change left out; ``baselines``: what
    the caller knows of each commit's baseline (``history`` reads the baselines' files).
    Listing commits alone (git reads their parents) took 0.99 s at 100k here, commit and
    baseline pairs 1.67 s."""

    def __init__(self, repo: Repo, paths) -> None:
        self.repo, self.paths = repo, tuple(dict.fromkeys(paths))
        self.commits: set[str] | None = None
        self.baselines: dict[str, Optional[str]] = {}
        self.running = None
        self._parsed: dict[str, dict[str, Optional[tuple[str, str]]]] | None = None

    def start(self, commits) -> None:
        if self.commits is None:
            self.commits = set(commits)
            self.running = self.repo.start(
                "diff-tree", "--stdin", "--root", "-r", "-z", "--no-renames", "--diff-merges=first-parent", "--",
                *self.paths, input="".join(f"{commit}\n" for commit in self.commits)).background()

    def covers(self, commits) -> bool:
        """Whether git was started for every one of ``commits``."""
        return self.commits is not None and self.commits.issuperset(commits)

    def close(self) -> None:
        """Stop git if nobody asked for what it says; forget what it said."""
        if self.running is not None:
            self.running.kill()
            self.running = None
        self._parsed = None

    def parsed(self) -> dict[str, dict[str, Optional[tuple[str, str]]]]:
        if self._parsed is None:
            result = self.running.wait()
            raw = result.stdout.decode("utf-8", "surrogateescape")
            result.stdout = b""  # read once: not held twice
            self.running = None
            changes: dict[str, dict[str, Optional[tuple[str, str]]]] = {}
            current: dict[str, Optional[tuple[str, str]]] = {}
            tokens = raw.split("\0")
            del raw
            i, count = 0, len(tokens)
            while i < count:
                token = tokens[i]
                if token.startswith(":"):  # ":<old mode> <new mode> <old blob> <new blob> <status>", then the path
                    fields = token.split(" ")
                    current[tokens[i + 1]] = None if fields[4].startswith("D") else (fields[1], fields[3])
                    i += 2
                    continue
                if token:
                    current = changes.setdefault(token.strip(), {})
                i += 1
            self._parsed = changes
        return self._parsed


class RowCache:
    """Each commit's params and metrics, flattened (``cache``: a commit never changes).

    Rows are kept per configured file list and size limit (the cache key), and per version for changes
    in how files are read: a warm ``show`` over 10k experiments reads one small file
    instead of a 0.2-0.4 s ``diff-tree`` and fetching and parsing 20k YAML/JSON blobs
    (~1 s, with libyaml).  Values are stored after a JSON round trip, so a date reads
    back as the text ``--json`` prints.
    """

    def __init__(self, repo: Repo, paths: list[str], max_size: int = MAX_SIZE):
        self.where = where(repo)
        self.paths = list(paths) if max_size == MAX_SIZE else [*paths, max_size]  # the cache key
        self.known: dict[str, dict[str, Any]] = cache.load(self.where, self.paths)

    def rows(self, commits) -> dict[str, dict[str, Any]]:
        known = self.known
        return {c: dict(known[c]) for c in commits if c in known}

    def put(self, fresh: dict[str, dict[str, Any]], *, listed: list[str] | None = None) -> None:
        """Add ``fresh`` rows; ``listed``: every commit an experiment names now (see ``cache.save``)."""
        if not fresh:
            return
        self.known.update({commit: _as_json(row) for commit, row in fresh.items()})
        cache.save(self.where, self.known, self.paths, listed=listed)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as it reads back from JSON (``json.loads(json.dumps(row, default=str))``:
    a date becomes its text), round-tripped only when a value is not a JSON scalar
    already (10k rows of scalars: 96 ms of a 1.6 s cold ``show`` for nothing)."""
    if _SCALARS.issuperset(map(type, row.values())):
        return row
    import json

    return json.loads(json.dumps(row, default=str))


def where(repo: Repo) -> cache.Where:
    """The facts' section of params and metrics (a commit's files are its tree's: the same
    in a shallow clone)."""
    return cache.at(repo.common_dir, "files")


def read_blobs(repo: Repo, oids: Iterable[str], sizes: dict[str, int], max_size: int) -> Iterator[tuple[str, bytes]]:
    """``_read_blobs`` for other readers of files from many commits (``history``)."""
    return _read_blobs(repo, oids, sizes, max_size)


def _read_blobs(repo: Repo, oids: Iterable[str], sizes: dict[str, int], max_size: int) -> Iterator[tuple[str, bytes]]:
    """``(blob, its content)`` for each of ``oids`` no larger than ``max_size``: sizes not in
    ``sizes`` (blobs that ``diff-tree`` found) are asked first of one ``cat-file
    --batch-check``, so a larger blob is never read; the rest come from ``cat-file --batch``,
    one per READ_CHUNK bytes, so that no more than that is held at once."""
    unknown = [oid for oid in oids if oid not in sizes]
    if unknown:  # a line per blob, in order ("<oid> missing" for one not there)
        said = repo.run("cat-file", "--batch-check=%(objectsize)", input="".join(f"{o}\n" for o in unknown)).out
        for oid, size in zip(unknown, said.splitlines()):
            if size.isdigit():
                sizes[oid] = int(size)
    order = sorted(oid for oid in oids if sizes.get(oid, max_size + 1) <= max_size)
    while order:
        chunk, total = [], 0
        while order and (not chunk or total + sizes[order[-1]] <= READ_CHUNK):
            chunk.append(order.pop())
            total += sizes[chunk[-1]]
        for oid, got in zip(chunk, repo.objects(chunk)):
            if got is not None:  # else gone since the batch-check
                yield oid, got[1]
