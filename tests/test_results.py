"""Reading params and metrics for many experiments: strategies agree, the cache is exact."""
import json
import os
from pathlib import Path

import pytest

from git_exp import cache, results
from git_exp.repo import Repo

from .conftest import commit_all, git, write


def make_many(repo, exp, n=40):
    """n experiments over two baselines; some change, add, delete or break files."""
    for i in range(n):
        if i == n // 2:
            write(repo, {"params.yaml": "lr: 9\nnested:\n  a: 1\n"})
            commit_all(repo, "new baseline")
        files = {"params.yaml": f"lr: {i}\n", "metrics.json": json.dumps({"acc": i / n})}
        if i % 5 == 0:
            files["metrics.json"] = "{broken"
        if i % 7 == 0:
            files["params.toml"] = f"[opt]\nmomentum = {i}\n"
        write(repo, files)
        if i % 9 == 0:
            (repo / "params.yaml").unlink()
        exp("save", "-n", f"e{i}")
        git(repo, "checkout", "-q", "--", ".")
        git(repo, "clean", "-qfd")
    return Repo(repo)


def test_diff_tree_strategy_matches_direct_lookups(repo, exp):
    r = make_many(repo, exp)
    exps = r.list()
    by_baseline = results.read(r, {e.sha: e.baseline for e in exps})
    direct = results.read(r, [e.sha for e in exps])
    assert by_baseline == direct
    assert any("metrics" in row and row["metrics"].startswith("error:") for row in direct.values())
    assert any("params.opt.momentum" in row for row in direct.values())
    assert any("params.lr" not in row for row in direct.values())  # deleted params.yaml


def test_cache_gives_the_same_answers_and_follows_config(repo, exp, monkeypatch):
    r = make_many(repo, exp, n=80)
    exps = {e.sha: e.baseline for e in r.list()}
    first = results.read(r, exps)
    cache.flush()
    assert "files" in cache.sections(r.common_dir)
    assert results.read(r, exps) == first  # warm
    git(repo, "config", "--add", "exp.params", "params.toml")
    only_toml = results.read(r, exps)  # the file list changed: located anew
    assert all({k for k in row if k.startswith("params")} <= {"params.opt.momentum"} for row in only_toml.values())
    assert any("params.opt.momentum" in row for row in only_toml.values())
    cache.flush()
    Path(cache.path(r.common_dir)).write_text("{not json")  # a damaged cache is ignored
    git(repo, "config", "--unset-all", "exp.params")
    assert results.read(r, exps) == first


def test_gc_clears_the_caches(repo, exp):
    r = make_many(repo, exp, n=40)
    exp("show", "--json")
    exp("ls")
    exp("show", "--json")  # warm: the heads are read
    assert {"heads", "commits", "files", "history"} <= set(cache.sections(r.common_dir))
    assert os.listdir(os.path.dirname(cache.path(r.common_dir))) == [cache.NAME]  # one file
    exp("gc")
    assert not os.path.exists(cache.path(r.common_dir)) and cache.sections(r.common_dir) == []


@pytest.mark.parametrize("damage", [b"", b"\xff\x00garbage", b"N", "marshal-list"])
def test_a_damaged_or_foreign_commit_cache_is_ignored_and_rewritten(repo, exp, damage):
    import marshal

    make_many(repo, exp, n=6)
    cold = exp("ls", "--json").out
    where = os.path.join(repo, ".git", "git-exp", cache.NAME)
    Path(where).write_bytes(marshal.dumps([1, 2]) if damage == "marshal-list" else damage)
    assert exp("ls", "--json").out == cold
    assert cache.load(cache.at(os.path.join(repo, ".git"), "commits")) != {}  # rewritten
    assert exp("ls", "--json").out == cold


def test_cache_files_drop_deleted_experiments_once_they_outnumber_the_live(tmp_path):
    where = cache.at(str(tmp_path), "x")
    data = {f"{i:040x}": (i,) for i in range(1300)}
    live = [f"{i:040x}" for i in range(0, 1300, 13)]  # 100
    cache.save(where, dict(data), "k", listed=live[:-1] + ["f" * 40])
    cache.flush()
    assert cache.load(where, "k") == {sha: data[sha] for sha in live[:-1]}
    cache.save(where, dict(data), "k", listed=live * 2)  # 1300 <= 2 * 200 + 1000: kept whole
    cache.flush()
    assert cache.load(where, "k") == data
    assert cache.load(where, "other") == {} and cache.load(cache.at(str(tmp_path), "y"), "k") == {}
    assert os.listdir(tmp_path / "git-exp") == [cache.NAME]  # no temporary file left


