import os
import subprocess
import sys
from pathlib import Path

from .conftest import assert_error, commit_all, exp_refs, git, init_repo, write


def state(repo: Path) -> tuple:
    """HEAD, the index file's bytes, and the status: what save must leave untouched."""
    head = git(repo, "rev-parse", "-q", "--verify", "HEAD", check=False)
    index = (repo / ".git" / "index").read_bytes() if (repo / ".git" / "index").exists() else b""
    return head, index, git(repo, "status", "--porcelain", "--untracked-files=all")


def tree_files(repo: Path, rev: str) -> dict[str, str]:
    out = git(repo, "ls-tree", "-r", "--name-only", rev)
    return {p: git(repo, "show", f"{rev}:{p}") for p in out.splitlines()}


def test_save_snapshots_like_add_all_and_touches_nothing(repo, exp):
    write(repo, {"params.yaml": "lr: 0.2\n", "new.txt": "new\n", ".gitignore": "*.log\n", "out.log": "noise\n"})
    git(repo, "add", "params.yaml")  # a staged change must stay staged, exactly
    before = state(repo)
    ran = exp("save", "-n", "first", "-m", "try lr 0.2")
    assert ran.code == 0, ran
    assert ran.out == "first\n"
    assert "saved experiment first" in ran.err
    assert state(repo) == before
    files = tree_files(repo, "refs/exp/first")
    assert files == {"README": "hello\n", "params.yaml": "lr: 0.2\n", "new.txt": "new\n", ".gitignore": "*.log\n"}
    assert git(repo, "rev-parse", "refs/exp/first^") == git(repo, "rev-parse", "HEAD")
    assert git(repo, "log", "-1", "--format=%s", "refs/exp/first").strip() == "try lr 0.2"
    reflog = git(repo, "reflog", "show", "--format=%H", "refs/exp/first").split()  # through git: any backend
    assert reflog == [git(repo, "rev-parse", "refs/exp/first").strip()]  # reflog written
    git(repo, "fsck", "--strict")
    assert not list((repo / ".git").glob("exp-index*"))


def test_no_untracked(repo, exp):
    write(repo, {"new.txt": "new\n", "README": "changed\n"})
    assert exp("save", "-n", "tracked", "--no-untracked").code == 0
    assert tree_files(repo, "refs/exp/tracked") == {"README": "changed\n", "params.yaml": "lr: 0.1\n"}


def test_existing_name_needs_force_or_append(repo, exp):
    assert exp("save", "-n", "x").code == 0
    first = exp_refs(repo)["x"]
    assert_error(exp("save", "-n", "x"), 2, "already exists", "--force", "--append")
    assert exp_refs(repo)["x"] == first
    write(repo, {"README": "v2\n"})
    assert exp("save", "-n", "x", "--force").code == 0
    replaced = exp_refs(repo)["x"]
    assert replaced != first
    # the overwritten version stays recoverable through the reflog
    assert first in git(repo, "reflog", "show", "--format=%H", "refs/exp/x")
    write(repo, {"README": "v3\n"})
    assert exp("save", "-n", "x", "--append").code == 0
    appended = exp_refs(repo)["x"]
    parents = git(repo, "rev-parse", f"{appended}^1", f"{appended}^2").split()
    assert parents == [git(repo, "rev-parse", "HEAD").strip(), replaced]
    assert_error(exp("save", "-n", "x", "--force", "--append"), 2, "cannot be used together")


def test_generated_name(repo, exp):
    ran = exp("save")
    name = ran.out.strip()
    sha = exp_refs(repo)[name]
    assert name.endswith("-" + sha[:4]) and name.count("-") == 2


def test_root_experiment_in_empty_repo(tmp_path, exp):
    path = init_repo(tmp_path / "empty", files={"a.txt": "a\n"}, commit=False)
    assert exp("save", "-n", "root", cwd=path).code == 0
    assert git(path, "rev-list", "--parents", "-n1", "refs/exp/root").split()[1:] == []
    assert git(path, "status", "--porcelain").strip() == "?? a.txt"
    assert exp("ls", cwd=path).out.splitlines()[1].split()[2] == "(root)"


def test_detached_head_and_linked_worktree(repo, exp, tmp_path):
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "--detach")
    assert exp("save", "-n", "detached").code == 0
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "--detach", str(wt))
    write(wt, {"README": "from the worktree\n"})
    assert exp("save", "-n", "linked", cwd=wt).code == 0
    assert git(repo, "show", "refs/exp/linked:README") == "from the worktree\n"
    assert git(repo, "rev-parse", "refs/exp/linked^").strip() == head
    assert git(wt, "status", "--porcelain").strip() == "M README"


def test_refuses_during_merge(repo, exp):
    git(repo, "checkout", "-q", "-b", "other")
    write(repo, {"README": "other\n"})
    commit_all(repo, "other")
    git(repo, "checkout", "-q", "main")
    write(repo, {"README": "main\n"})
    commit_all(repo, "main")
    git(repo, "merge", "other", check=False)
    assert_error(exp("save", "-n", "m"), 2, "merge is in progress")
    assert exp_refs(repo) == {}


def test_not_a_repo_and_bare(tmp_path, exp):
    assert_error(exp("save", cwd=tmp_path), 2, "not a git repository")
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    assert_error(exp("save", cwd=bare), 2, "bare")
    assert_error(exp("run", "--", "true", cwd=bare), 2, "bare")
    assert_error(exp("apply", "x", cwd=bare), 2, "bare")


def test_no_identity_falls_back(repo, exp, monkeypatch):
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("EMAIL", "")
    git(repo, "config", "user.useConfigOnly", "true")
    ran = exp("save", "-n", "anon")
    assert ran.code == 0, ran
    assert git(repo, "log", "-1", "--format=%an", "refs/exp/anon").strip() == "git-exp"


SAVER = """
import sys
from git_exp.cli import main
sys.exit(main(["save", "-n", "race"]))
"""


def test_racing_saves_one_wins_nothing_lost(repo):
    """Real processes race on one name: exactly one wins, the loser says where its commit is."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = []
    for i in range(6):
        write(repo, {f"f{i}.txt": f"{i}\n"})
        procs.append(subprocess.Popen([sys.executable, "-c", SAVER], cwd=repo, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [(p.wait(), *p.communicate()) for p in procs]
    winners = [r for r in results if r[0] == 0]
    losers = [r for r in results if r[0] != 0]
    assert len(winners) == 1, results
    for code, _out, err in losers:
        assert code in (1, 2)
        assert err.startswith("git-exp: error: ") and "Traceback" not in err
    final = exp_refs(repo)["race"]
    assert git(repo, "cat-file", "-t", final).strip() == "commit"
    assert len(git(repo, "reflog", "show", "refs/exp/race").splitlines()) == 1
