"""Params and metrics: which files hold them, and reading them from many commits at once.

Files come from git config ``exp.params`` / ``exp.metrics`` (multi-valued paths), else
``params.{yaml,yml,json,toml}`` and ``metrics.{json,yaml,yml}`` at the top level.
Reading N experiments costs two git processes whatever N is: one
``cat-file --batch-check`` resolving every ``<commit>:<path>`` to a blob, then one
``cat-file --batch`` reading each distinct blob once.  Nested keys flatten with dots.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from git_exp.repo import Repo

DEFAULT_PARAMS = ("params.yaml", "params.yml", "params.json", "params.toml")
DEFAULT_METRICS = ("metrics.json", "metrics.yaml", "metrics.yml")
KINDS = ("params", "metrics")


def configured_files(repo: Repo) -> dict[str, tuple[str, ...]]:
    result = repo.run("config", "--get-regexp", r"^exp\.(params|metrics)$", check=False)
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
        return json.loads(text)
    if path.endswith(".toml"):
        try:
            import tomllib
        except ImportError:  # Python < 3.11
            import tomli as tomllib  # type: ignore[no-redef]
        return tomllib.loads(text)
    import yaml

    return yaml.safe_load(text)


def flatten(value: Any, prefix: str, into: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), into)
    else:
        into[prefix] = value


def read(repo: Repo, commits: Iterable[str], files: dict[str, tuple[str, ...]] | None = None) -> dict[str, dict[str, Any]]:
    """``{commit: {"params.lr": 0.1, "metrics.acc": 0.9, ...}}``; unparsable files give an error cell."""
    files = files or configured_files(repo)
    commits = list(dict.fromkeys(commits))
    queries = [(c, kind, path) for c in commits for kind in KINDS for path in files[kind]]
    table: dict[str, dict[str, Any]] = {c: {} for c in commits}
    if not queries:
        return table
    check = repo.run("cat-file", "--batch-check=%(objectname) %(objecttype)",
                     input="".join(f"{c}:{p}\n" for c, _, p in queries)).out.splitlines()
    blobs = {}
    for (commit, kind, path), line in zip(queries, check):
        oid, _, kind_of = line.partition(" ")
        if kind_of == "blob":
            blobs[(commit, kind, path)] = oid
    contents = _read_blobs(repo, set(blobs.values()))
    parsed: dict[tuple[str, str], Any] = {}
    for (commit, kind, path), oid in blobs.items():
        key = (oid, path)
        if key not in parsed:
            try:
                parsed[key] = ("ok", parse(path, contents[oid]))
            except Exception as exc:  # any parser error becomes an error cell
                parsed[key] = ("error", f"error: {path} does not parse ({type(exc).__name__})")
        state, value = parsed[key]
        row = table[commit]
        if state == "error":
            row[kind] = value
        elif isinstance(value, dict):
            flatten(value, kind, row)
        else:
            row[kind] = value
    return table


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
