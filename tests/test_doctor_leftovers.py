"""doctor reports, and ``doctor --fix`` removes, what killed commands leave behind;
it reports remote names and refspecs git-exp or git cannot work with, and refs under our
namespaces that are no experiments.  Every leftover is made for real (refs through git),
and the final state is read back through git: the leftovers are gone, nothing else moved.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from git_exp import leftovers, refspecs
from git_exp.repo import Repo

from .conftest import assert_error, bare_remote, git

OLD = time.time() - 3600


def all_refs(repo: Path) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines())


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.fixture
def sleeper():
    """A running process (its pid stands for a command still at work)."""
    child = subprocess.Popen(["sleep", "300"])
    yield child.pid
    child.kill()
    child.wait()


def doctor(exp, repo: Path) -> list[dict]:
    ran = exp("doctor", "--json", cwd=repo)
    assert ran.code == 0, ran
    return json.loads(ran.out)


@contextlib.contextmanager
def git_working_in(repo: Path):
    """A git process working in ``repo`` (as doctor and the lock sweep see one: exec'd,
    its working directory inside) for the duration of the block."""
    busy = subprocess.Popen(["git", "cat-file", "--batch"], cwd=repo, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):  # until the child has become git (exec'd)
            comm = Path(f"/proc/{busy.pid}/comm")
            if comm.exists() and comm.read_text().startswith("git"):
                break
            time.sleep(0.05)
        yield
    finally:
        busy.stdin.close()
        busy.wait()


def warnings(findings: list[dict]) -> list[str]:
    return [f["what"] for f in findings if f["level"] == "warning"]


def test_stale_staging_refs_reported_and_removed_live_ones_kept(repo, exp, sleeper):
    head = git(repo, "rev-parse", "HEAD").strip()
    dead = f"refs/exp-staging/{dead_pid()}-0badc0de/"
    live = f"refs/exp-staging/{sleeper}-00c0ffee/"
    for ref in (dead + "a", dead + "b/c", live + "a"):
        git(repo, "update-ref", ref, head)
    git(repo, "update-ref", "refs/exp/keep", head)
    before = all_refs(repo)

    assert leftovers.stale_staging(Repo(repo)) == {dead + "a": head, dead + "b/c": head}
    ran = exp("doctor")
    assert ran.code == 0, ran
    assert "warning  2 staging refs under refs/exp-staging/ left by 1 interrupted `git exp push`" in ran.out
    assert "info     1 staging refs of a `git exp push` that is running" in ran.out
    found = [f for f in doctor(exp, repo) if "staging" in f["what"]]
    assert [(f["level"], f["fix"], f["fixable"]) for f in found] == [
        ("warning", "git exp doctor --fix", True), ("info", None, False)]
    assert all(set(f) == {"remote", "level", "what", "fix", "fixable"} for f in found)

    ran = exp("doctor", "--fix")
    assert ran.code == 0, ran
    assert "fixed: removed 2 staging refs, 0 temporary index files and 0 part files of facts (0 kB), 0 stale lock files" in ran.err
    del before[dead + "a"], before[dead + "b/c"]
    assert all_refs(repo) == before  # the live push's ref, main and the experiment are where they were
    assert not [f for f in doctor(exp, repo) if "staging" in f["what"] and f["level"] == "warning"]


def test_a_staging_ref_that_moved_is_not_deleted(repo):
    head = git(repo, "rev-parse", "HEAD").strip()
    ref = f"refs/exp-staging/{dead_pid()}-0badc0de/a"
    git(repo, "update-ref", ref, head)
    stale = leftovers.stale_staging(Repo(repo))
    git(repo, "commit", "-q", "--allow-empty", "-m", "moves")
    git(repo, "update-ref", ref, "HEAD")
    from git_exp.errors import ExpError

    with pytest.raises(ExpError):
        leftovers.drop_staging(Repo(repo), stale)
    assert all_refs(repo)[ref] == git(repo, "rev-parse", "HEAD").strip()


def test_symbolic_staging_ref_is_never_followed(repo, exp):
    head = git(repo, "rev-parse", "HEAD").strip()
    link = f"refs/exp-staging/{dead_pid()}-0badc0de/link"
    git(repo, "symbolic-ref", link, "refs/heads/main")
    assert leftovers.stale_staging(Repo(repo)) == {}
    assert exp("doctor", "--fix").code == 0
    assert all_refs(repo)["refs/heads/main"] == head
    assert f"{link} is a symbolic ref to refs/heads/main" in exp("doctor").out


def test_temp_index_files_of_dead_saves_in_every_worktree(repo, exp, sleeper, tmp_path):
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"))
    linked = Path(git(tmp_path / "wt", "rev-parse", "--absolute-git-dir").strip())
    pid = dead_pid()
    stale = [repo / ".git" / f"exp-index.{pid}.a1b2c3", repo / ".git" / f"exp-index.{pid}.a1b2c3.lock",
             linked / f"exp-index.{pid}.d4e5f6"]
    live = repo / ".git" / f"exp-index.{sleeper}.0f0f0f"
    for path in stale + [live]:
        path.write_bytes(b"x" * 400_000)
    before = all_refs(repo)

    findings = doctor(exp, repo)
    assert [w for w in warnings(findings) if "temporary index" in w] == [
        "3 temporary index files (1.2 MB) left by interrupted `git exp save`/`run`, such as "
        f".git/exp-index.{pid}.a1b2c3"]
    ran = exp("doctor", "--fix")
    assert "fixed: removed 0 staging refs, 3 temporary index files and 0 part files of facts (1.2 MB), 0 stale lock files" in ran.err, ran
    assert [p for p in stale if p.exists()] == [] and live.exists()
    assert all_refs(repo) == before


def test_save_sweeps_temp_index_files_of_dead_saves(repo, exp, sleeper):
    pid = dead_pid()
    stale = repo / ".git" / f"exp-index.{pid}.a1b2c3"
    live = repo / ".git" / f"exp-index.{sleeper}.0f0f0f"
    for path in (stale, live):
        path.write_bytes(b"x" * 1000)
    assert exp("save", "-n", "e1").code == 0
    assert not stale.exists() and live.exists()
    assert sorted(p.name for p in (repo / ".git").iterdir() if p.name.startswith("exp-index.")) == [live.name]


def files_backend(repo: Path) -> bool:
    return git(repo, "rev-parse", "--show-ref-format", check=False).strip() in ("", "files", "--show-ref-format")


def lock_file(repo: Path, ref: str, age: float = 0) -> Path:
    """What a git killed while writing ``ref`` leaves (files backend)."""
    if not files_backend(repo):
        pytest.skip("per-ref lock files belong to the files backend")
    path = repo / ".git" / (ref + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("0" * 40 + "\n")
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_stale_lock_files_reported_and_removed_then_the_ref_can_change(repo, exp):
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/exp/a", head)
    old = lock_file(repo, "refs/exp/a", age=1200)
    fresh = lock_file(repo, "refs/remote-exp/origin/b")
    failed = subprocess.run(["git", "update-ref", "-d", "refs/exp/a"], cwd=repo, capture_output=True, text=True)
    assert failed.returncode and "File exists" in failed.stderr  # what makes a rerun of rm fail
    before = all_refs(repo)

    # a git working in this repository might hold the fresh lock: it is only reported
    with git_working_in(repo):
        found = doctor(exp, repo)
        locks = [(f["level"], f["fixable"], f["what"].split(" (")[0]) for f in found if "lock file" in f["what"]]
        assert locks == [("warning", True, "stale lock file .git/refs/exp/a.lock"),
                         ("info", False, "lock file .git/refs/remote-exp/origin/b.lock")], found
        assert "20 min old; no git that could hold it is running): every update of refs/exp/a fails" in str(found)
        ran = exp("doctor", "--fix")
        assert "fixed: removed 0 staging refs, 0 temporary index files and 0 part files of facts (0 kB), 1 stale lock files" in ran.err, ran
        assert not old.exists() and fresh.exists()

    # no git runs here any more: the fresh lock cannot be held either
    assert [f["level"] for f in doctor(exp, repo) if "lock file" in f["what"]] == ["warning"]
    assert exp("doctor", "--fix").code == 0
    assert not fresh.exists()
    assert all_refs(repo) == before
    git(repo, "update-ref", "-d", "refs/exp/a")  # the rerun works


def test_a_reftable_table_lock_a_killed_git_left_is_named_and_removed(repo, exp):
    """A git killed while it compacted reftable's tables leaves ``<table>.ref.lock`` (the
    stress suite's ``kill gc --keep`` found three): git never compacts that table again
    and ``git pack-refs`` fails.  doctor says so, and gc (no git runs here) removes it,
    after which git compacts again and every ref is as it was."""
    tables = repo / ".git" / "reftable"
    if not tables.is_dir():
        pytest.skip("reftable repositories only")
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/exp/a", head)
    table = sorted(tables.glob("*.ref"))[0]
    lock = table.with_name(table.name + ".lock")
    lock.write_text("")  # what the killed git left
    assert subprocess.run(["git", "pack-refs"], cwd=repo, capture_output=True).returncode != 0
    before = git(repo, "for-each-ref")
    said = [w for w in warnings(doctor(exp, repo)) if lock.name in w]
    assert len(said) == 1 and said[0].startswith(f"stale lock file .git/reftable/{lock.name} ("), said
    assert "git cannot compact that reftable table (`git pack-refs` fails" in said[0]
    assert exp("gc").code == 0 and not lock.exists()
    git(repo, "pack-refs")
    assert git(repo, "for-each-ref") == before and [w for w in warnings(doctor(exp, repo)) if "lock" in w] == []


def test_any_ref_write_clears_a_killed_compactions_table_lock(repo, exp):
    """The table lock of a killed reftable compaction makes no write fail, so the next
    write of ours (a save here) clears it once it is stale (no git runs here); one a
    running git may hold is kept."""
    tables = repo / ".git" / "reftable"
    if not tables.is_dir():
        pytest.skip("reftable repositories only")
    table = sorted(tables.glob("*.ref"))[0]
    lock = table.with_name(table.name + ".lock")
    lock.write_text("")
    with git_working_in(repo):
        assert exp("save", "-n", "a").code == 0 and lock.exists()  # a git works here: it may hold it
    assert exp("save", "-n", "b").code == 0 and not lock.exists()
    git(repo, "pack-refs")


def test_a_lock_that_changed_since_it_was_found_is_kept(repo):
    path = lock_file(repo, "refs/exp/a", age=1200)
    found = leftovers.locks(Repo(repo))
    os.utime(path, None)  # a git took the lock again meanwhile
    assert leftovers.drop_locks(found) == [] and path.exists()


def test_symbolic_and_non_commit_refs_are_reported_not_removed(repo, exp):
    head = git(repo, "rev-parse", "HEAD").strip()
    blob = git(repo, "hash-object", "-w", "--stdin", input="data\n").strip()
    git(repo, "symbolic-ref", "refs/exp/link", "refs/heads/main")
    git(repo, "update-ref", "refs/exp/blob", blob)
    before = all_refs(repo)
    ran = exp("doctor")
    assert ran.code == 0, ran
    assert ("warning  refs/exp/link is a symbolic ref to refs/heads/main: git-exp skips it — inspect with "
            "`git symbolic-ref refs/exp/link`, remove it (not its target) with "
            "`git symbolic-ref --delete refs/exp/link`") in ran.out.splitlines()
    assert "         fix: git symbolic-ref --delete refs/exp/link" in ran.out.splitlines()
    assert (f"warning  refs/exp/blob points at a blob, not a commit: git-exp skips it — inspect with "
            f"`git cat-file -p {blob}`, remove it with `git update-ref -d refs/exp/blob {blob}`") \
        in ran.out.splitlines()
    assert exp("doctor", "--fix").code == 0
    assert all_refs(repo) == before and before["refs/heads/main"] == head
    git(repo, "symbolic-ref", "--delete", "refs/exp/link")  # the command shown does what it says
    assert git(repo, "rev-parse", "main").strip() == head


def test_remote_name_and_refspec_git_cannot_use(repo, exp, tmp_path):
    """What `install 'a b'` of an older version left: every `git fetch` dies."""
    url = str(bare_remote(tmp_path / "r.git"))
    git(repo, "remote", "add", "origin", url)
    git(repo, "config", "remote.a b.url", url)
    git(repo, "config", "remote.a b.fetch", "+refs/exp/*:refs/remote-exp/a b/*")
    git(repo, "config", "exp.a b.installed", "fetch=+refs/exp/*:refs/remote-exp/a b/*")
    git(repo, "config", "remote.origin.push", "refs/heads/*:refs/x y/*")  # the user's own, as bad
    failed = subprocess.run(["git", "fetch", "origin"], cwd=repo, capture_output=True, text=True)
    assert failed.returncode and "invalid refspec" in failed.stderr

    found = [f for f in doctor(exp, repo) if f["level"] == "warning"]
    assert {"remote": "a b", "level": "warning",
            "what": "git-exp cannot work with remote 'a b': a name may not contain ' '",
            "fix": "git remote rename 'a b' NEW-NAME", "fixable": False} in found
    assert {"remote": "a b", "level": "warning",
            "what": "fetch refspec '+refs/exp/*:refs/remote-exp/a b/*' is one git cannot parse "
                    "('refs/remote-exp/a b/*': it contains ' '): every `git fetch` of 'a b' fails (git-exp added it)",
            "fix": "git config --unset --fixed-value 'remote.a b.fetch' '+refs/exp/*:refs/remote-exp/a b/*'",
            "fixable": True} in found
    mine = [f for f in found if f["remote"] == "origin" and "cannot parse" in f["what"]]
    assert [(f["fixable"], f["fix"]) for f in mine] == [
        (False, "git config --unset --fixed-value 'remote.origin.push' 'refs/heads/*:refs/x y/*'")]

    ran = exp("doctor", "--fix")
    assert ran.code == 0, ran
    assert git(repo, "config", "--get-all", "remote.a b.fetch", check=False) == ""
    assert git(repo, "config", "--get-regexp", r"^exp\.", check=False) == ""
    assert git(repo, "config", "--get-all", "remote.origin.push") == "refs/heads/*:refs/x y/*\n"  # the user's stays
    failed = subprocess.run(["git", "fetch", "origin"], cwd=repo, capture_output=True, text=True)
    assert "invalid refspec 'refs/heads/*:refs/x y/*'" in failed.stderr  # the user's own still breaks it
    subprocess.run(mine[0]["fix"], shell=True, cwd=repo, check=True)  # the command doctor gave
    git(repo, "fetch", "-q", "origin")  # fetch works again
    assert not [f for f in doctor(exp, repo) if "cannot parse" in f["what"]]
    assert_error(exp("uninstall", "a b"), 2, "git-exp cannot work with remote 'a b'")


def test_refs_under_remote_exp_of_no_possible_remote(repo, exp):
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/remote-exp/-x/e", head)
    git(repo, "update-ref", "refs/remote-exp/a/b/e", head)
    found = doctor(exp, repo)
    assert {"remote": None, "level": "warning",
            "what": "1 refs under refs/remote-exp/-x/, which is no remote git-exp can work with "
                    "(a name may not start with '-')",
            "fix": "git exp doctor --fix", "fixable": True} in found
    assert_error(exp("uninstall", "a/b"), 2, "contains '/'")
    assert all_refs(repo)["refs/remote-exp/a/b/e"] == head  # uninstall of 'a/b' touched nothing
    assert exp("doctor", "--fix").code == 0
    refs = all_refs(repo)
    assert "refs/remote-exp/-x/e" not in refs
    assert "refs/remote-exp/a/b/e" not in refs  # no remote 'a': the orphans of 'a' went by `uninstall a`
    assert refs["refs/heads/main"] == head


REFSPECS = [
    "+refs/exp/*:refs/remote-exp/origin/*", "refs/exp/*:refs/exp/*", "HEAD", ":", "+:", "@",
    "+refs/exp/*:refs/remote-exp/a b/*", "refs/exp/*:refs/x", "refs/exp/x:refs/y/*", "refs/exp/*",
    "refs/heads/main", "main:refs/heads/release", "refs/heads/a..b:refs/x", "refs/heads/*:refs/x/*/*",
    "refs/heads/x.lock:refs/y", "^refs/heads/skip", "^refs/heads/a:b", "refs/heads/.x:refs/y",
    "refs/heads/x:", ":refs/heads/gone", "refs/heads/a@{1}:refs/b", "refs/heads/a~1:refs/b",
    "refs/heads/tab\there:refs/b", "refs/heads/*:refs/remotes/o/*", "refs/heads//a:refs/b", "refs/heads/a/:refs/b",
]


@pytest.mark.parametrize("kind", ("fetch", "push"))
def test_refspec_rule_agrees_with_git(tmp_path, kind):
    url = str(bare_remote(tmp_path / "r.git"))
    work = tmp_path / "w"
    git(tmp_path, "init", "-q", "-b", "main", "w")
    for spec in REFSPECS:
        ran = subprocess.run(["git", "-c", f"remote.t.url={url}", "-c", f"remote.t.{kind}={spec}", kind,
                              "--dry-run", "t"], cwd=work, capture_output=True, text=True)
        git_says = "invalid refspec" not in ran.stderr
        assert (refspecs.problem(spec, kind) is None) == git_says, (spec, kind, ran.stderr)


def test_a_ref_name_git_refuses_to_read_is_reported_not_a_crash(repo, exp):
    """What a pull of an older version wrote for a remote named '..': every git command dies."""
    if not files_backend(repo):
        pytest.skip("packed-refs belongs to the files backend")
    git(repo, "pack-refs", "--all")
    head = git(repo, "rev-parse", "HEAD").strip()
    with open(repo / ".git" / "packed-refs", "a") as packed:  # test setup only: git would refuse to write it
        packed.write(f"{head} refs/remote-exp/x/../e1\n")
    ran = exp("doctor")
    assert ran.code == 0, ran
    assert ran.out.splitlines() == [
        "warning  git cannot list the refs: fatal: packed refname is dangerous: refs/remote-exp/x/../e1",
        "         fix: remove the line with that ref from the packed-refs file of the git directory (git has no "
        "command that can) and run `git exp doctor` again"]
    assert "Traceback" not in ran.err


def test_a_ref_name_that_is_not_utf8_is_reported_with_its_name_cut(repo, exp):
    subprocess.run([b"git", b"update-ref", b"refs/remote-exp/origin/caf\xe9", b"HEAD"], cwd=repo, check=True)
    ran = exp("doctor")
    assert ran.code == 0 and "Traceback" not in ran.err, ran
    assert ("warning  'refs/remote-exp/origin/caf\ufffd' has a name that is not UTF-8: git-exp skips it — find it "
            "with `git for-each-ref refs/remote-exp/` and remove it with `git update-ref -d`") in ran.out.splitlines()
    assert "origin" not in ran.out.replace("refs/remote-exp/origin/caf", "")  # not counted as origin's
    assert exp("doctor", "--fix").code == 0
    assert b"caf\xe9" in subprocess.run(["git", "for-each-ref"], cwd=repo, capture_output=True).stdout


def test_uninstall_all_checks_every_remote_name_before_changing_anything(repo, exp, tmp_path):
    url = str(bare_remote(tmp_path / "r.git"))
    git(repo, "remote", "add", "origin", url)
    assert exp("install", "origin").code == 0
    git(repo, "config", "remote.a b.url", url)
    config = (repo / ".git" / "config").read_bytes()
    assert_error(exp("uninstall", "--all"), 2, "git-exp cannot work with remote 'a b'")
    assert (repo / ".git" / "config").read_bytes() == config


def test_a_reused_pid_does_not_keep_staging_refs_alive(repo, sleeper):
    """The pid of a killed push now belongs to a younger process: the refs are stale."""
    if not files_backend(repo):
        pytest.skip("the loose ref's mtime tells when it was written (files backend)")
    head = git(repo, "rev-parse", "HEAD").strip()
    ref = f"refs/exp-staging/{sleeper}-0badc0de/a"
    git(repo, "update-ref", ref, head)
    assert leftovers.stale_staging(Repo(repo)) == {}  # its process runs
    loose = repo / ".git" / ref
    os.utime(loose, (OLD, OLD))  # written an hour ago, before that process started
    assert leftovers.stale_staging(Repo(repo)) == {ref: head}


def test_install_and_uninstall_get_past_the_config_lock_a_killed_git_left(repo, exp, tmp_path):
    """A ``git config`` killed while it wrote leaves ``config.lock``, and every later
    write of the config fails: install and uninstall remove it when it is stale (no git
    runs here), and say what it is, in one line, while a git that could hold it runs."""
    remote = bare_remote(tmp_path / "remote.git")
    git(repo, "remote", "add", "origin", str(remote))
    lock = repo / ".git" / "config.lock"
    lock.write_text("[half a config\n")
    failed = subprocess.run(["git", "config", "x.y", "z"], cwd=repo, capture_output=True, text=True)
    assert failed.returncode and "could not lock config file" in failed.stderr
    with git_working_in(repo):
        assert_error(exp("install", "origin"), 1, "could not write the git config: another git is writing it")
        assert lock.exists() and "exp.origin.installed" not in git(repo, "config", "--list")
        assert "a git may be writing the git config" in str(doctor(exp, repo))
    ran = exp("install", "origin")
    assert ran.code == 0, ran
    assert not lock.exists() and "+refs/exp/*:refs/remote-exp/origin/*" in git(repo, "config", "--get-all",
                                                                              "remote.origin.fetch")
    lock.write_text("")
    assert exp("uninstall", "origin").code == 0 and not lock.exists()
    assert "exp.origin" not in git(repo, "config", "--list")


def test_a_push_clears_the_staging_locks_a_killed_push_left(repo, exp, tmp_path, monkeypatch):
    """A push killed while git wrote its staging refs leaves their locks and no ref; the
    next push of a subset through staging refs removes those locks (no git runs here) and
    leaves none of its own."""
    from git_exp.commands import push

    monkeypatch.setattr(push, "EXPLICIT_MAX", 0)  # stage even one experiment
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/exp/sweep/1", head)
    left = [lock_file(repo, f"refs/exp-staging/{dead_pid()}-0badc0de/e0{i}") for i in range(3)]
    remote = bare_remote(tmp_path / "remote.git")
    git(repo, "remote", "add", "origin", str(remote))
    ran = exp("push", "origin", "sweep/1")
    assert ran.code == 0, ran
    assert not any(path.exists() for path in left)
    assert git(remote, "for-each-ref", "--format=%(refname)", "refs/exp/").split() == ["refs/exp/sweep/1"]
    assert not list((repo / ".git" / "refs" / "exp-staging").rglob("*.lock"))
