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


def add_all_tree(repo: Path) -> str:
    """The tree plain ``git add -A`` records, through a copy of the index (the user's stays)."""
    index = repo / ".git" / "plain-index"
    index.write_bytes((repo / ".git" / "index").read_bytes())
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    try:
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True, capture_output=True)
        return subprocess.run(["git", "write-tree"], cwd=repo, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()
    finally:
        index.unlink()


AWKWARD = {":!a.txt": "exclude magic\n", ":(glob)*.txt": "magic\n", "[ab].txt": "brackets\n", "*": "star\n",
           "a.txt": "a\n", "sp ace/x": "x\n", "-dash": "d\n", "new/deep/n.txt": "n\n", "ignored.log": "i\n",
           ".gitignore": "*.log\n"}


def gits(err: str) -> list[str]:
    """The git commands in ``GIT_EXP_TRACE`` lines, in the order they ended."""
    return [line.split(" ms  git ", 1)[1] for line in err.splitlines() if line.startswith("git-exp: trace:")]


def test_save_tree_is_add_all_tree_with_awkward_untracked_names(repo, exp, monkeypatch):
    """Untracked files are added by name (the work tree walked once): names that would be
    pathspec magic or globs, a nested repository (a gitlink, as add -A makes it), a deleted
    and a changed tracked file, a staged change -- the tree is exactly plain git's."""
    from git_exp import git as git_

    monkeypatch.setattr(git_, "TRACE", True)
    write(repo, {**AWKWARD, "params.yaml": "lr: 0.3\n"})
    git(repo, "add", "params.yaml")
    write(repo, {"params.yaml": "lr: 0.4\n"})
    (repo / "README").unlink()
    nested = init_repo(repo / "sub", files={"inner.txt": "inner\n"})
    git(repo, "status")  # the index written now, each file older: no racily clean entry for a later status to rewrite
    for path in repo.rglob("*"):
        if ".git" not in path.relative_to(repo).parts:
            os.utime(path, (1_600_000_000, 1_600_000_000))
    before = state(repo)
    ran = exp("save", "-n", "awkward")
    assert ran.code == 0, ran
    assert state(repo) == before
    adds = [cmd for cmd in gits(ran.err) if cmd.startswith("add ")]
    assert adds[0] == "add -u" and adds[1].startswith("add -- ") and len(adds) == 2, adds  # no second walk
    tree = git(repo, "rev-parse", "refs/exp/awkward^{tree}").strip()
    assert tree == add_all_tree(repo)
    listed = git(repo, "ls-tree", "-r", "--name-only", "refs/exp/awkward").splitlines()
    assert "README" not in listed and "ignored.log" not in listed
    assert {":!a.txt", ":(glob)*.txt", "a.txt", "*"} <= set(listed)
    assert git(repo, "ls-tree", "refs/exp/awkward", "sub").split()[:3] == [
        "160000", "commit", git(nested, "rev-parse", "HEAD").strip()]
    assert git(repo, "show", "refs/exp/awkward:params.yaml") == "lr: 0.4\n"


def test_save_tree_with_many_untracked_files(repo, exp, monkeypatch):
    """Past snapshot.FEW untracked paths git add -A walks again: still plain git's tree."""
    from git_exp import git as git_
    from git_exp import snapshot

    monkeypatch.setattr(git_, "TRACE", True)
    write(repo, {f"many/{i:03}.txt": f"{i}\n" for i in range(snapshot.FEW + 20)})
    write(repo, {"README": "changed\n"})
    ran = exp("save", "-n", "many")
    assert ran.code == 0, ran
    assert [cmd for cmd in gits(ran.err) if cmd.startswith("add ")] == ["add -u", "add -A"]
    assert git(repo, "rev-parse", "refs/exp/many^{tree}").strip() == add_all_tree(repo)
    assert len(git(repo, "ls-tree", "-r", "--name-only", "refs/exp/many").splitlines()) == snapshot.FEW + 22


def test_snapshot_when_a_listed_file_goes_away(repo, monkeypatch, capfd):
    """A file removed between the listing and the add: git add -A finishes the tree, no error."""
    from git_exp import git as git_
    from git_exp.repo import Repo
    from git_exp.snapshot import snapshot

    monkeypatch.setattr(git_, "TRACE", True)

    write(repo, {"keep.txt": "k\n", "gone.txt": "g\n", "README": "changed\n"})
    seen = []

    def vet(paths):
        seen.extend(paths)
        (repo / "gone.txt").unlink()

    tree = snapshot(Repo(repo), vet=vet)
    assert sorted(seen) == ["gone.txt", "keep.txt"]
    assert tree == add_all_tree(repo)
    assert git(repo, "ls-tree", "--name-only", tree).split() == ["README", "keep.txt", "params.yaml"]
    adds = [cmd for cmd in gits(capfd.readouterr().err) if cmd.startswith("add ")]
    assert adds == ["add -u", "add -- gone.txt keep.txt", "add -A"] or adds == ["add -u", "add -- keep.txt gone.txt", "add -A"]
    assert not list((repo / ".git").glob("exp-index*"))


def test_generated_name_skips_names_taken_or_holding_experiments(repo, exp, monkeypatch):
    """The generated name is looked up among the names it could take (not every
    experiment): one taken, or one that is the directory of an experiment, gets a longer
    hex part."""
    for var in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        monkeypatch.setenv(var, "1700000000 +0000")  # the same commit each time
    first = exp("save").out.strip()
    sha = exp_refs(repo)[first]
    git(repo, "update-ref", "-d", f"refs/exp/{first}")
    git(repo, "update-ref", f"refs/exp/{first}", "HEAD")
    second = exp("save").out.strip()
    assert second == first + sha[4] and exp_refs(repo)[second] == sha
    git(repo, "update-ref", "-d", f"refs/exp/{first}")
    git(repo, "update-ref", "-d", f"refs/exp/{second}")
    git(repo, "update-ref", f"refs/exp/{first}/inner", "HEAD")
    assert exp("save").out.strip() == second


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
    assert exp("ls", cwd=path).out.splitlines()[1].split()[1] == "(root)"


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
