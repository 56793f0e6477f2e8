"""Install never changes what a plain ``git push`` does to branches.

Each case is built once and copied: in one copy nothing is installed, in the other
``git exp install`` runs; then a real plain ``git push`` runs in both, and the branches
on the two bare remotes must be the same (and so must git's exit code).  The push
refspecs are written exactly where ``push = HEAD`` (or ``:``) is what git would do anyway.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import assert_error, commit_all, git, write

MODES = ("", "simple", "current", "upstream", "nothing", "matching")  # "": unset (git's default, simple)
TRACKING = ("same", "other", "none")
EXP_PUSH = "refs/exp/*:refs/exp/*"
NOTES_PUSH = "refs/notes/exp*:refs/notes/exp*"  # tags and notes: install writes it beside EXP_PUSH
# where install may write push refspecs: (mode, tracking) -> branch refspec written beside the experiments' one
WRITES = {("current", t): "HEAD" for t in TRACKING} | {("matching", t): ":" for t in TRACKING} | {
    ("", "same"): "HEAD", ("simple", "same"): "HEAD", ("upstream", "same"): "HEAD"}


def build(root: Path, tracking: str) -> Path:
    """``root/remote.git`` and ``root/work``, a clone on branch ``mywork`` (upstream:
    ``same`` origin/mywork, ``other`` origin/main, ``none``), both branches a commit ahead
    of the remote, and one experiment.  URLs are relative, so a copy of ``root`` is a
    separate world."""
    git(root, "init", "-q", "--bare", "-b", "main", "remote.git")
    work = root / "work"
    git(root, "init", "-q", "-b", "main", "work")
    git(work, "remote", "add", "origin", "../remote.git")
    write(work, {"README": "hello\n"})
    commit_all(work, "initial")
    git(work, "push", "-q", "-u", "origin", "main")
    if tracking == "same":
        git(work, "checkout", "-q", "-b", "mywork")
        git(work, "push", "-q", "-u", "origin", "mywork")
    git(work, "checkout", "-q", "main")
    write(work, {"main.txt": "more\n"})
    commit_all(work, "main moves on")
    if tracking == "other":
        git(work, "checkout", "-q", "-b", "mywork", "origin/main")
    elif tracking == "none":
        git(work, "checkout", "-q", "--no-track", "-b", "mywork", "origin/main")
    else:
        git(work, "checkout", "-q", "mywork")
    write(work, {"work.txt": "mine\n"})
    commit_all(work, "my work")
    git(work, "update-ref", "refs/exp/e1", "HEAD")
    return work


def plain_push(work: Path) -> int:
    return subprocess.run(["git", "push", "-q"], cwd=work, capture_output=True).returncode


def heads(bare: Path) -> dict[str, str]:
    out = git(bare, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
    return dict(line.split(" ") for line in out.splitlines())


ARCHIVES = "refs/exp-archive/*:refs/exp-archive/*"  # written beside the experiments' (test_archive.py)


def pushes(work: Path, remote: str = "origin") -> list[str]:
    """The push refspecs, but the archives' one (tests/test_archive.py checks it) and the tags
    and notes' one (tests/test_notes.py)."""
    found = [v for v in git(work, "config", "--get-all", f"remote.{remote}.push", check=False).splitlines()
             if v != ARCHIVES]
    if NOTES_PUSH in found:
        assert EXP_PUSH in found  # written together
        found.remove(NOTES_PUSH)
    return found


def twins(tmp_path: Path, mode: str, tracking: str) -> tuple[Path, Path]:
    """(without install, to install in): two copies of the same case."""
    (tmp_path / "a").mkdir()
    build(tmp_path / "a", tracking)
    shutil.copytree(tmp_path / "a", tmp_path / "b", symlinks=True)
    for side in ("a", "b"):
        if mode:
            git(tmp_path / side / "work", "config", "push.default", mode)
    return tmp_path / "a" / "work", tmp_path / "b" / "work"


