import json
import time

from .conftest import assert_error, commit_all, exp_refs, git, write


def test_apply_brings_files_and_deletions(repo, exp):
    write(repo, {"params.yaml": "lr: 0.9\n", "extra.txt": "x\n"})
    (repo / "README").unlink()
    exp("save", "-n", "e")
    git(repo, "checkout", "-q", "--", ".")
    (repo / "extra.txt").unlink()
    head = git(repo, "rev-parse", "HEAD")
    index = (repo / ".git" / "index").read_bytes()
    ran = exp("apply", "e")
    assert ran.code == 0, ran
    assert (repo / "params.yaml").read_text() == "lr: 0.9\n"
    assert (repo / "extra.txt").read_text() == "x\n"
    assert not (repo / "README").exists()
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert (repo / ".git" / "index").read_bytes() == index  # the user's index is untouched
    assert sorted(git(repo, "status", "--porcelain").splitlines()) == [" D README", " M params.yaml", "?? extra.txt"]


def test_apply_refuses_dirty_tree_then_force_saves_it(repo, exp):
    write(repo, {"params.yaml": "lr: 0.9\n"})
    exp("save", "-n", "e")
    write(repo, {"params.yaml": "lr: precious\n", "notes.txt": "mine\n"})
    assert_error(exp("apply", "e"), 1, "not committed", "--force")
    assert (repo / "params.yaml").read_text() == "lr: precious\n"
    ran = exp("apply", "e", "--force")
    assert ran.code == 0, ran
    assert "saved your changes as experiment" in ran.err
    saved = ran.err.split("saved your changes as experiment ")[1].split()[0]
    assert git(repo, "show", f"refs/exp/{saved}:params.yaml") == "lr: precious\n"
    assert git(repo, "show", f"refs/exp/{saved}:notes.txt") == "mine\n"
    assert (repo / "params.yaml").read_text() == "lr: 0.9\n"
    assert not (repo / "notes.txt").exists()


def test_apply_unknown(repo, exp):
    assert_error(exp("apply", "nope"), 2, "no experiment named 'nope'")
    assert_error(exp("apply", "-x"), 2)


def test_branch(repo, exp):
    exp("save", "-n", "ci/7")
    ran = exp("branch", "ci/7")
    assert ran.code == 0 and ran.out == "ci/7\n"
    assert git(repo, "rev-parse", "refs/heads/ci/7") == git(repo, "rev-parse", "refs/exp/ci/7")
    assert exp("branch", "ci/7", "review-7").code == 0
    assert_error(exp("branch", "ci/7", "review-7"), 2, "already exists")
    assert_error(exp("branch", "ci/7", "bad..name"), 2, "invalid branch name")
    assert_error(exp("branch", "missing"), 2, "no experiment named")


def test_rm_names_and_globs_with_restore_hint(repo, exp):
    for name in ("sweep/1", "sweep/2", "keep"):
        exp("save", "-n", name)
    shas = exp_refs(repo)
    dry = exp("rm", "--dry-run", "sweep/*")
    assert dry.out.splitlines() == [f"would delete sweep/1 ({shas['sweep/1']})", f"would delete sweep/2 ({shas['sweep/2']})"]
    assert len(exp_refs(repo)) == 3
    ran = exp("rm", "sweep/*")
    assert ran.code == 0 and "git update-ref refs/exp/" in ran.err
    assert list(exp_refs(repo)) == ["keep"]
    git(repo, "update-ref", "refs/exp/sweep/1", shas["sweep/1"])  # the printed restore works
    assert_error(exp("rm", "keep", "nothing-*"), 2, "no experiment matches 'nothing-*'")
    assert "keep" in exp_refs(repo)  # nothing deleted when one pattern fails
    assert_error(exp("rm"), 2, "name the experiments")
    assert_error(exp("rm", "a..b"), 2, "invalid experiment name")


def test_rename(repo, exp):
    exp("save", "-n", "old")
    sha = exp_refs(repo)["old"]
    assert exp("rename", "old", "team/new").code == 0
    assert exp_refs(repo) == {"team/new": sha}
    exp("save", "-n", "other")
    assert_error(exp("rename", "other", "team/new"), 2, "already exists")
    assert_error(exp("rename", "other", "team"), 2, "'team/new' exists")
    assert_error(exp("rename", "ghost", "x"), 2, "no experiment named 'ghost'")
    assert_error(exp("rename", "other", "bad name"), 2, "invalid experiment name")
    assert set(exp_refs(repo)) == {"team/new", "other"}


def test_gc(repo, exp, monkeypatch):
    old = int(time.time()) - 40 * 86400
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{old} +0000")
    exp("save", "-n", "ancient")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"f.txt": "f\n"})
    commit_all(repo, "feature work")
    exp("save", "-n", "on-feature")
    git(repo, "checkout", "-q", "main")
    exp("save", "-n", "fresh")
    assert exp("gc").out == ""  # no criteria: nothing deleted (refs packed by git: no file read here)
    assert set(exp_refs(repo)) == {"ancient", "on-feature", "fresh"}
    assert exp("gc", "--older-than", "30d", "--dry-run").out.split()[:2] == ["would", "delete"]
    git(repo, "branch", "-q", "-D", "feature")
    ran = exp("gc", "--orphaned")
    assert [line.split()[1] for line in ran.out.splitlines()] == ["on-feature"]
    exp("gc", "--older-than", "30d")
    assert set(exp_refs(repo)) == {"fresh"}
    exp("save", "-n", "newer")
    exp("gc", "--keep", "1")
    assert len(exp_refs(repo)) == 1
    assert_error(exp("gc", "--older-than", "soon"), 2, "cannot read age")


def test_ls_json_after_gc_pack(repo, exp):
    for i in range(3):
        exp("save", "-n", f"e{i}")
    exp("gc")
    assert len(json.loads(exp("ls", "--json").out)) == 3


def test_gc_drops_the_logs_of_experiments_that_are_gone(repo, exp):
    logs = repo / ".git" / "git-exp" / "logs"
    for name in ("sweep/a", "sweep/b"):
        assert exp("save", "-n", name).code == 0
        (logs / "sweep").mkdir(parents=True, exist_ok=True)
        (logs / f"{name}.log").write_text("output\n")
    (logs / "run-1-1.log").write_text("a run that never got saved\n")
    assert exp("rm", "sweep/a").code == 0
    assert exp("gc").code == 0
    assert sorted(str(p.relative_to(logs)) for p in logs.rglob("*.log")) == ["sweep/b.log"]
    assert exp("gc", "sweep/*", "--keep", "0").code == 0
    assert list(logs.rglob("*")) == []
