"""`git exp show REMOTE` and `diff REMOTE/NAME`: a remote's experiments seen without
pulling them (git_exp/peek.py), over real http and ssh servers with filters on and off.

What is checked through real git: the user's refs and .git/config are byte for byte
what they were (no ref, no promisor setting), `git fsck` is clean, the model blob is in
neither the user's objects nor git-exp's store when the server allows filters, a second
`show` fetches nothing, and after a real `pull` the remote-tracking rows of `show -r`
equal what `show REMOTE` gave.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import assert_error, git, init_repo, write
from .server_fixtures import HOST, Remote, free_port

FILES = {"README": "hello\n", "params.yaml": "lr: 0.1\n"}


def serve_filters(remote: Remote, on: bool) -> None:
    """What the served bare repository allows: filters and objects by id (as GitHub)."""
    git(remote.path, "config", "uploadpack.allowFilter", "true" if on else "false")
    git(remote.path, "config", "uploadpack.allowAnySHA1InWant", "true" if on else "false")


def producer(remote: Remote, root: Path, exp, count: int = 3) -> dict[str, str]:
    """Push ``count`` experiments, each with params, metrics, a history and its own
    model file; return {name: model blob id}."""
    repo = init_repo(root / "runner", files=dict(FILES))
    remote.configure(repo)
    git(repo, "push", "-q", "-u", "origin", "main")
    models = {}
    for i in range(1, count + 1):
        write(repo, {"params.yaml": f"lr: 0.{i}\n", "metrics.json": json.dumps({"acc": i / 10}) + "\n",
                     "metrics.jsonl": "".join(json.dumps({"step": s, "loss": 1 / (s + i)}) + "\n" for s in range(3))})
        (repo / "model.bin").write_bytes(os.urandom(64 << 10))
        assert exp("save", "-n", f"e{i}", cwd=repo).code == 0
        models[f"e{i}"] = git(repo, "rev-parse", f"refs/exp/e{i}:model.bin").strip()
    assert exp("push", "origin", "--all", cwd=repo).code == 0
    return models


def store(repo: Path) -> Path:
    return repo / ".git" / "git-exp" / "peek" / "objects"


def in_store(repo: Path, oid: str) -> bool:
    env = {**os.environ, "GIT_OBJECT_DIRECTORY": str(store(repo))}
    return subprocess.run(["git", "cat-file", "-e", oid], cwd=repo, env=env, capture_output=True).returncode == 0


def packs(repo: Path) -> list[str]:
    where = store(repo) / "pack"
    return sorted(os.listdir(where)) if where.exists() else []


def state(repo: Path) -> tuple[str, bytes]:
    """Every ref and the config file: what `show REMOTE` must leave as it was."""
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)"), (repo / ".git" / "config").read_bytes()


def rows(ran) -> list[dict]:
    """The rows of `show --json`, by name (show puts the newest first)."""
    assert ran.code == 0, ran
    return sorted(json.loads(ran.out), key=lambda row: row["name"])


@pytest.mark.parametrize("transport", ["http", "ssh"])
@pytest.mark.parametrize("filters", [True, False], ids=["filters-on", "filters-off"])
def test_show_remote_fetches_only_what_the_table_needs(transport, filters, request, tmp_path, exp):
    remote = request.getfixturevalue(f"{transport}_remote")
    serve_filters(remote, filters)
    models = producer(remote, tmp_path, exp)
    laptop = remote.clone(tmp_path / "laptop")
    before = state(laptop)

    ran = exp("show", "origin", "--json", cwd=laptop)
    seen = rows(ran)
    assert [(r["name"], r["remote"]) for r in seen] == [("e1", "origin"), ("e2", "origin"), ("e3", "origin")]
    assert [(r["params.lr"], r["metrics.acc"]) for r in seen] == [(0.1, 0.1), (0.2, 0.2), (0.3, 0.3)]
    assert all("metrics.loss" in r for r in seen)  # the history file came too
    assert state(laptop) == before  # no ref, no remote-tracking ref, no promisor config
    git(laptop, "fsck", "--no-progress")
    for oid in models.values():
        assert not subprocess.run(["git", "cat-file", "-e", oid], cwd=laptop).returncode == 0
        assert in_store(laptop, oid) is not filters  # with filters the model never came
    note = "origin does not allow filtered fetches (uploadpack.allowFilter): fetched 3 experiments whole"
    assert (note in ran.err) is not filters and ran.err.count("git-exp:") == (0 if filters else 1), ran.err

    fetched = packs(laptop)
    again = exp("show", "origin", "--json", cwd=laptop)
    assert rows(again) == seen and again.err == ""  # cached: nothing fetched, nothing said
    assert packs(laptop) == fetched

    assert exp("pull", "origin", "--all", cwd=laptop).code == 0
    for cached in (laptop / ".git" / "git-exp").glob("facts"):
        cached.unlink()  # show -r reads the pulled experiments afresh, not what show origin cached
    pulled = [r for r in rows(exp("show", "-r", "--json", cwd=laptop)) if r["remote"] == "origin"]
    assert pulled == seen
    assert all(subprocess.run(["git", "cat-file", "-e", oid], cwd=laptop).returncode == 0 for oid in models.values())
    git(laptop, "fsck", "--no-progress")


def test_show_remote_new_experiments_and_patterns(file_remote, tmp_path, exp):
    serve_filters(file_remote, True)
    producer(file_remote, tmp_path, exp, count=2)
    laptop = file_remote.clone(tmp_path / "laptop")
    assert [r["name"] for r in rows(exp("show", "origin", "e2", "--json", cwd=laptop))] == ["e2"]
    runner = tmp_path / "runner"
    write(runner, {"params.yaml": "lr: 0.9\n"})
    assert exp("save", "-n", "late", cwd=runner).code == 0
    assert exp("push", "origin", "late", cwd=runner).code == 0
    before = packs(laptop)
    table = rows(exp("show", "--remote", "origin", "--json", cwd=laptop))
    assert [r["name"] for r in table] == ["e1", "e2", "late"] and table[2]["params.lr"] == 0.9
    assert len(packs(laptop)) > len(before)  # e1 and late fetched now
    ran = exp("show", "origin", "--where", "params.lr > 0.5", "--md", cwd=laptop)
    assert ran.code == 0 and "origin/late" in ran.out and "origin/e1" not in ran.out


def test_show_remote_by_url_and_a_local_experiment_named_like_the_remote(file_remote, tmp_path, exp):
    serve_filters(file_remote, True)
    producer(file_remote, tmp_path, exp, count=1)
    laptop = file_remote.clone(tmp_path / "laptop")
    by_url = rows(exp("show", file_remote.url, "--json", cwd=laptop))
    assert [(r["name"], r["remote"]) for r in by_url] == [("e1", file_remote.url)]
    assert [r["name"] for r in rows(exp("show", str(file_remote.path), "--json", cwd=laptop))] == ["e1"]
    for pattern in ("..", "e1:model.bin", "/nowhere"):  # no repository there: a pattern, never contacted
        assert_error(exp("show", pattern, cwd=laptop), 2, repr(pattern))
    write(laptop, {"params.yaml": "lr: 5\n"})
    assert exp("save", "-n", "origin", cwd=laptop).code == 0
    local = rows(exp("show", "origin", "--json", cwd=laptop))
    assert [(r["name"], r["remote"], r["params.lr"]) for r in local] == [("origin", None, 5)]
    remote_rows = rows(exp("show", "--remote", "origin", "--json", cwd=laptop))
    assert [(r["name"], r["remote"]) for r in remote_rows] == [("e1", "origin")]


def test_diff_of_a_remote_experiment_not_fetched(http_remote, tmp_path, exp):
    serve_filters(http_remote, True)
    models = producer(http_remote, tmp_path, exp, count=2)
    laptop = http_remote.clone(tmp_path / "laptop")
    before = state(laptop)
    ran = exp("diff", "origin/e2", "--json", cwd=laptop)
    assert ran.code == 0, ran
    changes = {c["key"]: (c["a"], c["b"]) for c in json.loads(ran.out)["changes"]}
    assert changes["params.lr"] == (0.2, 0.1) and changes["metrics.acc"] == (0.2, None)
    both = exp("diff", "origin/e2", "origin/e1", "--json", cwd=laptop)
    assert {c["key"]: (c["a"], c["b"]) for c in json.loads(both.out)["changes"]}["params.lr"] == (0.2, 0.1)
    assert state(laptop) == before and not in_store(laptop, models["e2"])
    assert_error(exp("diff", "origin/e2", "--stat", cwd=laptop), 2, "--stat needs 'origin/e2'")
    assert_error(exp("diff", "origin/ghost", cwd=laptop), 2, "no experiment named 'origin/ghost', local or remote-tracking")
    assert exp("diff", "origin/e2", "origin/main", cwd=laptop).code == 0  # a branch: no remote asked
    assert state(laptop) == before


def test_show_remote_errors_are_one_line_and_leave_nothing(file_remote, tmp_path, exp):
    serve_filters(file_remote, True)
    producer(file_remote, tmp_path, exp, count=1)
    laptop = file_remote.clone(tmp_path / "laptop")
    git(laptop, "remote", "add", "dead", f"git://{HOST}:{free_port()}/nowhere.git")
    before = state(laptop)
    assert_error(exp("show", "--remote", "nope", cwd=laptop), 2, "no remote named 'nope'")
    assert_error(exp("show", "origin", "ghost", cwd=laptop), 2,
                 "origin has no experiment matching 'ghost' — `git exp ls origin` lists them")
    assert_error(exp("show", "origin", "-r", cwd=laptop), 2, "-r shows experiments fetched or archived here")
    ran = exp("show", "dead", cwd=laptop)
    assert ran.code == 1 and ran.out == "" and "Traceback" not in ran.err
    first, *rest = ran.err.splitlines()
    assert first.startswith("git-exp: error: listing experiments on dead") and "cannot be reached" in first
    assert all(line.startswith("    ") for line in rest)
    assert state(laptop) == before and not (laptop / ".git" / "git-exp" / "peek").exists()


def test_a_server_that_refuses_objects_by_id_gets_them_whole(file_remote, tmp_path, exp):
    """Protocol v0 without uploadpack.allowAnySHA1InWant: the blobs cannot be asked for."""
    git(file_remote.path, "config", "uploadpack.allowFilter", "true")
    models = producer(file_remote, tmp_path, exp, count=2)
    laptop = file_remote.clone(tmp_path / "laptop")
    git(laptop, "config", "protocol.version", "0")
    before = state(laptop)
    ran = exp("show", "origin", "--json", cwd=laptop)
    assert [r["metrics.acc"] for r in rows(ran)] == [0.1, 0.2]
    assert ran.err == ("git-exp: note: origin does not serve objects by id (uploadpack.allowAnySHA1InWant): "
                       "fetched 2 experiments whole, with all their files, into git-exp's store "
                       "(no ref or experiment was created)\n")
    assert all(in_store(laptop, oid) for oid in models.values())
    assert state(laptop) == before


def test_gc_deletes_the_store_and_show_fetches_again(file_remote, tmp_path, exp):
    serve_filters(file_remote, True)
    producer(file_remote, tmp_path, exp, count=1)
    laptop = file_remote.clone(tmp_path / "laptop")
    seen = rows(exp("show", "origin", "--json", cwd=laptop))
    stored = packs(laptop)
    git(laptop, "gc", "-q", "--prune=now")  # git's own gc neither sees nor breaks the store
    git(laptop, "fsck", "--no-progress")
    assert packs(laptop) == stored and rows(exp("show", "origin", "--json", cwd=laptop)) == seen
    assert exp("gc", cwd=laptop).code == 0
    assert not (laptop / ".git" / "git-exp" / "peek").exists()
    assert rows(exp("show", "origin", "--json", cwd=laptop)) == seen and packs(laptop)


@pytest.mark.once
def test_completion_offers_remotes_first_for_show(file_remote, tmp_path, exp):
    producer(file_remote, tmp_path, exp, count=1)
    laptop = file_remote.clone(tmp_path / "laptop")
    offered = [line.split("\t")[0] for line in exp("__complete", "--", "show", "", cwd=laptop).out.splitlines()]
    assert "origin" in offered
    offered = [line.split("\t")[0] for line in exp("__complete", "--", "show", "--remote", "", cwd=laptop).out.splitlines()]
    assert offered == ["origin"]


def test_show_remote_finds_histories_from_the_diff_it_reads_anyway(file_remote, tmp_path, exp, monkeypatch):
    """More than ``results.DIRECT_MAX`` remote experiments: the metric histories are found
    from the one ``diff-tree`` against the baselines that the params and metrics are read
    with (its baseline's files looked up, not every path of every experiment), and the
    rows are the rows read by looking every path up."""
    from git_exp import history, results

    serve_filters(file_remote, True)
    count = results.DIRECT_MAX + 4
    producer(file_remote, tmp_path, exp, count=count)
    laptop = file_remote.clone(tmp_path / "laptop")
    asked = []
    real = history._locate
    monkeypatch.setattr(history, "_locate", lambda repo_, shas, paths: asked.append(len(shas)) or real(repo_, shas, paths))
    table = rows(exp("show", "origin", "--json", cwd=laptop))
    assert len(table) == count and asked == [1]  # the one baseline
    assert {r["name"]: r["metrics.loss"] for r in table}["e1"] == 1 / 3  # a history's last step
    monkeypatch.setattr(results, "DIRECT_MAX", 10**6)  # every path looked up, no cache
    assert exp("gc", cwd=laptop).code == 0
    assert rows(exp("show", "origin", "--json", cwd=laptop)) == table and asked[-1] == count