def test_a_cache_that_cannot_be_written_costs_time_only(repo, exp):
    make_many(repo, exp, n=6)
    blocker = repo / ".git" / "git-exp"
    blocker.write_text("a file where the cache directory would be")
    cold = exp("ls", "--json")
    assert cold.code == 0 and len(json.loads(cold.out)) == 6
    assert exp("show", "--json").code == 0 and exp("ls", "--json").out == cold.out
    assert blocker.read_text() == "a file where the cache directory would be"


def test_a_shallow_clone_keeps_no_commit_cache_and_shows_parents_once_it_deepens(repo, exp, tmp_path):
    """At a shallow clone's boundary git hides a commit's parents, and shows them once it
    deepens: ls there must ask git every time."""
    head = git(repo, "rev-parse", "HEAD").strip()
    write(repo, {"params.yaml": "lr: 1\n"})
    assert exp("save", "-n", "x").code == 0
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    git(shallow, "fetch", "-q", "--depth", "1", "origin", "refs/exp/x:refs/exp/x")
    assert json.loads(exp("ls", "--json", cwd=shallow).out)[0]["baseline"] is None
    assert exp("show", "--json", cwd=shallow).code == 0
    assert not {"commits", "heads", "lines"} & set(cache.sections(str(shallow / ".git")))
    git(shallow, "fetch", "-q", "--unshallow", "origin", "refs/exp/x:refs/exp/x")
    assert json.loads(exp("ls", "--json", cwd=shallow).out)[0]["baseline"] == head
    assert json.loads(exp("show", "--json", cwd=shallow).out)[0]["baseline"] == head


def test_cached_rows_read_back_as_json_wrote_them(repo, exp):
    """Dates, lists and nested values: a warm show --json writes what the cold one did,
    and values already plain are stored as they are."""
    from tests.bench.fixtures import import_commits

    head = git(repo, "rev-parse", "HEAD").strip()
    import_commits(repo, os.environ, head, [
        (f"refs/exp/e{i:02d}", "git exp save", {
            "params.yaml": f"lr: {i}\nwhen: 2024-01-{i % 28 + 1:02d}\nlayers: [1, {i}]\nname: run-{i}\n".encode(),
            "metrics.json": json.dumps({"acc": i / 40, "nan": None}).encode()}) for i in range(40)])
    cold = exp("show", "--json").out
    row = {r["name"]: r for r in json.loads(cold)}["e03"]
    assert row["params.when"] == "2024-01-04" and row["params.layers"] == [1, 3]
    stored = cache.load(results.where(Repo(repo)), [*results.DEFAULT_PARAMS, *results.DEFAULT_METRICS])
    assert sorted(row["params.when"] for row in stored.values())[:2] == ["2024-01-01", "2024-01-01"]
    assert exp("show", "--json").out == cold
    assert results._as_json({"a": 1, "b": "x", "c": None, "d": 1.5, "e": True}) == {"a": 1, "b": "x", "c": None, "d": 1.5, "e": True}


def test_a_full_show_drops_rows_of_deleted_experiments_a_selective_one_keeps_them(repo, exp):
    r = make_many(repo, exp, n=40)
    paths = [*results.DEFAULT_PARAMS, *results.DEFAULT_METRICS]
    dead = {f"{i:040x}": {"params.lr": i} for i in range(1200)}  # rows of experiments long deleted
    cache.save(results.where(r), dict(dead), paths)
    cache.flush()
    assert exp("show", "--json", "e[0-3]*").code == 0  # 34 of 40, a selection: the dead rows stay
    assert dead.keys() <= cache.load(results.where(r), paths).keys()
    assert exp("show", "--json").code == 0  # every experiment: only theirs are kept
    kept = cache.load(results.where(r), paths)
    assert kept.keys() == set(git(repo, "for-each-ref", "--format=%(objectname)", "refs/exp/").split())
