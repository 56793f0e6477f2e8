"""Naming experiments everywhere one is expected: versions (NAME~N, NAME^) and REMOTE/NAME.

Versions are made by real `save --append`; remote-tracking experiments by a real pull
from a bare remote.  Every sha a command reports is checked against what git itself
says of the refs (`rev-parse refs/exp/NAME^2`), and every refused name leaves the refs
as they were.
"""
from __future__ import annotations

import json

import pytest

from .conftest import assert_error, bare_remote, commit_all, exp_refs, git, init_repo, write


def all_refs(repo) -> str:
    return git(repo, "for-each-ref", "--format=%(objectname) %(refname)")


@pytest.fixture
def versions(repo, exp):
    """Experiment `a` with three versions, accuracies 0.1 (a~2), 0.2 (a~1), 0.3 (a)."""
    accs = (0.1, 0.2, 0.3)
    for i, acc in enumerate(accs):
        write(repo, {"metrics.json": json.dumps({"acc": acc}), "model.txt": f"model {i}\n"})
        ran = exp("save", "-n", "a", *(["--append"] if i else []))
        assert ran.code == 0, ran
    return repo, accs


def git_version(repo, n: int) -> str:
    """What git says version ~n of `a` is: n times the second parent."""
    return git(repo, "rev-parse", "refs/exp/a" + "^2" * n).strip()


def test_show_selects_versions_by_tilde_and_caret(versions, exp):
    repo, accs = versions
    rows = json.loads(exp("show", "--json", "a", "a~1", "a^^").out)
    assert [r["name"] for r in rows] == ["a", "a~1", "a~2"]
    assert [r["sha"] for r in rows] == [git_version(repo, n) for n in range(3)]
    assert [r["metrics.acc"] for r in rows] == list(reversed(accs))
    assert rows[1]["baseline"] == git(repo, "rev-parse", "HEAD").strip()
    assert json.loads(exp("show", "--json", "a~").out)[0]["sha"] == git_version(repo, 1)
    assert json.loads(exp("show", "--json", "a~1^").out)[0]["sha"] == git_version(repo, 2)


def test_log_lists_versions_newest_first(versions, exp):
    repo, accs = versions
    ran = exp("log", "a")
    assert ran.code == 0, ran
    lines = ran.out.splitlines()
    assert lines[0].split()[:4] == ["name", "sha", "created", "status"] and "metrics.acc" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["a", "a~1", "a~2"]
    assert [line.split()[1] for line in lines[1:]] == [git_version(repo, n)[:7] for n in range(3)]
    rows = json.loads(exp("log", "a", "--json").out)
    assert [(r["version"], r["sha"], r["metrics.acc"]) for r in rows] == \
        [(n, git_version(repo, n), accs[2 - n]) for n in range(3)]
    assert [r["version"] for r in json.loads(exp("log", "a~1", "--json").out)] == [1, 2]
    assert [r["name"] for r in json.loads(exp("log", "a", "-n", "2", "--json").out)] == ["a", "a~1"]


def test_diff_apply_and_branch_take_versions(versions, exp):
    repo, accs = versions
    ran = exp("diff", "a~1", "a", "--json")
    assert ran.code == 0, ran
    result = json.loads(ran.out)
    assert (result["a"], result["b"]) == ("a~1", "a")
    assert (result["a_sha"], result["b_sha"]) == (git_version(repo, 1), git_version(repo, 0))
    assert result["changes"] == [{"key": "metrics.acc", "a": accs[1], "b": accs[2]}]
    assert exp("diff", "a^").out.splitlines()[0].split() == ["key", "a~1", "baseline"]
    commit_all(repo, "the latest model")
    assert exp("apply", "a~2").code == 0
    assert (repo / "model.txt").read_text() == "model 0\n"
    git(repo, "checkout", "-q", "--", ".")
    assert_error(exp("branch", "a~1"), 2, "older version", "git exp branch a~1 NEW-BRANCH")
    assert exp("branch", "a~1", "old-a").code == 0
    assert git(repo, "rev-parse", "refs/heads/old-a").strip() == git_version(repo, 1)


@pytest.mark.parametrize("spec, fragments", [
    ("a~9", ("'a' has no version ~9: it has 3 versions, a to a~2", "git exp log a")),
    ("a^^^", ("'a' has no version ~3",)),
    ("a^2", ("git's parent syntax", "'a~1'")),
    ("a~1x", ("NAME~N or NAME^",)),
    ("a~99999999", ("too far back",)),
    ("~1", ("needs an experiment name",)),
    ("nope~1", ("no experiment named 'nope'",)),
])
def test_a_version_that_is_not_there_is_one_line_exit_2(versions, exp, spec, fragments):
    repo, _ = versions
    before = all_refs(repo)
    for args in (("show", spec), ("diff", spec), ("log", spec), ("apply", spec), ("branch", spec, "b")):
        assert_error(exp(*args), 2, *fragments)
    assert all_refs(repo) == before


def test_a_version_of_an_experiment_saved_once(repo, exp):
    exp("save", "-n", "once")
    assert_error(exp("show", "once~1"), 2, "'once' has no version ~1: it has only this version")


