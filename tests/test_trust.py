"""Issue 10: git writes every ref, and git-exp touches nothing but experiments.

Symbolic refs and refs to non-commits under refs/exp/ are never followed or written;
every ref change goes through git (the reference-transaction hook sees it, reflogs are
written, per-ref locks are honoured); SHA-256 repositories work; what a remote
advertises is data; a rename across an a/b clash never loses the experiment.  Refs and
reflogs are read through git, so these run under the files and reftable backends.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import assert_error, exp_refs, git, init_repo, write
from .test_share import make_runner, save

PY = sys.executable


def all_refs(repo: Path) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(objectname) %(refname)")
    return {ref: sha for sha, ref in (line.split(" ", 1) for line in out.splitlines())}


def head_sha(repo: Path) -> str:
    return git(repo, "rev-parse", "refs/heads/main").strip()


def files_backend(repo: Path) -> bool:
    return git(repo, "rev-parse", "--show-ref-format", check=False).strip() in ("", "files", "--show-ref-format")


# ------------------------------------------------------------------ symbolic refs

@pytest.fixture
def linked(repo, exp):
    """A repo with experiments e1, e2 and two symbolic refs: link -> main, alias -> e1."""
    for name in ("e1", "e2"):
        write(repo, {"params.yaml": f"lr: {name}\n"})
        assert exp("save", "-n", name).code == 0
    git(repo, "symbolic-ref", "refs/exp/link", "refs/heads/main")
    git(repo, "symbolic-ref", "refs/exp/alias", "refs/exp/e1")
    return repo


def test_a_symbolic_ref_is_never_listed_removed_or_renamed(linked, exp):
    before = all_refs(linked)
    assert "link" not in exp("ls").out and "alias" not in exp("ls").out
    assert_error(exp("rm", "link"), 2, "no experiment matches 'link'")
    assert_error(exp("rm", "alias"), 2, "no experiment matches 'alias'")
    assert_error(exp("rename", "link", "x"), 2, "no experiment named 'link'")
    assert all_refs(linked) == before
    assert exp("gc", "--keep", "0").code == 0
    after = all_refs(linked)
    assert after["refs/heads/main"] == before["refs/heads/main"]
    assert "refs/exp/e1" not in after and "refs/exp/e2" not in after  # the real experiments went
    assert git(linked, "symbolic-ref", "refs/exp/link").strip() == "refs/heads/main"  # the link stays a link


def test_rm_of_everything_leaves_what_symbolic_refs_point_at(linked, exp):
    main = head_sha(linked)
    ran = exp("rm", "*")
    assert ran.code == 0, ran
    assert head_sha(linked) == main
    assert set(exp_refs(linked)) == {"link"}
    assert git(linked, "symbolic-ref", "refs/exp/alias").strip() == "refs/exp/e1"  # dangling now, not deleted


@pytest.mark.parametrize("mode", ["-f", "--append"])
def test_save_never_moves_a_branch_through_a_symbolic_ref(linked, exp, mode):
    main = head_sha(linked)
    write(linked, {"params.yaml": "lr: 9\n"})
    assert_error(exp("save", mode, "-n", "link"), 2, "refs/exp/link is a symbolic ref to refs/heads/main")
    assert head_sha(linked) == main
    assert git(linked, "symbolic-ref", "refs/exp/link").strip() == "refs/heads/main"


def test_push_all_never_sends_a_symbolic_ref(linked, exp, local_remote, tmp_path):
    local_remote.configure(linked)
    ran = exp("push", "origin", "--all")
    assert ran.code == 0, ran
    assert set(exp_refs(local_remote.path)) == {"e1", "e2"}
    # nothing new: the symbolic refs are not counted, nor taken for the remote's refs
    # whose names are theirs and their targets' run together (a NUL apart in our listing)
    ran = exp("push", "origin", "--all")
    assert (ran.code, ran.out, ran.err) == (0, "", "2 experiments already up to date\n"), ran
    main = git(linked, "rev-parse", "refs/heads/main").strip()
    e1 = exp_refs(linked)["e1"]
    git(local_remote.path, "update-ref", "refs/exp/aliasrefs/exp/e1", e1)
    git(local_remote.path, "update-ref", "refs/exp/linkrefs/heads/main", main)
    ran = exp("push", "origin", "--all")
    assert (ran.code, ran.out, ran.err) == (0, "", "2 experiments already up to date\n"), ran


def test_pull_never_writes_through_a_local_symbolic_ref(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    save(exp, runner, "link", files={"params.yaml": "lr: 1\n"})
    save(exp, runner, "other", files={"params.yaml": "lr: 2\n"})
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    laptop = local_remote.clone(tmp_path / "laptop")
    git(laptop, "symbolic-ref", "refs/exp/link", "refs/heads/main")
    git(laptop, "symbolic-ref", "refs/remote-exp/origin/other", "refs/heads/main")
    main = head_sha(laptop)
    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert ran.code == 0, ran
    assert head_sha(laptop) == main
    assert "skipped        link  (refs/exp/link here is a symbolic ref" in ran.out
    assert "skipped        other  (refs/remote-exp/origin/other here is a symbolic ref" in ran.out
    assert git(laptop, "symbolic-ref", "refs/exp/link").strip() == "refs/heads/main"


# ------------------------------------------------------------------ what a remote advertises

def test_pull_skips_refs_to_blobs_trees_and_tags(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    save(exp, runner, "good")
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    bare = local_remote.path
    blob = git(bare, "hash-object", "-w", "--stdin", input="not a commit\n").strip()
    tree = git(bare, "rev-parse", "main^{tree}").strip()
    git(bare, "tag", "-a", "-m", "t", "v1", "main")
    tag = git(bare, "rev-parse", "refs/tags/v1").strip()
    for name, sha in (("blob", blob), ("tree", tree), ("tag", tag)):
        git(bare, "update-ref", f"refs/exp/{name}", sha)
    laptop = local_remote.clone(tmp_path / "laptop")
    before = {r: s for r, s in all_refs(laptop).items() if not r.startswith(("refs/exp/", "refs/remote-exp/"))}
    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert ran.code == 0, ran
    for kind in ("blob", "tree", "tag"):
        assert f"skipped        {kind}  (it points at a {kind}, not a commit)" in ran.out
    assert set(exp_refs(laptop)) == {"good"}
    assert set(exp_refs(laptop, "refs/remote-exp/origin/")) == {"good"}
    after = {r: s for r, s in all_refs(laptop).items() if not r.startswith(("refs/exp/", "refs/remote-exp/"))}
    assert after == before
    git(laptop, "fsck", "--no-dangling")


def test_pull_refuses_a_remote_name_git_exp_cannot_hold(repo, exp, local_remote):
    for name in ("..", "a b", "x/../y", "-x"):
        git(repo, "config", f"remote.{name}.url", str(local_remote.path))
    before = all_refs(repo)
    for name in ("..", "a b", "x/../y"):
        ran = exp("pull", name, "--all")
        assert_error(ran, 2, "git-exp cannot work with remote")
    assert_error(exp("install", "a b"), 2, "git-exp cannot work with remote 'a b'")
    assert_error(exp("uninstall", ".."), 2, "git-exp cannot work with remote '..'")
    assert all_refs(repo) == before
    assert "fetch" not in git(repo, "config", "--get-regexp", r"remote\..*", check=False).replace(".url", "")


# ------------------------------------------------------------------ through git: hooks, reflogs, locks

HOOK = """#!/bin/sh
# log every ref update git is asked to make, one line per ref and phase
while read old new ref; do echo "$1 $ref" >> "$(git rev-parse --show-toplevel)/hook.log"; done
"""

REFUSE = """#!/bin/sh
cat >/dev/null
[ "$1" = prepared ] && { echo "refusing $1" >&2; exit 1; }
exit 0
"""


def add_hook(repo: Path, text: str) -> None:
    hook = repo / ".git" / "hooks" / "reference-transaction"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(text)
    hook.chmod(0o755)


def test_pull_of_many_goes_through_the_reference_transaction_hook_with_reflogs(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    names = [f"sweep/{i:03}" for i in range(70)]
    head = git(runner, "rev-parse", "HEAD").strip()
    commits = git(runner, "fast-import", "--quiet", input="".join(
        f"commit refs/exp/{n}\ncommitter C <c@e> 0 +0000\ndata {len(str(i))}\n{i}\nfrom {head}\n\n" for i, n in enumerate(names)))
    assert commits == ""
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    laptop = local_remote.clone(tmp_path / "laptop")
    add_hook(laptop, HOOK)
    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert ran.code == 0, ran
    log = (laptop / "hook.log").read_text().splitlines()
    for name in names:
        assert f"committed refs/exp/{name}" in log
        assert f"committed refs/remote-exp/origin/{name}" in log
        assert git(laptop, "reflog", "exists", f"refs/exp/{name}", check=False) == ""
    assert subprocess.run(["git", "reflog", "exists", f"refs/exp/{names[0]}"], cwd=laptop).returncode == 0


def test_a_hook_that_refuses_stops_pull_and_writes_nothing(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    for i in range(3):
        save(exp, runner, f"e{i}", files={"params.yaml": f"lr: {i}\n"})
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    laptop = local_remote.clone(tmp_path / "laptop")
    add_hook(laptop, REFUSE)
    before = all_refs(laptop)
    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert_error(ran, 1, "git refused to write the pulled experiments", "run the pull again")
    assert all_refs(laptop) == before


def test_save_honours_a_lock_another_git_holds(repo, exp):
    assert exp("save", "-n", "e1").code == 0
    sha = exp_refs(repo)["e1"]
    head = git(repo, "rev-parse", "HEAD").strip()
    # Another git in the middle of a transaction on refs/exp/e1: it holds the ref's lock.
    holder = subprocess.Popen(["git", "update-ref", "--stdin"], cwd=repo, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    holder.stdin.write(f"start\nupdate refs/exp/e1 {head} {sha}\nprepare\n")
    holder.stdin.flush()
    assert holder.stdout.readline() == "start: ok\n" and holder.stdout.readline() == "prepare: ok\n"
    try:
        write(repo, {"params.yaml": "lr: 7\n"})
        ran = exp("save", "-f", "-n", "e1")
        assert ran.code == 1 and "git-exp: error:" in ran.err and "Traceback" not in ran.err, ran
        assert exp_refs(repo)["e1"] == sha
    finally:
        holder.stdin.write("abort\n")
        holder.stdin.close()
        holder.wait()
    assert exp_refs(repo)["e1"] == sha


def test_a_lock_left_by_a_killed_git_does_not_block_the_rerun(repo, exp):
    if not files_backend(repo):
        pytest.skip("per-ref lock files belong to the files backend")
    assert exp("save", "-n", "e1").code == 0
    lock = repo / ".git" / "refs" / "exp" / "e1.lock"
    lock.write_text("")  # what a SIGKILLed git leaves
    old = lock.stat().st_mtime - 3600
    os.utime(lock, (old, old))
    ran = exp("rm", "e1")
    assert ran.code == 0, ran
    assert exp_refs(repo) == {} and not lock.exists()


# ------------------------------------------------------------------ SHA-256

def test_sha256_repository_saves_lists_and_shares(tmp_path, exp, monkeypatch):
    work = tmp_path / "w"
    work.mkdir()
    git(work, "init", "-q", "--object-format=sha256", "-b", "main")
    write(work, {"params.yaml": "lr: 0.1\n"})
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "i")
    monkeypatch.chdir(work)
    ran = exp("save", "-n", "e1")
    assert ran.code == 0, ran
    sha = exp_refs(work)["e1"]
    assert len(sha) == 64
    listed = __import__("json").loads(exp("ls", "--json").out)
    assert listed[0]["sha"] == sha and len(listed[0]["baseline"]) == 64
    assert exp("save", "--append", "-n", "e1").code == 0
    assert exp("rename", "e1", "e1/b").code == 0
    bare = tmp_path / "r.git"
    git(tmp_path, "init", "-q", "--bare", "--object-format=sha256", str(bare))
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main")
    assert exp("push", "origin", "--all").code == 0
    clone = tmp_path / "c"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    ran = exp("pull", "origin", "--all", cwd=clone)
    assert ran.code == 0, ran
    assert exp_refs(clone) == exp_refs(work)
    assert exp("rm", "e1/b", cwd=clone).code == 0
    git(clone, "fsck", "--no-dangling")


# ------------------------------------------------------------------ rename across a clash

def test_an_interrupted_rename_across_a_clash_says_how_to_finish(repo, exp):
    assert exp("save", "-n", "a").code == 0
    sha = exp_refs(repo)["a"]
    # What a SIGKILL between the two steps leaves: the experiment under its interim name.
    git(repo, "update-ref", "refs/exp/a.renaming-1f2e", sha)
    git(repo, "update-ref", "-d", "refs/exp/a", sha)
    assert_error(exp("rename", "a", "a/b"), 2, "an interrupted rename left 'a.renaming-1f2e'",
                 "`git exp rename a.renaming-1f2e a/b`")
    assert exp("rename", "a.renaming-1f2e", "a/b").code == 0
    assert exp_refs(repo) == {"a/b": sha}


@pytest.mark.parametrize("old,new", [("a", "a/b"), ("a/b", "a")])
def test_rename_across_a_clash_goes_through_a_visible_name(repo, exp, old, new):
    add_hook(repo, HOOK)
    assert exp("save", "-n", old).code == 0
    sha = exp_refs(repo)[old]
    assert exp("rename", old, new).code == 0
    assert exp_refs(repo) == {new: sha}
    log = (repo / "hook.log").read_text().splitlines()
    committed = [line.split(" ", 1)[1] for line in log if line.startswith("committed ")][-4:]
    interim = committed[1]
    assert interim.startswith("refs/exp/a.renaming-")
    assert committed == [f"refs/exp/{old}", interim, interim, f"refs/exp/{new}"]


# ------------------------------------------------------------------ odd names

def test_a_ref_whose_name_is_not_utf8_is_left_alone(repo, exp):
    assert exp("save", "-n", "good").code == 0
    sha = exp_refs(repo)["good"]
    subprocess.run([b"git", b"update-ref", b"refs/exp/bad\xff", sha.encode()], cwd=repo, check=True)
    for args in (["ls"], ["show"], ["show", "--json"], ["gc", "--keep", "0", "--dry-run"]):
        ran = exp(*args)
        assert ran.code == 0 and "Traceback" not in ran.err and "internal error" not in ran.err, (args, ran)
    assert exp("gc", "--keep", "0").code == 0
    assert exp("gc", "--keep", "0").code == 0  # and again: nothing left that fails for ever
    raw = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exp/"], cwd=repo,
                         capture_output=True, check=True).stdout
    assert raw == b"refs/exp/bad\xff\n"


def test_a_long_bad_name_is_not_echoed_back_whole(repo, exp):
    ran = exp("save", "-n", "x" * 10_000 + "..")
    assert_error(ran, 2, "invalid experiment name")
    assert len(ran.err) < 400


# ------------------------------------------------------------------ concurrency

def test_two_and_three_concurrent_pulls_all_succeed(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    head = git(runner, "rev-parse", "HEAD").strip()
    git(runner, "fast-import", "--quiet", input="".join(
        f"commit refs/exp/p/{i:03}\ncommitter C <c@e> 0 +0000\ndata {len(str(i))}\n{i}\nfrom {head}\n\n" for i in range(120)))
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for count in (2, 3):
        laptop = local_remote.clone(tmp_path / f"laptop{count}")
        procs = [subprocess.Popen([PY, "-m", "git_exp", "pull", "origin", "--all"], cwd=laptop, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
        assert all(code == 0 for code, _ in results), results
        assert exp_refs(laptop) == exp_refs(runner)
        git(laptop, "fsck", "--no-dangling")


# ------------------------------------------------------------------ every repository git makes

def test_linked_worktree_separate_git_dir_and_bare(tmp_path, exp, local_remote):
    main = init_repo(tmp_path / "main", files={"params.yaml": "lr: 1\n"})
    git(main, "worktree", "add", "-q", str(tmp_path / "linked"), "-b", "side")
    linked = tmp_path / "linked"
    write(linked, {"params.yaml": "lr: 2\n"})
    assert exp("save", "-n", "from-linked", cwd=linked).code == 0
    assert exp("run", "-n", "run-linked", "--", "true", cwd=linked).code == 0
    assert set(exp_refs(main)) == {"from-linked", "run-linked"}  # one set of refs for all worktrees
    assert git(linked, "status", "--porcelain") == " M params.yaml\n"  # work tree and index untouched
    assert not list((main / ".git" / "worktrees").glob("*/exp-index.*"))

    sep = tmp_path / "sep"
    sep.mkdir()
    git(sep, "init", "-q", "-b", "main", "--separate-git-dir", str(tmp_path / "sep.git"))
    write(sep, {"params.yaml": "lr: 3\n"})
    git(sep, "add", "-A")
    git(sep, "commit", "-q", "-m", "i")
    assert exp("save", "-n", "sep", cwd=sep).code == 0
    assert set(exp_refs(tmp_path / "sep.git")) == {"sep"}

    local_remote.configure(main)
    git(main, "push", "-q", "origin", "main")
    assert exp("push", "origin", "--all", cwd=main).code == 0
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(local_remote.path), str(bare))
    ran = exp("pull", "origin", "--all", cwd=bare)
    assert ran.code == 0, ran
    assert set(exp_refs(bare)) == {"from-linked", "run-linked"}
    assert "from-linked" in exp("ls", cwd=bare).out
    assert exp("show", "--json", cwd=bare).code == 0
    assert exp("rm", "run-linked", cwd=bare).code == 0
    assert_error(exp("save", "-n", "x", cwd=bare), 2, "needs a work tree, and this repository is bare")
    git(bare, "fsck", "--no-dangling")


def test_names_that_would_disguise_themselves_on_screen_are_refused(repo, exp):
    for name in ("a\u009b31mred", "rev\u202eesrever", "x\u2066y"):
        assert_error(exp("save", "-n", name), 2, "invalid experiment name")
    assert exp_refs(repo) == {}


def test_a_push_removes_what_a_killed_push_staged(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    head = git(runner, "rev-parse", "HEAD").strip()
    git(runner, "fast-import", "--quiet", input="".join(
        f"commit refs/exp/p/{i:02}\ncommitter C <c@e> 0 +0000\ndata {len(str(i))}\n{i}\nfrom {head}\n\n"
        for i in range(20)))
    dead = subprocess.Popen(["true"])
    dead.wait()
    git(runner, "update-ref", f"refs/exp-staging/{dead.pid}-0badf00d/p/00", head)
    ran = exp("push", "origin", "p/0?", "p/1?", cwd=runner)  # 20 names, no single glob: staged
    assert ran.code == 0, ran
    assert len(exp_refs(local_remote.path)) == 20
    assert exp_refs(runner, "refs/exp-staging/") == {}


def test_a_hook_that_refuses_a_save_is_reported_as_such(repo, exp):
    add_hook(repo, REFUSE)
    ran = exp("save", "-n", "e1")
    assert_error(ran, 1, "experiment 'e1' could not be written", "aborted by hook", "your snapshot is commit")
    assert exp_refs(repo) == {}


@pytest.mark.parametrize("old,new,left", [("e1", "moved", "moved"), ("b", "b/c", "b.renaming-0a0b")])
def test_rename_remote_finishes_what_a_killed_rename_left(local_remote, tmp_path, exp, old, new, left):
    runner = make_runner(local_remote, tmp_path)
    sha = save(exp, runner, old)
    assert exp("push", "origin", old, cwd=runner).code == 0
    # Killed after the remote's part (or between its two steps): the remote has the
    # commit under the new (or interim) name, the local experiment still has the old one.
    git(local_remote.path, "update-ref", f"refs/exp/{left}", sha)
    git(local_remote.path, "update-ref", "-d", f"refs/exp/{old}", sha)
    ran = exp("rename", "--remote", "origin", old, new, cwd=runner)
    assert ran.code == 0, ran
    assert exp_refs(local_remote.path) == {new: sha}
    assert exp_refs(runner) == {new: sha}


def test_the_worktree_of_a_killed_isolated_run_is_removed(repo, exp, tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = tmp_path / f"git-exp-run-{dead.pid}-abcd"
    git(repo, "worktree", "add", "-q", "--detach", str(left), "HEAD")  # what a killed `run --isolated` leaves
    assert "git-exp-run-" in exp("doctor").err + exp("doctor").out
    ran = exp("run", "--isolated", "-n", "iso", "--", "true")
    assert ran.code == 0, ran
    assert str(left) not in git(repo, "worktree", "list", "--porcelain") and not left.exists()
    git(repo, "fsck", "--no-dangling")


def test_a_rerun_that_refuses_its_name_still_removes_the_killed_runs_worktree(repo, exp, tmp_path):
    """Killed after its save, a run leaves its experiment and its worktree; run again, it
    refuses the name it already took, and removes that worktree first."""
    assert exp("save", "-n", "taken").code == 0
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = tmp_path / f"git-exp-run-{dead.pid}-abcd"
    git(repo, "worktree", "add", "-q", "--detach", str(left), "HEAD")
    ran = exp("run", "--isolated", "-n", "taken", "--", "true")
    assert ran.code != 0 and "taken" in ran.err
    assert not left.exists() and str(left) not in git(repo, "worktree", "list", "--porcelain")


def test_the_temporary_directory_of_a_run_killed_before_its_worktree_is_removed(repo, exp, tmp_path, monkeypatch):
    """Killed between making its temporary directory and ``git worktree add``, a run leaves
    an empty ``git-exp-run-PID-*`` there: the next run removes it; not one whose run still
    lives, nor one that is a worktree (another repository's, maybe)."""
    import tempfile

    top = tmp_path / "tmp"  # of this test alone: runs of other tests share the system's
    top.mkdir()
    monkeypatch.setenv("TMPDIR", str(top))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    dead = subprocess.Popen(["true"])
    dead.wait()
    empty = top / f"git-exp-run-{dead.pid}-emptyx"
    alive = top / f"git-exp-run-{os.getpid()}-alivex"
    other = top / f"git-exp-run-{dead.pid}-otherx"
    for path in (empty, alive, other):
        path.mkdir()
    (other / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n")
    try:
        said = exp("doctor")
        assert empty.name in said.out + said.err and other.name not in said.out + said.err
        assert exp("run", "--isolated", "-n", "iso", "--", "true").code == 0
        assert not empty.exists() and alive.exists() and (other / ".git").exists()
    finally:
        for path in (empty, alive, other):
            shutil.rmtree(path, ignore_errors=True)


def killed_runs_worktree(repo, tmp_path, seconds: float):
    """A worktree as a killed ``run --isolated`` leaves it, and a process standing for the
    ``git worktree`` it started apart (its argv as such a git has it), running ``seconds``."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = tmp_path / f"git-exp-run-{dead.pid}-abcd"
    git(repo, "worktree", "add", "-q", "--detach", str(left), "HEAD")
    still = subprocess.Popen(["sh", "-c", f"sleep {seconds}", "worktree", str(left)])
    for _ in range(100):
        if Path(f"/proc/{still.pid}/cmdline").read_bytes().count(b"worktree"):
            break
        time.sleep(0.02)
    return left, still


def test_a_killed_runs_worktree_is_removed_once_its_git_worktree_ends(repo, exp, tmp_path):
    """The next run waits for the ``git worktree add``/``remove`` a killed run started
    apart (it outlives that run, and racing it would break the worktree it makes), then
    removes the worktree: nothing of the killed run is left after the next."""
    left, still = killed_runs_worktree(repo, tmp_path, 0.5)
    try:
        assert exp("run", "--isolated", "-n", "iso", "--", "true").code == 0
        assert still.poll() is not None and not left.exists()
        assert str(left) not in git(repo, "worktree", "list", "--porcelain")
    finally:
        still.kill()
        still.wait()


def test_a_killed_runs_worktree_is_left_while_its_git_worktree_still_runs(repo, exp, tmp_path, monkeypatch):
    """A ``git worktree`` of a killed run that is still running after ``APART_WAIT``: the
    next run leaves its worktree be (it would race git); the one after removes it."""
    from git_exp import leftovers
    from git_exp.repo import Repo

    monkeypatch.setattr(leftovers, "APART_WAIT", 0.2)
    left, still = killed_runs_worktree(repo, tmp_path, 30)
    try:
        assert leftovers.stale_worktrees(Repo(repo)) == []
        assert exp("run", "--isolated", "-n", "iso", "--", "true").code == 0
        assert left.exists()
    finally:
        still.kill()
        still.wait()
    assert [os.path.basename(p) for p in leftovers.stale_worktrees(Repo(repo))] == [left.name]
    assert exp("run", "--isolated", "-n", "iso2", "--", "true").code == 0
    assert not left.exists()