@pytest.mark.parametrize("tracking", TRACKING)
@pytest.mark.parametrize("mode", MODES)
def test_plain_push_does_to_branches_what_it_did_before_install(tmp_path, exp, mode, tracking):
    without, installed = twins(tmp_path, mode, tracking)
    config = installed / ".git" / "config"
    original = config.read_bytes()
    ran = exp("install", "origin", cwd=installed)
    assert ran.code == 0, ran
    branch_spec = WRITES.get((mode, tracking))
    if branch_spec:
        assert pushes(installed) == [branch_spec, EXP_PUSH], ran
        assert f"origin: added push = {branch_spec}" in ran.out.splitlines()
        assert "wrote the fetch refspec only" not in ran.err
    else:
        assert pushes(installed) == [], ran
        assert ran.out == ("origin: added fetch = +refs/exp/*:refs/remote-exp/origin/*\n"
                           "origin: added fetch = +refs/notes/exp*:refs/notes/remote-exp/origin*\n"), ran
        assert "origin: wrote the fetch refspec only" in ran.err, ran
        assert "`git exp install origin --push` writes the push refspecs anyway" in ran.err
        if mode == "nothing":
            assert "push.default=nothing" in ran.err
        else:
            assert "branch 'mywork': with `push = HEAD` a plain push to origin would update origin's mywork" in ran.err

    before = (plain_push(without), heads(without.parent / "remote.git"))
    after = (plain_push(installed), heads(installed.parent / "remote.git"))
    assert after == before, (mode, tracking, ran.err)
    sent = git(installed.parent / "remote.git", "for-each-ref", "refs/exp/")
    assert bool(sent) == bool(branch_spec)  # experiments go with plain git push where the refspecs are

    assert exp("uninstall", "origin", cwd=installed).code == 0
    assert config.read_bytes() == original


def test_the_issue_case_push_default_upstream_branch_tracking_main(tmp_path, exp):
    """push.default=upstream, mywork tracking origin/main: plain git push updates main, and
    still does after install; with --push it would create mywork, and install says so."""
    without, installed = twins(tmp_path, "upstream", "other")
    assert exp("install", cwd=installed).code == 0
    findings = json.loads(exp("doctor", "--json", cwd=installed).out)
    assert {"remote": "origin", "level": "info", "fix": None, "fixable": False,
            "what": "fetch refspec only: plain `git push` to origin sends no experiments (`git exp push origin` "
                    "does); push refspecs would change what it does to branches: branch 'mywork': with "
                    "`push = HEAD` a plain push to origin would update origin's mywork; today it goes to "
                    "origin's main"} in findings
    assert not [f for f in findings if f["level"] == "warning"], findings
    assert plain_push(installed) == 0
    remote = installed.parent / "remote.git"
    assert "refs/heads/mywork" not in heads(remote)
    assert heads(remote)["refs/heads/main"] == git(installed, "rev-parse", "mywork").strip()

    ran = exp("install", "--push", cwd=without)
    assert ran.code == 0, ran
    assert [line for line in ran.out.splitlines() if "added push" in line] == [
        "origin: added push = HEAD", f"origin: added push = {EXP_PUSH}", f"origin: added push = {NOTES_PUSH}"], ran
    assert ("origin:   branch 'mywork': a plain push to origin updates origin's mywork (`push = HEAD`); "
            "without git-exp's push refspecs it goes to origin's main") in ran.err.splitlines(), ran
    assert "origin: (`git exp install origin` without --push puts it back)" in ran.err
    assert plain_push(without) == 0
    assert "refs/heads/mywork" in heads(without.parent / "remote.git")  # what --push said

    # doctor reports it as chosen (info), and --fix leaves it
    findings = json.loads(exp("doctor", "--json", cwd=without).out)
    mine = [f for f in findings if "branch 'mywork'" in f["what"]]
    assert [(f["level"], f["fixable"]) for f in mine] == [("info", False)], findings
    assert "(you installed with --push)" in mine[0]["what"]
    assert exp("doctor", "--fix", cwd=without).code == 0
    assert pushes(without) == ["HEAD", EXP_PUSH]

    # install without --push puts plain git push back as it was
    ran = exp("install", cwd=without)
    assert ran.code == 0, ran
    assert ran.out.splitlines() == ["origin: removed push = HEAD", f"origin: removed push = {EXP_PUSH}",
                                    f"origin: removed push = {NOTES_PUSH}"], ran
    assert pushes(without) == []
    assert git(without, "config", "--get-all", "exp.origin.installed").splitlines() == [
        "fetch=+refs/exp/*:refs/remote-exp/origin/*", "fetch=+refs/notes/exp*:refs/notes/remote-exp/origin*",
        f"fetch={ARCHIVES}"]