def test_user_text_is_never_read_by_git_as_a_revision(versions, exp):
    repo, _ = versions
    # git would read these as revisions of `a` (its first parent, a reflog entry, a search)
    for spec in ("a@{1}", "a:model.txt", ":/model"):
        assert exp("show", spec).code == 2
    assert_error(exp("diff", "a", "a@{1}"), 2, "no experiment or commit named")


# -------------------------------------------------------------- remote-tracking experiments

@pytest.fixture
def pulled(tmp_path, exp, monkeypatch):
    """(runner, laptop): the runner pushed experiment `x` (params lr 0.5) and `ci/7` to a
    bare remote; the laptop pulled them (refs/exp/* and refs/remote-exp/origin/*), then
    saved a newer version of `x` (lr 0.7) on top of its own."""
    remote = bare_remote(tmp_path / "remote.git")
    runner = init_repo(tmp_path / "runner", files={"README": "hi\n", "params.yaml": "lr: 0.1\n"})
    git(runner, "remote", "add", "origin", str(remote))
    git(runner, "push", "-q", "origin", "main")
    write(runner, {"params.yaml": "lr: 0.5\n", "out.txt": "runner\n"})
    assert exp("save", "-n", "x", cwd=runner).code == 0
    assert exp("save", "-n", "ci/7", cwd=runner).code == 0
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    laptop = tmp_path / "laptop"
    git(tmp_path, "clone", "-q", str(remote), str(laptop))
    assert exp("pull", "origin", "--all", cwd=laptop).code == 0
    assert set(exp_refs(laptop, "refs/remote-exp/origin/")) == {"x", "ci/7"}
    monkeypatch.chdir(laptop)
    write(laptop, {"params.yaml": "lr: 0.7\n"})
    assert exp("save", "-n", "x", "--append").code == 0
    return runner, laptop


def test_remote_names_as_ls_prints_them_work_everywhere(pulled, exp):
    runner, laptop = pulled
    theirs = git(laptop, "rev-parse", "refs/remote-exp/origin/x").strip()
    assert "origin/x" in exp("ls", "-r").out.split()
    result = json.loads(exp("diff", "x", "origin/x", "--json").out)
    assert (result["b"], result["b_sha"]) == ("origin/x", theirs)
    assert result["changes"] == [{"key": "params.lr", "a": 0.7, "b": 0.5}]
    rows = json.loads(exp("show", "--json", "origin/x").out)  # no -r needed
    assert [(r["name"], r["remote"], r["sha"]) for r in rows] == [("x", "origin", theirs)]
    assert json.loads(exp("show", "--json", "origin/ci/7").out)[0]["remote"] == "origin"
    assert json.loads(exp("diff", "x", "refs/remote-exp/origin/x", "--json").out)["b_sha"] == theirs
    ran = exp("branch", "origin/x")
    assert ran.code == 0 and ran.out.strip() == "x"
    assert git(laptop, "rev-parse", "refs/heads/x").strip() == theirs
    git(laptop, "checkout", "-q", "--", ".")
    assert exp("apply", "origin/x").code == 0
    assert (laptop / "out.txt").read_text() == "runner\n" and (laptop / "params.yaml").read_text() == "lr: 0.5\n"


def test_a_local_name_and_a_remote_one_alike_are_refused_naming_both(pulled, exp):
    runner, laptop = pulled
    git(laptop, "checkout", "-q", "--", ".")
    write(laptop, {"params.yaml": "lr: 0.9\n"})
    assert exp("save", "-n", "origin/x").code == 0  # a local experiment called origin/x
    before = all_refs(laptop)
    for args in (("show", "origin/x"), ("diff", "origin/x"), ("apply", "origin/x"), ("branch", "origin/x", "y"),
                 ("log", "origin/x")):
        assert_error(exp(*args), 2, "'origin/x' is ambiguous: local experiment 'origin/x' and 'x' of remote 'origin'",
                     "refs/exp/origin/x or refs/remote-exp/origin/x")
    assert all_refs(laptop) == before
    mine = json.loads(exp("show", "--json", "refs/exp/origin/x").out)[0]
    theirs = json.loads(exp("show", "--json", "refs/remote-exp/origin/x").out)[0]
    assert (mine["remote"], mine["params.lr"]) == (None, 0.9)
    assert (theirs["remote"], theirs["params.lr"]) == ("origin", 0.5)


def test_remote_versions_and_missing_remote_names(pulled, exp):
    runner, laptop = pulled
    # the laptop's x~1 is what it pulled: the remote's x
    assert json.loads(exp("show", "--json", "x~1").out)[0]["sha"] == git(laptop, "rev-parse", "refs/remote-exp/origin/x").strip()
    assert_error(exp("show", "origin/x~1"), 2, "'origin/x' has no version ~1")
    assert_error(exp("diff", "origin/nope"), 2, "no experiment named 'origin/nope', local or remote-tracking", "ls -r")
    assert_error(exp("show", "refs/remote-exp/bad/"), 2)
