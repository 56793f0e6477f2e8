"""Params and metrics: which files hold them, and reading them from many commits at once.

Files come from git config ``exp.params`` / ``exp.metrics`` (multi-valued paths), else
``params.{yaml,yml,json,toml}`` and ``metrics.{json,yaml,yml}`` at the top level.
Reading N experiments costs three git processes whatever N is: the candidate files of
the (few) distinct baselines by ``cat-file --batch-check``, one ``diff-tree --stdin``
of every experiment against its baseline restricted to those paths, then one
``cat-file --batch`` reading each distinct blob once; and once read, a commit's row
is cached (``RowCache``).  Nested keys flatten with dots.
"""
from __future__ import annotations

from git_exp import cache
from git_exp.repo import Repo

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing and pathlib cost ~8 ms at start-up here
    from typing import Any, Iterable, Mapping, Optional, Union

    Commits = Union[Iterable[str], Mapping[str, Optional[str]]]

DEFAULT_PARAMS = ("params.yaml", "params.yml", "params.json", "params.toml")
DEFAULT_METRICS = ("metrics.json", "metrics.yaml", "metrics.yml")
KINDS = ("params", "metrics")
DIRECT_MAX = 16  # up to this many commits, look every path up directly
CACHE_MIN = 32  # from this many commits on, use the row cache


FILES_CONFIG = ("config", "--get-regexp", r"^exp\.(params|metrics)$")


def start_files():
    """Start the ``git config`` ``configured_files`` reads, here, before the repository
    has been looked at (it needs nothing from it)."""
    from git_exp import git

    return git.start(*FILES_CONFIG)


def configured_files(repo: Repo, running=None) -> dict[str, tuple[str, ...]]:
    """The params and metrics files; ``running`` is ``start_files``'s git, if started."""
    result = (running or repo.start(*FILES_CONFIG)).wait(check=False)
    files: dict[str, list[str]] = {"params": [], "metrics": []}
    for line in result.out.splitlines():
        key, _, value = line.partition(" ")
        files[key.split(".", 1)[1].lower()].append(value.strip().lstrip("/"))
    return {
        "params": tuple(files["params"]) or DEFAULT_PARAMS,
        "metrics": tuple(files["metrics"]) or DEFAULT_METRICS,
    }


def parse(path: str, data: bytes) -> Any:
    text = data.decode("utf-8")
    if path.endswith(".json"):
        import json

        return json.loads(text)
    if path.endswith(".toml"):
        try:
            import tomllib
        except ImportError:  # Python < 3.11
            import tomli as tomllib  # type: ignore[no-redef]
        return tomllib.loads(text)
    import yaml

    # libyaml's parser when PyYAML was built with it: ~10x faster over 10k small files.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def flatten(value: Any, prefix: str, into: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), into)
    else:
        into[prefix] = value


UNKNOWN = "?"  # baseline marker: a commit given without its baseline


def read(repo: Repo, commits: Commits, files: dict[str, tuple[str, ...]] | None = None, *,
         complete: bool = False) -> dict[str, dict[str, Any]]:
    """``{commit: {"params.lr": 0.1, "metrics.acc": 0.9, ...}}``; unparsable files give an error cell.

    ``commits`` may map each commit to its baseline (None for a root commit): then the
    files are found from the baselines plus one ``diff-tree`` of every experiment
    against its baseline, instead of looking up every candidate path in every commit.
    ``complete``: they are every experiment there is, so the row cache may drop others.
    """
    if not hasattr(commits, "items"):
        commits = {c: UNKNOWN for c in commits}
    files = files or configured_files(repo)
    paths = [(kind, path) for kind in KINDS for path in files[kind]]
    names = [p for _, p in paths]
    known = RowCache(repo, names) if len(commits) > CACHE_MIN else None
    table = known.rows(commits) if known else {}
    todo = {c: b for c, b in commits.items() if c not in table}
    if len(todo) > DIRECT_MAX and all(b != UNKNOWN for b in todo.values()):
        located = _via_baselines(repo, todo, names)
    else:
        located = _direct(repo, list(todo), names)
    wanted = {(oid, path) for found in located.values() for path, oid in found.items()}
    contents = _read_blobs(repo, {oid for oid, _ in wanted})
    parsed: dict[tuple[str, str], tuple[str, Any]] = {}
    for oid, path in wanted:
        try:
            parsed[(oid, path)] = ("ok", parse(path, contents[oid]))
        except Exception as exc:  # any parser error becomes an error cell
            parsed[(oid, path)] = ("error", f"error: {path} does not parse ({type(exc).__name__})")
    fresh: dict[str, dict[str, Any]] = {}
    for commit, found in located.items():
        row = fresh[commit] = {}
        for kind, path in paths:
            oid = found.get(path)
            if oid is None:
                continue
            state, value = parsed[(oid, path)]
            if state == "error":
                row[kind] = value
            elif isinstance(value, dict):
                flatten(value, kind, row)
            else:
                row[kind] = value
    if known:
        known.put(fresh, listed=list(commits) if complete else None)
    table.update(fresh)
    return table