def test_push_and_fetch_only_together_are_refused(tmp_path, exp):
    work = build(tmp_path, "same")
    config = (work / ".git" / "config").read_bytes()
    assert_error(exp("install", "--push", "--fetch-only", cwd=work), 2, "--fetch-only and --push", "choose one")
    assert (work / ".git" / "config").read_bytes() == config


def test_fetch_only_after_a_full_install_removes_push_head_too(tmp_path, exp):
    work = build(tmp_path, "same")
    assert exp("install", cwd=work).code == 0
    assert pushes(work) == ["HEAD", EXP_PUSH]
    ran = exp("install", "--fetch-only", cwd=work)
    assert ran.out.splitlines() == ["origin: removed push = HEAD", f"origin: removed push = {EXP_PUSH}",
                                    f"origin: removed push = {NOTES_PUSH}"], ran
    assert pushes(work) == []


def test_auto_setup_remote_makes_a_branch_without_upstream_push_to_its_own_name(tmp_path, exp):
    without, installed = twins(tmp_path, "", "none")
    for work in (without, installed):
        git(work, "config", "push.autoSetupRemote", "true")
    assert exp("install", cwd=installed).code == 0
    assert pushes(installed) == ["HEAD", EXP_PUSH]
    assert (plain_push(installed), heads(installed.parent / "remote.git")) == (
        plain_push(without), heads(without.parent / "remote.git"))


@pytest.mark.parametrize("mode", ("", "upstream"))
def test_branch_of_another_remote(tmp_path, exp, mode):
    """mywork tracks a branch of another remote: a push to origin is "triangular"; simple
    pushes to the same name there, upstream refuses."""
    without, installed = twins(tmp_path, mode, "other")
    for work in (without, installed):
        git(work, "remote", "add", "upstream", "../remote.git")
        git(work, "fetch", "-q", "upstream")
        git(work, "branch", "-q", "--set-upstream-to", "upstream/main", "mywork")
        git(work, "branch", "-q", "--set-upstream-to", "upstream/main", "main")
    assert exp("install", "origin", cwd=installed).code == 0
    assert pushes(installed) == ([] if mode == "upstream" else ["HEAD", EXP_PUSH])
    before = subprocess.run(["git", "push", "-q", "origin"], cwd=without, capture_output=True).returncode
    after = subprocess.run(["git", "push", "-q", "origin"], cwd=installed, capture_output=True).returncode
    assert (after, heads(installed.parent / "remote.git")) == (before, heads(without.parent / "remote.git"))


def test_a_remote_with_push_refspecs_of_its_own_gets_no_branch_refspec(tmp_path, exp):
    work = build(tmp_path, "other")
    git(work, "config", "push.default", "upstream")
    git(work, "config", "remote.origin.push", "refs/heads/mywork:refs/heads/review")
    ran = exp("install", cwd=work)
    assert ran.code == 0, ran
    assert pushes(work) == ["refs/heads/mywork:refs/heads/review", EXP_PUSH]
    assert "wrote the fetch refspec only" not in ran.err