def _direct(repo: Repo, commits: list[str], paths: list[str]) -> dict[str, dict[str, str]]:
    """{commit: {path: blob}} by looking up every ``<commit>:<path>`` (one batch-check)."""
    located: dict[str, dict[str, str]] = {c: {} for c in commits}
    queries = [(c, p) for c in commits for p in paths]
    if not queries:
        return located
    check = repo.run("cat-file", "--batch-check=%(objectname) %(objecttype)",
                     input="".join(f"{c}:{p}\n" for c, p in queries)).out.splitlines()
    for (commit, path), line in zip(queries, check):
        oid, _, kind = line.partition(" ")
        if kind == "blob":
            located[commit][path] = oid
    return located


def _via_baselines(repo: Repo, commits: dict[str, Optional[str]], paths: list[str]) -> dict[str, dict[str, str]]:
    """{commit: {path: blob}}: the baselines' files, changed by each commit's diff to its baseline.

    Measured at 10k experiments over one baseline: 7 candidate paths looked up directly
    cost 0.92 s in ``cat-file --batch-check``; one ``diff-tree --stdin`` limited to those
    paths costs a fraction of that, since git compares top-level trees by hash.
    """
    base_files = _direct(repo, sorted({b for b in commits.values() if b}), paths)
    lines = [f"{c} {b}" if b else c for c, b in commits.items()]
    raw = repo.run("diff-tree", "--stdin", "--root", "-r", "-z", "--no-renames", "--", *paths,
                   input="".join(f"{line}\n" for line in lines)).stdout.decode("utf-8", "surrogateescape")
    changes: dict[str, dict[str, Optional[str]]] = {}
    current: dict[str, Optional[str]] = {}
    tokens = raw.split("\0")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith(":"):
            new_oid, status = token.split()[3], token.split()[4]
            current[tokens[i + 1]] = None if status.startswith("D") else new_oid
            i += 2
            continue
        if token:
            current = changes.setdefault(token.strip(), {})
        i += 1
    located = {}
    for commit, baseline in commits.items():
        found = dict(base_files.get(baseline, {})) if baseline else {}
        for path, oid in changes.get(commit, {}).items():
            if oid is None:
                found.pop(path, None)
            else:
                found[path] = oid
        located[commit] = found
    return located


class RowCache:
    """Each commit's params and metrics, flattened (``cache``: a commit never changes).

    Rows are kept per configured file list (the cache key), and per version for changes
    in how files are read: a warm ``show`` over 10k experiments reads one small file
    instead of a 0.2-0.4 s ``diff-tree`` and fetching and parsing 20k YAML/JSON blobs
    (~1 s, with libyaml).  Values are stored after a JSON round trip, so a date reads
    back as the text ``--json`` prints.
    """

    VERSION = 5

    def __init__(self, repo: Repo, paths: list[str]):
        self.path = cache_path(repo)
        self.paths = list(paths)
        self.known: dict[str, dict[str, Any]] = cache.load(self.path, self.VERSION, self.paths)

    def rows(self, commits) -> dict[str, dict[str, Any]]:
        known = self.known
        return {c: dict(known[c]) for c in commits if c in known}

    def put(self, fresh: dict[str, dict[str, Any]], *, listed: list[str] | None = None) -> None:
        """Add ``fresh`` rows; ``listed``: every commit an experiment names now (see ``cache.save``)."""
        if not fresh:
            return
        self.known.update({commit: _as_json(row) for commit, row in fresh.items()})
        cache.save(self.path, self.VERSION, self.known, self.paths, listed=listed)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as it reads back from JSON (``json.loads(json.dumps(row, default=str))``:
    a date becomes its text), round-tripped only when a value is not a JSON scalar
    already (10k rows of scalars: 96 ms of a 1.6 s cold ``show`` for nothing)."""
    if _SCALARS.issuperset(map(type, row.values())):
        return row
    import json

    return json.loads(json.dumps(row, default=str))


def cache_path(repo: Repo) -> str:
    return cache.path(repo.common_dir, "rows.marshal")


def _read_blobs(repo: Repo, oids: set[str]) -> dict[str, bytes]:
    if not oids:
        return {}
    order = sorted(oids)
    raw = repo.run("cat-file", "--batch", input="".join(f"{o}\n" for o in order)).stdout
    found, pos = {}, 0
    for _ in order:
        end = raw.index(b"\n", pos)
        oid, _kind, size = raw[pos:end].decode().split(" ")
        start = end + 1
        found[oid] = raw[start:start + int(size)]
        pos = start + int(size) + 1
    return found