def test_doctor_rechecks_every_branch_after_install_and_fix_restores_plain_push(tmp_path, exp):
    work = build(tmp_path, "same")
    assert exp("install", cwd=work).code == 0
    assert pushes(work) == ["HEAD", EXP_PUSH]
    assert not [f for f in json.loads(exp("doctor", "--json", cwd=work).out) if f["level"] == "warning"]

    git(work, "checkout", "-q", "-b", "feature", "origin/main")  # tracks main: simple refuses to push it
    git(work, "branch", "-q", "--no-track", "local-only")
    ran = exp("doctor", cwd=work)
    assert ran.code == 0, ran
    assert ("warning  origin: branch 'feature': a plain push to origin updates origin's feature (`push = HEAD`); "
            "without git-exp's push refspecs it is refused (push.default=simple (the default) and its upstream "
            "main has another name)") in ran.out.splitlines(), ran.out
    assert ("warning  origin: branch 'local-only': a plain push to origin updates origin's local-only "
            "(`push = HEAD`); without git-exp's push refspecs it is refused (it has no upstream)") \
        in ran.out.splitlines(), ran.out
    assert "         fix: git exp install origin  (keeps the fetch refspec only)" in ran.out

    remote = tmp_path / "remote.git"
    before = heads(remote)
    ran = exp("doctor", "--fix", cwd=work)
    assert ran.code == 0, ran
    assert "removed the push refspecs" in ran.err
    assert pushes(work) == []
    assert [v for v in git(work, "config", "--get-all", "remote.origin.fetch").splitlines() if v != ARCHIVES][-2:] == [
        "+refs/exp/*:refs/remote-exp/origin/*", "+refs/notes/exp*:refs/notes/remote-exp/origin*"]
    assert plain_push(work) != 0  # simple refuses, as it did before install
    assert heads(remote) == before
    assert not [f for f in json.loads(exp("doctor", "--json", cwd=work).out) if f["level"] == "warning"]


def test_doctor_push_default_changed_to_matching(tmp_path, exp):
    work = build(tmp_path, "same")
    assert exp("install", cwd=work).code == 0
    git(work, "config", "push.default", "matching")
    findings = json.loads(exp("doctor", "--json", cwd=work).out)
    assert {"remote": "origin", "level": "warning",
            "what": "`push = HEAD` no longer does what push.default=matching does (that is `push = :`)",
            "fix": "git exp install origin", "fixable": True} in findings
    assert exp("doctor", "--fix", cwd=work).code == 0
    assert sorted(pushes(work)) == [":", EXP_PUSH]  # order does not matter to git
    assert not [f for f in json.loads(exp("doctor", "--json", cwd=work).out) if f["level"] == "warning"]
    assert exp("uninstall", cwd=work).code == 0
    assert pushes(work) == []


@pytest.mark.parametrize("mode", ("", "upstream"))
def test_two_remotes_none_named_origin(tmp_path, exp, mode):
    """A branch without upstream pushed to r1 while r2 exists too: git compares r1 with
    "origin", so simple pushes the branch to its own name and upstream refuses."""
    without, installed = twins(tmp_path, mode, "none")
    for work in (without, installed):
        git(work, "remote", "rename", "origin", "r1")
        git(work, "remote", "add", "r2", "../remote.git")
        git(work, "config", "--unset", "branch.main.remote")
        git(work, "config", "--unset", "branch.main.merge")
    assert exp("install", "r1", cwd=installed).code == 0
    assert pushes(installed, "r1") == ([] if mode == "upstream" else ["HEAD", EXP_PUSH])
    before = subprocess.run(["git", "push", "-q", "r1"], cwd=without, capture_output=True).returncode
    after = subprocess.run(["git", "push", "-q", "r1"], cwd=installed, capture_output=True).returncode
    assert (after, heads(installed.parent / "remote.git")) == (before, heads(without.parent / "remote.git"))
