"""Sharing experiments through real git remotes: push, pull, ls REMOTE, rm/rename --remote,
and the refspec manager (install, uninstall, doctor).

Everything runs real git against the real servers of tests/server_fixtures.py; final state
is read back with real git (for-each-ref on the clones and on the bare repository on the
server's disk, fsck), not only from git-exp's output.  Server-specific cases (HTTP auth,
gitolite, git-lfs, shallow clones, thousands of experiments) are in test_share_servers.py.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from git_exp import git as git_module

from .conftest import assert_error, commit_all, exp_refs, git, init_repo, write
from .server_fixtures import HOST, Remote, free_port

PY = sys.executable
FILES = {"README": "hello\n", "params.yaml": "lr: 0.1\n"}
EXP_FETCH = "+refs/exp/*:refs/remote-exp/origin/*"
EXP_PUSH = "refs/exp/*:refs/exp/*"
NOTES_FETCH = "+refs/notes/exp*:refs/notes/remote-exp/origin*"  # tags and notes (tests/test_notes.py)
NOTES_PUSH = "refs/notes/exp*:refs/notes/exp*"
REJECTED_HINT = "it changed on the remote: `git exp pull` and compare, then push again, or --force to overwrite"
DIVERGED_HINT = "compare with `git exp diff`, or pull --force to take theirs"


# --------------------------------------------------------------------------- helpers

def push_line(status: str, name: str, detail: str = "") -> str:
    """One line of `git exp push` / `rm --remote` / `rename --remote` output."""
    return f"{status:<12} {name}" + (f"  ({detail})" if detail else "")


def pull_line(status: str, name: str, detail: str = "") -> str:
    """One line of `git exp pull` output."""
    return f"{status:<14} {name}" + (f"  ({detail})" if detail else "")


def lines(text: str) -> list[str]:
    return sorted(text.splitlines())


def make_runner(remote: Remote, root: Path, name: str = "runner") -> Path:
    """A repository whose origin is ``remote``, with main pushed there."""
    repo = init_repo(root / name, files=dict(FILES))
    remote.configure(repo)
    git(repo, "push", "-q", "-u", "origin", "main")
    return repo


def pair(remote: Remote, root: Path) -> tuple[Path, Path]:
    """(runner, laptop): two clones of the same remote; only main is on the remote."""
    runner = make_runner(remote, root)
    laptop = remote.clone(root / "laptop")
    return runner, laptop


def pushed(remote: Remote, root: Path, exp, names) -> tuple[Path, Path]:
    """(runner, laptop): the runner saved ``names`` and pushed them all; the laptop is a
    fresh clone of the remote (it has none of them yet)."""
    runner = make_runner(remote, root)
    for name in names:
        save(exp, runner, name, files={"params.yaml": f"lr: {name}\n"})
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    return runner, remote.clone(root / "laptop")


def save(exp, repo: Path, name: str, *extra: str, files: dict | None = None) -> str:
    """``git exp save -n NAME`` (after writing ``files``); return the new sha."""
    if files:
        write(repo, files)
    ran = exp("save", "-n", name, *extra, cwd=repo)
    assert ran.code == 0, ran
    return exp_refs(repo)[name]


def on_remote(remote: Remote, prefix: str = "refs/exp/") -> dict[str, str]:
    """What the bare repository on the server's disk has under ``prefix``."""
    return exp_refs(remote.path, prefix)


def tracking(repo: Path, remote: str = "origin") -> dict[str, str]:
    return exp_refs(repo, f"refs/remote-exp/{remote}/")


def all_refs(repo: Path) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines())


def fsck(repo: Path) -> None:
    git(repo, "fsck", "--no-progress")


def has_object(repo: Path, sha: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", sha], cwd=repo, capture_output=True).returncode == 0


ARCHIVES = "refs/exp-archive/*:refs/exp-archive/*"  # install writes it beside the experiments' (test_archive.py)


def config_values(repo: Path, key: str) -> list[str]:
    """The values of ``key``, but the archives' refspec (tests/test_archive.py checks it)."""
    values = git(repo, "config", "--get-all", key, check=False).splitlines()
    return [v for v in values if v != ARCHIVES and v != f"fetch={ARCHIVES}" and v != f"push={ARCHIVES}"]


def traced_commands(trace: Path) -> list[str]:
    """The git subcommands a GIT_TRACE file shows being run (built-ins and dashed helpers)."""
    text = trace.read_text() if trace.exists() else ""
    found = re.findall(r"trace: built-in: git (\S+)", text)
    found += re.findall(r"trace: (?:exec|run_command): '?git-([a-z-]+)", text)
    return found


def assert_failed(ran, code: int, *fragments: str) -> list[str]:
    """``git-exp: error: ...`` on the first line, git's own reasons (if any) indented after it."""
    assert ran.code == code, ran
    assert "Traceback" not in ran.err, ran.err
    err_lines = ran.err.rstrip("\n").splitlines()
    assert err_lines and err_lines[0].startswith("git-exp: error: "), ran.err
    assert sum("git-exp: error:" in line for line in err_lines) == 1, ran.err
    for line in err_lines[1:]:
        assert line.startswith("    "), ran.err
    for fragment in fragments:
        assert fragment in err_lines[0], ran.err
    return err_lines


@pytest.fixture(params=("file", "http", "ssh"))
def some_remote(request) -> Remote:
    """One transport of each family (local pack protocol, smart HTTP, ssh), for checks whose
    logic does not depend on the transport beyond that; any_remote covers all of them."""
    return request.getfixturevalue(f"{request.param}_remote")


# --------------------------------------------------------------------------- push / pull across transports

def test_push_names_globs_all_then_pull_without_install(any_remote, tmp_path, exp):
    remote = any_remote
    runner, laptop = pair(remote, tmp_path)
    a = save(exp, runner, "a", files={"params.yaml": "lr: 0.2\n"})
    s1 = save(exp, runner, "sweep/1", files={"params.yaml": "lr: 0.3\n"})
    s2 = save(exp, runner, "sweep/2", files={"params.yaml": "lr: 0.4\n"})
    ran = exp("run", "-n", "ci/1", "--", PY, "-c", "open('metrics.json', 'w').write('{\"acc\": 0.9}')", cwd=runner)
    assert ran.code == 0, ran

    ran = exp("push", "origin", "a", cwd=runner)
    assert (ran.code, ran.out) == (0, push_line("new", "a") + "\n"), ran
    assert on_remote(remote) == {"a": a}

    ran = exp("push", "origin", "sweep/*", cwd=runner)
    assert ran.code == 0 and lines(ran.out) == [push_line("new", "sweep/1"), push_line("new", "sweep/2")], ran
    assert on_remote(remote) == {"a": a, "sweep/1": s1, "sweep/2": s2}

    ran = exp("push", "origin", "a", cwd=runner)
    assert (ran.code, ran.out, ran.err) == (0, "", "1 experiment already up to date\n"), ran

    a2 = save(exp, runner, "a", "--append", files={"notes.txt": "second look\n"})
    ran = exp("push", "origin", "a", cwd=runner)
    assert (ran.code, ran.out) == (0, push_line("updated", "a") + "\n"), ran
    assert on_remote(remote)["a"] == a2

    b = save(exp, runner, "b", files={"params.yaml": "lr: 0.5\n"})
    ran = exp("push", "origin", "--dry-run", "b", cwd=runner)
    assert (ran.code, ran.out) == (0, push_line("would be new", "b") + "\n"), ran
    assert "b" not in on_remote(remote)

    ran = exp("push", "origin", "--all", cwd=runner)
    assert ran.code == 0, ran
    assert lines(ran.out) == sorted([push_line("new", "b"), push_line("new", "ci/1")])
    assert ran.err == "2 new, 3 up to date\n"  # the summary of a bulk push
    assert on_remote(remote) == exp_refs(runner) == {"a": a2, "b": b, "ci/1": exp_refs(runner)["ci/1"],
                                                     "sweep/1": s1, "sweep/2": s2}
    assert set(all_refs(remote.path)) == {"refs/heads/main", *(f"refs/exp/{n}" for n in exp_refs(runner))}

    # the laptop has nothing installed: its clone only knows branches
    assert config_values(laptop, "remote.origin.fetch") == ["+refs/heads/*:refs/remotes/origin/*"]
    assert exp_refs(laptop) == {}
    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert ran.code == 0, ran
    assert lines(ran.out) == sorted(pull_line("new", n) for n in exp_refs(runner))
    assert exp_refs(laptop) == exp_refs(runner)
    assert tracking(laptop) == exp_refs(runner)
    fsck(laptop)
    assert git(laptop, "show", "refs/exp/ci/1:metrics.json") == '{"acc": 0.9}'
    assert git(laptop, "show", "refs/exp/a:notes.txt") == "second look\n"
    assert "Exp-Exit-Code: 0" in git(laptop, "log", "-1", "--format=%B", "refs/exp/ci/1")
    for repo in (runner, laptop, remote.path):
        assert not [r for r in all_refs(repo) if r.startswith("refs/exp-staging/")]

    # a second pull changes nothing and says so; so does a second push, without running git push
    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert (ran.code, ran.out) == (0, ""), ran
    assert ran.err == "5 experiments already up to date\n"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(git_module, "TRACE", True)
        ran = exp("push", "origin", "--all", cwd=runner)
    traced = [line for line in ran.err.splitlines() if line.startswith("git-exp: trace:")]
    assert traced and not [line for line in traced if " git push " in line], traced
    assert (ran.code, ran.out) == (0, "") and ran.err.endswith("\n5 experiments already up to date\n"), ran
    # the remote has one more than we do: still nothing to push
    git(laptop, "update-ref", "refs/exp/laptop-only", a2)
    assert exp("push", "origin", "laptop-only", cwd=laptop).code == 0
    ran = exp("push", "origin", "--all", cwd=runner)
    assert (ran.code, ran.out, ran.err) == (0, "", "5 experiments already up to date\n"), ran


def test_install_then_plain_git_fetch_and_push(any_remote, tmp_path, exp):
    remote = any_remote
    runner, laptop = pair(remote, tmp_path)
    a = save(exp, runner, "a", files={"params.yaml": "lr: 0.2\n"})
    ci = save(exp, runner, "ci/7", files={"params.yaml": "lr: 0.3\n"})
    assert exp("push", "origin", "--all", cwd=runner).code == 0

    ran = exp("install", "origin", cwd=laptop)
    assert ran.code == 0, ran
    assert ran.out.splitlines() == [f"origin: added fetch = {EXP_FETCH}", "origin: added push = HEAD",
                                    f"origin: added push = {EXP_PUSH}", f"origin: added fetch = {NOTES_FETCH}",
                                    f"origin: added push = {NOTES_PUSH}"]
    assert "origin: added `push = HEAD`" in ran.err
    assert "origin: has 2 experiments;" in ran.err
    assert config_values(laptop, "remote.origin.fetch") == ["+refs/heads/*:refs/remotes/origin/*", EXP_FETCH,
                                                            NOTES_FETCH]
    assert config_values(laptop, "remote.origin.push") == ["HEAD", EXP_PUSH, NOTES_PUSH]

    git(laptop, "fetch", "-q")  # plain git fetch
    assert git(laptop, "for-each-ref", "--format=%(refname) %(objectname)", "refs/remote-exp/").splitlines() == [
        f"refs/remote-exp/origin/a {a}", f"refs/remote-exp/origin/ci/7 {ci}"]
    assert exp_refs(laptop) == {}  # fetch fills remote-tracking experiments only
    assert "exp" not in git(laptop, "branch", "-r")
    fsck(laptop)

    # plain git push sends the branch (push = HEAD) and the experiments
    write(laptop, {"code.py": "print(1)\n"})
    head = commit_all(laptop, "work on the laptop")
    mine = save(exp, laptop, "laptop/1", files={"params.yaml": "lr: 0.9\n"})
    git(laptop, "push", "-q")
    assert git(remote.path, "rev-parse", "refs/heads/main").strip() == head
    assert on_remote(remote) == {"a": a, "ci/7": ci, "laptop/1": mine}

    # the runner's plain fetch (nothing installed there) brings no experiments
    git(runner, "fetch", "-q")
    assert git(runner, "for-each-ref", "refs/remote-exp/") == ""


def test_ls_remote_states(any_remote, tmp_path, exp):
    remote = any_remote
    runner, laptop = pair(remote, tmp_path)
    for name in ("same", "ahead", "behind", "div", "nf"):
        save(exp, runner, name, files={"params.yaml": f"lr: {name}\n"})
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    assert exp("pull", "origin", "same", "ahead", "behind", "div", "nf", cwd=laptop).code == 0

    save(exp, runner, "remote-only", files={"params.yaml": "lr: r\n"})
    save(exp, laptop, "local-only", files={"params.yaml": "lr: l\n"})
    save(exp, laptop, "ahead", "--append", files={"laptop.txt": "more\n"})
    save(exp, runner, "behind", "--append", files={"runner.txt": "more\n"})
    save(exp, runner, "div", "--force", files={"params.yaml": "lr: replaced\n"})
    save(exp, runner, "nf", "--append", files={"runner.txt": "unfetched\n"})
    ran = exp("push", "origin", "--force", "--all", cwd=runner)
    assert ran.code == 0, ran
    theirs = on_remote(remote)
    # the laptop has the objects of behind and div (a plain fetch of them), not of nf
    git(laptop, "fetch", "-q", "origin", "refs/exp/behind", "refs/exp/div")
    assert not has_object(laptop, theirs["nf"])
    before = all_refs(laptop)

    ran = exp("ls", "origin", "--json", cwd=laptop)
    assert ran.code == 0, ran
    rows = json.loads(ran.out)
    ours = exp_refs(laptop)
    assert {r["name"]: r["state"] for r in rows} == {
        "same": "same", "remote-only": "remote-only", "local-only": "local-only",
        "ahead": "local is ahead", "behind": "remote is ahead", "div": "diverged",
        "nf": "differs (not fetched)",
    }
    assert [r["name"] for r in rows] == sorted(r["name"] for r in rows)
    for row in rows:
        assert row["local"] == ours.get(row["name"]), row
        assert row["remote"] == theirs.get(row["name"]), row

    ran = exp("ls", "origin", cwd=laptop)
    assert ran.code == 0, ran
    table = ran.out.splitlines()
    assert table[0].split() == ["name", "state", "local", "remote"]
    assert re.sub(r" +", " ", next(t for t in table if t.startswith("remote-only"))) == \
        f"remote-only remote-only - {theirs['remote-only'][:7]}"
    assert re.sub(r" +", " ", next(t for t in table if t.startswith("nf "))) == \
        f"nf differs (not fetched) {ours['nf'][:7]} {theirs['nf'][:7]}"
    # ls REMOTE fetches nothing
    assert all_refs(laptop) == before
    assert not has_object(laptop, theirs["nf"])


def test_rm_and_rename_on_the_remote_without_an_identity(local_remote, tmp_path, exp, monkeypatch):
    """A CI runner with no user.name/user.email removing or renaming experiments on the
    remote: the tombstones are signed as save signs there (git-exp@host), no traceback."""
    runner, _laptop = pair(local_remote, tmp_path)
    for name in ("old", "moved"):
        save(exp, runner, name)
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    shas = exp_refs(runner)
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("EMAIL", "")
    git(runner, "config", "user.useConfigOnly", "true")
    ran = exp("rm", "--remote", "origin", "old", cwd=runner)
    assert ran.code == 0 and lines(ran.out) == [f"deleted old ({shas['old']})"], ran
    assert exp("pull", "origin", "--all", cwd=runner).code == 0  # fetches the tracking ref rename needs
    ran = exp("rename", "--remote", "origin", "moved", "there", cwd=runner)
    assert ran.code == 0, ran
    assert on_remote(local_remote) == {"there": shas["moved"]}
    tombs = git(local_remote.path, "for-each-ref", "--format=%(committername) %(refname)", "refs/exp-tombstones/")
    assert sorted(tombs.splitlines()) == ["git-exp refs/exp-tombstones/moved/@removed",
                                          "git-exp refs/exp-tombstones/old/@removed"]


def test_rm_and_rename_on_the_remote(any_remote, tmp_path, exp):
    remote = any_remote
    runner, laptop = pair(remote, tmp_path)
    for name in ("keep", "old", "sweep/1", "sweep/2"):
        save(exp, runner, name, files={"params.yaml": f"lr: {name}\n"})
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    shas = exp_refs(runner)

    ran = exp("rm", "--remote", "origin", "--dry-run", "sweep/*", cwd=runner)
    assert ran.code == 0 and lines(ran.out) == [f"would delete sweep/1 ({shas['sweep/1']})",
                                                f"would delete sweep/2 ({shas['sweep/2']})"], ran
    assert on_remote(remote) == shas

    ran = exp("rm", "--remote", "origin", "sweep/*", cwd=runner)  # each commit printed, as local rm does
    assert ran.code == 0 and lines(ran.out) == [f"deleted sweep/1 ({shas['sweep/1']})",
                                                f"deleted sweep/2 ({shas['sweep/2']})"], ran
    assert "restore with: git push origin <sha>:refs/exp/<name>" in ran.err
    assert on_remote(remote) == {"keep": shas["keep"], "old": shas["old"]}
    assert exp_refs(runner) == shas  # deleted on the remote only

    assert_error(exp("rm", "--remote", "origin", "ghost", cwd=runner), 2,
                 "origin has no experiment matching 'ghost' — nothing was deleted")
    assert set(on_remote(remote)) == {"keep", "old"}

    # the laptop never fetched "old": renaming it there is refused, nothing changes
    assert_error(exp("rename", "--remote", "origin", "old", "new", cwd=laptop), 2, "'old' on origin is not fetched here")
    assert set(on_remote(remote)) == {"keep", "old"}

    ran = exp("rename", "--remote", "origin", "old", "team/new", cwd=runner)
    assert ran.code == 0, ran
    assert lines(ran.out) == [push_line("deleted", "old"), push_line("new", "team/new")]
    assert f"renamed old -> team/new ({shas['old'][:7]})" in ran.err
    assert on_remote(remote) == {"keep": shas["keep"], "team/new": shas["old"]}
    assert exp_refs(runner) == {"keep": shas["keep"], "team/new": shas["old"], "sweep/1": shas["sweep/1"],
                                "sweep/2": shas["sweep/2"]}
    assert_error(exp("rename", "--remote", "origin", "keep", "team/new", cwd=runner), 2,
                 "origin already has an experiment named 'team/new'")
    assert_error(exp("rename", "--remote", "origin", "ghost", "x", cwd=runner), 2, "origin has no experiment named 'ghost'")

    ran = exp("rm", "--remote", "origin", "keep", cwd=runner)
    assert (ran.code, ran.out) == (0, f"deleted keep ({shas['keep']})\n"), ran
    assert on_remote(remote) == {"team/new": shas["old"]}


def test_rename_on_the_remote_into_a_directory_of_the_old_name(local_remote, tmp_path, exp):
    """``team`` -> ``team/1``: after the rename only one of them exists, so git's
    file/directory rule is no reason to refuse it."""
    runner = make_runner(local_remote, tmp_path)
    sha = save(exp, runner, "team", files={"params.yaml": "lr: 0.2\n"})
    assert exp("push", "origin", "team", cwd=runner).code == 0
    ran = exp("rename", "--remote", "origin", "team", "team/1", cwd=runner)
    assert ran.code == 0, ran
    assert on_remote(local_remote) == {"team/1": sha}
    assert exp_refs(runner) == {"team/1": sha}


# --------------------------------------------------------------------------- rejections

def test_push_of_a_moved_experiment_is_rejected_then_forced_with_a_lease(some_remote, tmp_path, exp, monkeypatch):
    remote = some_remote
    runner, laptop = pair(remote, tmp_path)
    save(exp, runner, "x", files={"params.yaml": "lr: 0.2\n"})
    save(exp, runner, "y", files={"params.yaml": "lr: 0.3\n"})
    assert exp("push", "origin", "x", "y", cwd=runner).code == 0
    assert exp("pull", "origin", "x", cwd=laptop).code == 0
    moved = save(exp, laptop, "x", "--append", files={"laptop.txt": "moved on\n"})
    ran = exp("push", "origin", "x", cwd=laptop)
    assert (ran.code, ran.out) == (0, push_line("updated", "x") + "\n"), ran

    mine = save(exp, runner, "x", "--append", files={"runner.txt": "mine\n"})
    y2 = save(exp, runner, "y", "--append", files={"runner.txt": "y too\n"})
    before = all_refs(remote.path)
    ran = exp("push", "origin", "x", "y", cwd=runner)
    assert ran.code == 1, ran
    assert lines(ran.out) == [push_line("rejected", "x", "fetch first"), push_line("updated", "y")]
    assert ran.err == f"1 updated, 1 rejected\ngit-exp: error: origin rejected 1 experiment: x — {REJECTED_HINT}\n"
    assert on_remote(remote)["x"] == moved  # the remote keeps the laptop's version
    before["refs/exp/y"] = y2
    assert all_refs(remote.path) == before

    ran = exp("push", "origin", "--force", "--dry-run", "x", cwd=runner)
    assert (ran.code, ran.out) == (0, push_line("would be forced", "x") + "\n"), ran
    assert on_remote(remote)["x"] == moved

    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    ran = exp("push", "origin", "--force", "x", cwd=runner)
    monkeypatch.delenv("GIT_TRACE")
    assert (ran.code, ran.out) == (0, push_line("forced", "x") + "\n"), ran
    assert on_remote(remote)["x"] == mine
    pushes = [line for line in trace.read_text().splitlines() if "trace: built-in: git push" in line]
    assert len(pushes) == 1, pushes
    assert f"--force-with-lease=refs/exp/x:{moved}" in pushes[0]  # leased at the value the remote had
    assert "+refs/" not in pushes[0] and " --force " not in pushes[0] + " "


def test_pull_of_a_diverged_experiment_keeps_local_then_force_takes_theirs(some_remote, tmp_path, exp):
    remote = some_remote
    runner, laptop = pair(remote, tmp_path)
    save(exp, runner, "x", files={"params.yaml": "lr: 0.2\n"})
    save(exp, runner, "z", files={"params.yaml": "lr: 0.3\n"})
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    assert exp("pull", "origin", "--all", cwd=laptop).code == 0

    mine = save(exp, laptop, "x", "--append", files={"laptop.txt": "mine\n"})
    theirs = save(exp, runner, "x", "--append", files={"runner.txt": "theirs\n"})
    z2 = save(exp, runner, "z", "--append", files={"runner.txt": "z\n"})
    assert exp("push", "origin", "--all", cwd=runner).code == 0

    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert ran.code == 1, ran
    assert lines(ran.out) == [
        pull_line("diverged", "x", f"kept local {mine[:7]}; theirs is at refs/remote-exp/origin/x — --force to take it"),
        pull_line("updated", "z"),
    ]
    assert ran.err == ("1 updated, 1 diverged\n"
                       f"git-exp: error: 1 experiment diverged from origin and was left as it is: x — {DIVERGED_HINT}\n")
    assert exp_refs(laptop) == {"x": mine, "z": z2}  # local x as it was, z fast-forwarded
    assert tracking(laptop) == {"x": theirs, "z": z2}  # both versions stay reachable
    fsck(laptop)

    ran = exp("pull", "origin", "x", "--force", cwd=laptop)
    assert (ran.code, ran.out) == (0, pull_line("forced", "x", f"was {mine[:7]}, still in the reflog") + "\n"), ran
    assert exp_refs(laptop) == {"x": theirs, "z": z2}
    assert mine in git(laptop, "reflog", "show", "--format=%H", "refs/exp/x").split()  # recoverable

    # local ahead of the remote: pull leaves it and succeeds
    ahead = save(exp, laptop, "z", "--append", files={"laptop.txt": "ahead\n"})
    ran = exp("pull", "origin", "z", cwd=laptop)
    assert (ran.code, ran.out) == (0, pull_line("local is ahead", "z") + "\n"), ran
    assert exp_refs(laptop)["z"] == ahead


def test_noop_pull_runs_no_fetch(some_remote, tmp_path, exp, monkeypatch):
    remote = some_remote
    runner, laptop = pair(remote, tmp_path)
    for name in ("a", "b", "c/d"):
        save(exp, runner, name, files={"params.yaml": f"lr: {name}\n"})
    assert exp("push", "origin", "--all", cwd=runner).code == 0

    first = tmp_path / "trace-1"
    monkeypatch.setenv("GIT_TRACE", str(first))
    ran = exp("pull", "origin", "--all", cwd=laptop)
    monkeypatch.delenv("GIT_TRACE")
    assert ran.code == 0 and len(ran.out.splitlines()) == 3, ran
    assert {"fetch", "fetch-pack"} & set(traced_commands(first))
    refs = all_refs(laptop)

    second = tmp_path / "trace-2"
    monkeypatch.setenv("GIT_TRACE", str(second))
    ran = exp("pull", "origin", "--all", cwd=laptop)
    ran_glob = exp("pull", "origin", "c/*", "a", cwd=laptop)
    monkeypatch.delenv("GIT_TRACE")
    assert (ran.code, ran.out, ran.err) == (0, "", "3 experiments already up to date\n"), ran
    assert (ran_glob.code, ran_glob.out) == (0, ""), ran_glob
    commands = traced_commands(second)
    assert "ls-remote" in commands
    assert not {"fetch", "fetch-pack"} & set(commands), commands
    assert "git fetch" not in second.read_text() and "git-fetch" not in second.read_text()
    assert all_refs(laptop) == refs


def test_pull_after_the_remote_replaced_a_name_by_a_directory(local_remote, tmp_path, exp):
    """Remote-tracking refs are git-exp's own: a stale ``team`` must not block fetching ``team/1``."""
    runner, laptop = pair(local_remote, tmp_path)
    save(exp, runner, "team", files={"params.yaml": "lr: 0.2\n"})
    assert exp("push", "origin", "team", cwd=runner).code == 0
    assert exp("pull", "origin", "--all", cwd=laptop).code == 0
    assert set(tracking(laptop)) == {"team"}
    assert exp("rm", "--remote", "origin", "team", cwd=runner).code == 0
    assert exp("rm", "team", cwd=runner).code == 0
    nested = save(exp, runner, "team/1", files={"params.yaml": "lr: 0.3\n"})
    assert exp("push", "origin", "team/1", cwd=runner).code == 0
    assert exp("rm", "team", cwd=laptop).code == 0  # the laptop lets its copy go too

    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert (ran.code, ran.out) == (0, pull_line("new", "team/1") + "\n"), ran
    assert exp_refs(laptop) == {"team/1": nested}
    assert tracking(laptop) == {"team/1": nested}


def test_pull_blocked_by_a_local_name_says_so(local_remote, tmp_path, exp):
    runner, laptop = pair(local_remote, tmp_path)
    theirs = save(exp, runner, "team/1", files={"params.yaml": "lr: 0.2\n"})
    assert exp("push", "origin", "team/1", cwd=runner).code == 0
    mine = save(exp, laptop, "team", files={"params.yaml": "lr: mine\n"})
    for args in (("pull", "origin", "--all"), ("pull", "origin", "--all", "--force")):
        ran = exp(*args, cwd=laptop)
        assert ran.code == 1, ran
        assert ran.out == pull_line("rejected", "team/1", "local experiment 'team' blocks this name") + "\n"
        error = assert_failed(ran, 1, "team/1")[0]
        # not a divergence, and --force cannot help: the message must not send the user there
        assert "diverged" not in error and "--force" not in error, ran.err
        assert exp_refs(laptop) == {"team": mine}
        assert tracking(laptop) == {"team/1": theirs}


def test_push_blocked_by_a_remote_directory_name(local_remote, tmp_path, exp):
    runner, laptop = pair(local_remote, tmp_path)
    save(exp, runner, "team/1", files={"params.yaml": "lr: 0.2\n"})
    assert exp("push", "origin", "team/1", cwd=runner).code == 0
    save(exp, laptop, "team", files={"params.yaml": "lr: mine\n"})
    before = all_refs(local_remote.path)
    ran = exp("push", "origin", "team", cwd=laptop)
    assert ran.code == 1, ran
    assert ran.out.startswith(push_line("rejected", "team")), ran
    assert "git-exp: error: origin rejected 1 experiment: team" in ran.err
    assert all_refs(local_remote.path) == before


def test_the_runner_pushes_what_it_ran_even_right_after_a_commit(local_remote, tmp_path, exp):
    """A result file rewritten (same size) in the second of the commit: git sees the change
    through its racy-git check; the experiment pushed must hold it too."""
    runner, laptop = pair(local_remote, tmp_path)
    git(runner, "config", "core.trustctime", "false")  # ctime is the one stamp a test cannot set
    metrics = runner / "metrics.json"
    past = (1_600_000_000, 1_600_000_000)
    write(runner, {"metrics.json": '{"acc": 0.1}\n'})
    os.utime(metrics, past)
    commit_all(runner, "baseline metrics")
    write(runner, {"metrics.json": '{"acc": 0.9}\n'})  # what the run produced
    os.utime(metrics, past)
    os.utime(runner / ".git" / "index", past)  # all in the same second, as a fast CI step does
    assert git(runner, "--no-optional-locks", "status", "--porcelain") == " M metrics.json\n"
    assert git(runner, "--no-optional-locks", "diff", "--stat").strip() != ""
    save(exp, runner, "ci/1")
    assert git(runner, "show", "refs/exp/ci/1:metrics.json") == '{"acc": 0.9}\n'
    assert exp("push", "origin", "ci/1", cwd=runner).code == 0
    assert exp("pull", "origin", "ci/1", cwd=laptop).code == 0
    assert git(laptop, "show", "refs/exp/ci/1:metrics.json") == '{"acc": 0.9}\n'


# --------------------------------------------------------------------------- bad input

@pytest.fixture
def shared(local_remote, tmp_path, exp):
    """A runner with experiments a and sweep/1 pushed to a local bare origin."""
    runner = make_runner(local_remote, tmp_path)
    save(exp, runner, "a", files={"params.yaml": "lr: 0.2\n"})
    save(exp, runner, "sweep/1", files={"params.yaml": "lr: 0.3\n"})
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    return runner, local_remote


def test_push_of_something_that_is_neither_remote_nor_experiment(shared, exp):
    runner, remote = shared
    before = all_refs(remote.path)
    assert_error(exp("push", "nope", "a", cwd=runner), 2, "'nope'")
    assert_error(exp("pull", "nope", "a", cwd=runner), 2, "'nope'")
    assert_error(exp("ls", "nope", cwd=runner), 2, "no remote named 'nope'")
    assert_error(exp("rm", "--remote", "nope", "a", cwd=runner), 2, "no remote named 'nope'")
    assert_error(exp("rename", "--remote", "nope", "a", "b", cwd=runner), 2, "no remote named 'nope'")
    assert all_refs(remote.path) == before
    assert set(exp_refs(runner)) == {"a", "sweep/1"}


def test_ls_remote_lists_early_only_for_a_plain_remote_name(shared, exp, tmp_path, monkeypatch):
    """``ls REMOTE`` starts ls-remote before reading the remotes only for a plain word;
    a word that is no configured remote is still refused (the early listing is
    stopped), even when it names a repository git could read; a name with ``:`` or
    ``/`` is never handed to git before it is known to be a remote."""
    runner, remote = shared
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    ran = exp("ls", "origin", cwd=runner)
    shas = exp_refs(runner)
    assert ran.code == 0 and ran.out == (
        "name     state  local    remote\n"
        f"a        same   {shas['a'][:7]}  {shas['a'][:7]}\n"
        f"sweep/1  same   {shas['sweep/1'][:7]}  {shas['sweep/1'][:7]}\n"), ran
    assert traced_commands(trace).count("ls-remote") == 1
    git(runner, "clone", "-q", "--bare", str(remote.path), "sibling")  # a repository named like a remote
    for word in ("sibling", "nope"):
        assert_error(exp("ls", word, cwd=runner), 2, f"no remote named {word!r}")
    # a URL or path is what `git ls-remote` takes too: listed once, after it is known to be one
    trace.unlink()
    ran = exp("ls", str(remote.path), cwd=runner)
    assert ran.code == 0 and ran.out.splitlines()[1:] == [
        f"a        same   {shas['a'][:7]}  {shas['a'][:7]}", f"sweep/1  same   {shas['sweep/1'][:7]}  {shas['sweep/1'][:7]}"], ran
    assert traced_commands(trace).count("ls-remote") == 1
    trace.unlink()
    ran = exp("ls", "./nowhere.git", cwd=runner)
    assert ran.code == 1 and ran.err.startswith("git-exp: error: listing experiments on ./nowhere.git failed"), ran
    assert traced_commands(trace).count("ls-remote") == 1
    monkeypatch.delenv("GIT_TRACE")
    assert_error(exp("ls", "origin", cwd=tmp_path), 2, "not a git repository")
    # push --all REMOTE lists early the same way
    trace.unlink()
    monkeypatch.setenv("GIT_TRACE", str(trace))
    ran = exp("push", "origin", "--all", cwd=runner)
    assert (ran.code, ran.out, ran.err) == (0, "", "2 experiments already up to date\n"), ran
    assert "push" not in traced_commands(trace)
    assert_error(exp("push", "sibling", "--all", cwd=runner), 2, "'sibling'")
    assert_error(exp("push", "origin", "--all", cwd=tmp_path), 2, "not a git repository")


def test_push_and_pull_need_names_or_all(shared, exp):
    runner, _ = shared
    assert_error(exp("push", "origin", cwd=runner), 2, "name the experiments to push (names or globs), or use --all")
    assert_error(exp("push", cwd=runner), 2, "name the experiments to push (names or globs), or use --all")
    assert_error(exp("pull", "origin", cwd=runner), 2, "name the experiments to pull (names or globs), or use --all")
    assert_error(exp("rm", "--remote", "origin", cwd=runner), 2, "name the experiments to delete on origin")
    assert_error(exp("push", "origin", "bad..name", cwd=runner), 2, "invalid experiment name 'bad..name'")
    assert_error(exp("push", "origin", "ghost*", cwd=runner), 2, "no local experiment matches 'ghost*'")


def test_pull_of_a_name_the_remote_lacks(shared, tmp_path, exp):
    runner, remote = shared
    laptop = remote.clone(tmp_path / "laptop")
    assert_error(exp("pull", "origin", "a", "ghost", cwd=laptop), 2,
                 "origin has no experiment matching 'ghost' — `git exp ls origin` lists them")
    assert exp_refs(laptop) == {} and tracking(laptop) == {}  # nothing half-done
    assert_error(exp("pull", "origin", "sweep/x*", cwd=laptop), 2, "origin has no experiment matching 'sweep/x*'")


def test_remote_names_starting_with_a_dash_are_never_options(shared, exp):
    runner, remote = shared
    git(runner, "config", "remote.-x.url", str(remote.path))  # git remote add refuses such a name
    before = all_refs(remote.path)
    config = (runner / ".git" / "config").read_bytes()
    for args in (("push", "--", "-x", "a"), ("pull", "--", "-x", "a"), ("ls", "--", "-x"),
                 ("rm", "--remote=-x", "a"), ("rename", "--remote=-x", "a", "b"),
                 ("install", "--", "-x"), ("uninstall", "--", "-x")):
        ran = exp(*args, cwd=runner)
        assert_error(ran, 2, "'-x'")
    assert_error(exp("push", "-x", "a", cwd=runner), 2, "no such option: -x")
    assert all_refs(remote.path) == before
    assert (runner / ".git" / "config").read_bytes() == config
    assert set(exp_refs(runner)) == {"a", "sweep/1"}


def test_unreachable_remote_is_a_one_line_error(shared, exp):
    runner, _ = shared
    port = free_port()  # nothing listens there
    git(runner, "remote", "add", "dead", f"git://{HOST}:{port}/nowhere.git")
    for args, what in ((("push", "dead", "a"), "listing experiments on dead"),
                       (("push", "dead", "--force", "a"), "listing experiments on dead"),
                       (("pull", "dead", "--all"), "listing experiments on dead"),
                       (("ls", "dead"), "listing experiments on dead"),
                       (("rm", "--remote", "dead", "a"), "listing experiments on dead")):
        ran = exp(*args, cwd=runner)
        err = assert_failed(ran, 1, what, f"(git://{HOST}:{port}/nowhere.git)", "cannot be reached")
        assert ran.out == ""
        assert any("Connection refused" in line or "unable to connect" in line for line in err[1:]), ran.err
    assert set(exp_refs(runner)) == {"a", "sweep/1"}
    assert tracking(runner, "dead") == {}


# --------------------------------------------------------------------------- install / uninstall

HAND_CONFIG = """\
[core]
\trepositoryformatversion = {version}
\tfilemode = true
\tbare = false
\tlogallrefupdates = true
# my comment about the remotes below
[remote "origin"]
\turl = {url}
\tfetch = +refs/heads/*:refs/remotes/origin/*
    fetch   =   +refs/tags/*:refs/tags/*   ; odd spacing, and a comment
\t; a comment line inside the section
[remote "other"]
\turl = {url}
\tfetch = +refs/heads/*:refs/remotes/other/*
\tpush = refs/heads/main:refs/heads/release
[branch "main"]
\tremote = origin
\tmerge = refs/heads/main
{extensions}"""


@pytest.fixture
def hand(local_remote, tmp_path):
    """A repository whose .git/config was written by hand: comments, odd spacing, two remotes."""
    repo = init_repo(tmp_path / "hand", files=dict(FILES))
    config = repo / ".git" / "config"
    # the repository's format (SHA-256 objects, reftable refs) stays: git cannot read it without
    version = git(repo, "config", "core.repositoryformatversion").strip()
    extensions = [line.removeprefix("extensions.").split(" ", 1)
                  for line in git(repo, "config", "--get-regexp", r"^extensions\.", check=False).splitlines()]
    section = "".join(["[extensions]\n", *(f"\t{key} = {value}\n" for key, value in extensions)] if extensions else [])
    config.write_text(HAND_CONFIG.format(url=local_remote.path, version=version, extensions=section))
    git(repo, "push", "-q", "origin", "main")
    return repo, config


def test_install_uninstall_leaves_the_config_byte_for_byte(hand, exp):
    repo, config = hand
    original = config.read_bytes()
    ran = exp("install", "origin", cwd=repo)
    assert ran.code == 0, ran
    assert config_values(repo, "remote.origin.fetch") == [
        "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*", EXP_FETCH, NOTES_FETCH]
    assert config_values(repo, "remote.origin.push") == ["HEAD", EXP_PUSH, NOTES_PUSH]
    assert config_values(repo, "remote.other.push") == ["refs/heads/main:refs/heads/release"]
    text = config.read_text()
    assert "# my comment about the remotes below" in text and "    fetch   =   +refs/tags/*:refs/tags/*   ; odd" in text
    ran = exp("uninstall", "origin", cwd=repo)
    assert ran.code == 0, ran
    assert ran.out.splitlines() == [f"origin: removed fetch = {EXP_FETCH}", "origin: removed push = HEAD",
                                    f"origin: removed push = {EXP_PUSH}", f"origin: removed fetch = {NOTES_FETCH}",
                                    f"origin: removed push = {NOTES_PUSH}"]
    assert config.read_bytes() == original

    # a remote that has its own push refspec gets no `push = HEAD`
    ran = exp("install", "other", cwd=repo)
    assert ran.code == 0, ran
    assert "push = HEAD" not in ran.out + ran.err
    assert config_values(repo, "remote.other.push") == ["refs/heads/main:refs/heads/release", EXP_PUSH, NOTES_PUSH]
    assert config_values(repo, "remote.other.fetch") == ["+refs/heads/*:refs/remotes/other/*",
                                                         "+refs/exp/*:refs/remote-exp/other/*",
                                                         "+refs/notes/exp*:refs/notes/remote-exp/other*"]
    assert exp("uninstall", "other", cwd=repo).code == 0
    assert config.read_bytes() == original

    # --all, both ways
    assert exp("install", "--all", cwd=repo).code == 0
    assert EXP_FETCH in config_values(repo, "remote.origin.fetch")
    assert "+refs/exp/*:refs/remote-exp/other/*" in config_values(repo, "remote.other.fetch")
    assert exp("uninstall", "--all", cwd=repo).code == 0
    assert config.read_bytes() == original


def test_an_install_killed_after_a_record_is_finished_by_the_next(hand, exp):
    """install records each refspec before it writes it: a run killed between the two
    (simulated: the record alone) is finished by the next, which records nothing twice,
    and uninstall then leaves the config as it was."""
    repo, config = hand
    original = config.read_bytes()
    git(repo, "config", "--add", "exp.origin.installed", f"fetch={EXP_FETCH}")
    assert exp("install", "origin", cwd=repo).code == 0
    assert config_values(repo, "remote.origin.fetch").count(EXP_FETCH) == 1
    assert config_values(repo, "exp.origin.installed").count(f"fetch={EXP_FETCH}") == 1
    assert exp("uninstall", "origin", cwd=repo).code == 0
    assert config.read_bytes() == original


def test_second_install_changes_nothing(hand, exp):
    repo, config = hand
    assert exp("install", "origin", cwd=repo).code == 0
    once = config.read_bytes()
    ran = exp("install", "origin", cwd=repo)
    assert (ran.code, ran.out) == (0, "origin: already installed\n"), ran
    assert config.read_bytes() == once
    ran = exp("uninstall", "origin", cwd=repo)
    ran = exp("uninstall", "origin", cwd=repo)
    assert (ran.code, ran.out) == (0, "origin: nothing was installed\n"), ran


def test_install_fetch_only(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    save(exp, runner, "a", files={"params.yaml": "lr: 0.2\n"})
    assert exp("push", "origin", "a", cwd=runner).code == 0
    laptop = local_remote.clone(tmp_path / "laptop")
    original = (laptop / ".git" / "config").read_bytes()
    ran = exp("install", "--fetch-only", cwd=laptop)  # default remote: origin
    assert ran.code == 0, ran
    assert ran.out == f"origin: added fetch = {EXP_FETCH}\norigin: added fetch = {NOTES_FETCH}\n"
    assert config_values(laptop, "remote.origin.push") == []
    git(laptop, "fetch", "-q")
    assert tracking(laptop) == exp_refs(runner)
    # plain git push still pushes the branch the usual way, and no experiment
    save(exp, laptop, "local", files={"params.yaml": "lr: 0.7\n"})
    write(laptop, {"code.py": "1\n"})
    head = commit_all(laptop)
    git(laptop, "push", "-q")
    assert git(local_remote.path, "rev-parse", "main").strip() == head
    assert set(on_remote(local_remote)) == {"a"}
    assert exp("uninstall", cwd=laptop).code == 0
    assert (laptop / ".git" / "config").read_bytes() == original


def test_install_pattern_narrows_plain_fetch(local_remote, tmp_path, exp):
    runner, laptop = pushed(local_remote, tmp_path, exp, ("ci/1", "ci/2", "alice/1", "cirrus"))
    assert_error(exp("install", "origin", "--pattern", "ci/?*", cwd=laptop), 2, "must be a git glob with one '*'")
    ran = exp("install", "origin", "--pattern", "ci/*", cwd=laptop)
    assert ran.code == 0, ran
    assert ran.out.splitlines() == ["origin: added fetch = +refs/exp/ci/*:refs/remote-exp/origin/ci/*",
                                    "origin: added push = HEAD", "origin: added push = refs/exp/ci/*:refs/exp/ci/*",
                                    f"origin: added fetch = {NOTES_FETCH}", f"origin: added push = {NOTES_PUSH}"]
    assert "origin: has 2 experiments;" in ran.err
    git(laptop, "fetch", "-q")
    shas = exp_refs(runner)
    assert tracking(laptop) == {"ci/1": shas["ci/1"], "ci/2": shas["ci/2"]}


def test_install_refuses_remote_names_with_a_slash(hand, exp):
    repo, config = hand
    git(repo, "remote", "add", "team/x", "/nowhere.git")
    original = config.read_bytes()
    assert_error(exp("install", "team/x", cwd=repo), 2, "'team/x'", "contains '/'", "git remote rename")
    assert_error(exp("install", "--all", cwd=repo), 2, "'team/x'")
    assert config.read_bytes() == original  # --all refused before touching any remote


def test_conflicting_user_refspec_needs_force_and_comes_back(hand, exp):
    repo, config = hand
    git(repo, "config", "--add", "remote.origin.fetch", "+refs/exp/*:refs/mine/*")
    original = config.read_bytes()
    assert_error(exp("install", "origin", cwd=repo), 2,
                 "remote 'origin' already has an experiment refspec of its own (fetch = +refs/exp/*:refs/mine/*)",
                 "--force")
    assert config.read_bytes() == original
    ran = exp("install", "origin", "--force", cwd=repo)
    assert ran.code == 0, ran
    assert "origin: replaced fetch = +refs/exp/*:refs/mine/* (uninstall puts it back)" in ran.err
    assert config_values(repo, "remote.origin.fetch") == [
        "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*", EXP_FETCH, NOTES_FETCH]
    ran = exp("uninstall", "origin", cwd=repo)
    assert ran.code == 0, ran
    assert config_values(repo, "remote.origin.fetch") == [
        "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*", "+refs/exp/*:refs/mine/*"]
    assert config.read_bytes() == original  # it was the section's last line, so it is back in place


def test_conflicting_user_push_refspec(hand, exp):
    repo, config = hand
    git(repo, "config", "--add", "remote.other.push", "+refs/exp/*:refs/exp/*")
    original = config.read_bytes()
    assert_error(exp("install", "other", cwd=repo), 2, "(push = +refs/exp/*:refs/exp/*)")
    assert config.read_bytes() == original
    assert exp("install", "other", "--fetch-only", cwd=repo).code == 0  # fetch alone does not conflict
    assert exp("uninstall", "other", cwd=repo).code == 0
    assert config.read_bytes() == original


def test_uninstall_deletes_remote_tracking_experiments_unless_keep_refs(local_remote, tmp_path, exp):
    runner, laptop = pushed(local_remote, tmp_path, exp, ("a", "b/c"))
    assert exp("pull", "origin", "a", cwd=laptop).code == 0
    assert exp("install", cwd=laptop).code == 0
    git(laptop, "fetch", "-q")
    assert tracking(laptop) == exp_refs(runner)

    ran = exp("uninstall", "origin", cwd=laptop)
    assert ran.code == 0, ran
    assert "origin: deleted 2 remote-tracking experiments under refs/remote-exp/origin/" in ran.err
    assert git(laptop, "for-each-ref", "refs/remote-exp/") == ""
    assert exp_refs(laptop) == {"a": exp_refs(runner)["a"]}  # local experiments stay
    assert git(laptop, "config", "--get-regexp", r"^exp\.", check=False) == ""

    assert exp("install", "origin", cwd=laptop).code == 0
    git(laptop, "fetch", "-q")
    ran = exp("uninstall", "origin", "--keep-refs", cwd=laptop)
    assert ran.code == 0 and "deleted" not in ran.err, ran
    assert tracking(laptop) == exp_refs(runner)
    assert config_values(laptop, "remote.origin.fetch") == ["+refs/heads/*:refs/remotes/origin/*"]
    assert config_values(laptop, "remote.origin.push") == []


# --------------------------------------------------------------------------- doctor

def doctor(exp, repo: Path) -> list[dict]:
    ran = exp("doctor", "--json", cwd=repo)
    assert ran.code == 0, ran
    return json.loads(ran.out)


def about(findings: list[dict], remote: str) -> list[tuple[str, str]]:
    return [(f["level"], f["what"]) for f in findings if f["remote"] == remote]


@pytest.fixture
def fetched(local_remote, tmp_path, exp):
    """A laptop clone with origin installed and two experiments fetched by plain git fetch."""
    runner, laptop = pushed(local_remote, tmp_path, exp, ("a", "b"))
    original = (laptop / ".git" / "config").read_bytes()
    assert exp("install", "origin", cwd=laptop).code == 0
    git(laptop, "fetch", "-q")
    assert len(tracking(laptop)) == 2
    return laptop, runner, original


def test_doctor_installed_and_not_installed(fetched, exp):
    laptop, _, _ = fetched
    ran = exp("doctor", cwd=laptop)
    assert ran.code == 0, ran
    assert "ok       origin: installed; 2 experiments fetched, a no-op `git fetch` costs about <1 ms more for them" \
        in ran.out.splitlines()
    assert "`git push --prune origin` deletes experiments on origin that you do not have locally" in ran.out
    findings = doctor(exp, laptop)
    assert all(set(f) == {"remote", "level", "what", "fix", "fixable"} for f in findings)
    assert about(findings, "origin")[0] == (
        "ok", "installed; 2 experiments fetched, a no-op `git fetch` costs about <1 ms more for them")
    assert not [f for f in findings if f["level"] == "warning"], findings

    assert exp("uninstall", cwd=laptop).code == 0
    ran = exp("doctor", cwd=laptop)
    assert ran.out.splitlines()[:2] == [
        "info     origin: not installed (plain `git fetch` does not bring experiments)",
        "         fix: git exp install origin"]


def test_doctor_partly_installed_and_fix(fetched, exp):
    laptop, _, _ = fetched
    git(laptop, "config", "--unset", "--fixed-value", "remote.origin.push", EXP_PUSH)
    findings = doctor(exp, laptop)
    assert {"remote": "origin", "level": "warning", "what": f"partly installed: missing push = {EXP_PUSH}",
            "fix": "git exp install origin", "fixable": True} in findings
    ran = exp("doctor", "--fix", cwd=laptop)
    assert ran.code == 0, ran
    assert "fixed: git exp install origin" in ran.err
    assert sorted(config_values(laptop, "remote.origin.push")) == sorted(["HEAD", EXP_PUSH, NOTES_PUSH])
    assert about(doctor(exp, laptop), "origin")[0][0] == "ok"


def test_doctor_stale_after_remote_rename_and_fix(fetched, exp):
    laptop, runner, _ = fetched
    git(laptop, "remote", "rename", "origin", "upstream")
    findings = doctor(exp, laptop)
    stale = [f for f in findings if f["remote"] == "upstream" and f["level"] == "warning"]
    assert stale and "still points at another remote's refs" in stale[0]["what"], findings
    assert EXP_FETCH in stale[0]["what"]
    orphan = [f for f in findings if f["remote"] == "origin" and f["level"] == "warning"]
    assert orphan and "2 remote-tracking experiments under refs/remote-exp/origin/ but no remote 'origin'" \
        in orphan[0]["what"], findings
    assert exp("doctor", cwd=laptop).code == 0  # doctor reports, it does not fail

    ran = exp("doctor", "--fix", cwd=laptop)
    assert ran.code == 0, ran
    findings = doctor(exp, laptop)
    assert not [f for f in findings if f["level"] == "warning"], findings
    assert about(findings, "upstream")[0][0] == "ok"
    assert about(findings, "origin") == []
    assert git(laptop, "for-each-ref", "refs/remote-exp/origin/") == ""
    assert config_values(laptop, "remote.upstream.fetch") == [
        "+refs/heads/*:refs/remotes/upstream/*", "+refs/exp/*:refs/remote-exp/upstream/*",
        "+refs/notes/exp*:refs/notes/remote-exp/upstream*"]
    git(laptop, "fetch", "-q", "upstream")
    assert tracking(laptop, "upstream") == exp_refs(runner)

    # and uninstall still removes everything git-exp wrote, under the new name
    assert exp("uninstall", "upstream", cwd=laptop).code == 0
    assert config_values(laptop, "remote.upstream.fetch") == ["+refs/heads/*:refs/remotes/upstream/*"]
    assert config_values(laptop, "remote.upstream.push") == []
    assert git(laptop, "config", "--get-regexp", r"^exp\.", check=False) == ""


def test_doctor_orphaned_refs_after_remote_remove_and_fix(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    save(exp, runner, "a", files={"params.yaml": "lr: 0.2\n"})
    assert exp("push", "origin", "a", cwd=runner).code == 0
    laptop = local_remote.clone(tmp_path / "laptop")
    assert exp("pull", "origin", "a", cwd=laptop).code == 0  # no install: refs/remote-exp/origin/a
    git(laptop, "remote", "remove", "origin")
    assert tracking(laptop) == exp_refs(runner)  # git remote remove leaves them
    findings = doctor(exp, laptop)
    assert {"remote": "origin", "level": "warning",
            "what": "1 remote-tracking experiments under refs/remote-exp/origin/ but no remote 'origin' "
                    "(removed or renamed?)",
            "fix": "git exp uninstall origin", "fixable": True} in findings
    ran = exp("doctor", "--fix", cwd=laptop)
    assert ran.code == 0 and "fixed: git exp uninstall origin" in ran.err, ran
    assert git(laptop, "for-each-ref", "refs/remote-exp/") == ""
    assert exp_refs(laptop) == exp_refs(runner)  # the local experiment stays
    assert not [f for f in doctor(exp, laptop) if f["level"] == "warning"]


def test_doctor_install_record_of_a_removed_remote_and_fix(fetched, exp):
    laptop, _, original = fetched
    git(laptop, "remote", "remove", "origin")
    findings = doctor(exp, laptop)
    assert [f for f in findings if f["remote"] == "origin" and f["level"] == "warning"], findings
    assert exp("doctor", "--fix", cwd=laptop).code == 0
    assert not [f for f in doctor(exp, laptop) if f["level"] == "warning"]
    assert git(laptop, "config", "--get-regexp", r"^exp\.", check=False) == ""
    assert git(laptop, "for-each-ref", "refs/remote-exp/") == ""


def test_doctor_warns_when_lfs_files_would_be_pushed_without_the_lfs_hook(repo, exp):
    write(repo, {".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n"})
    findings = json.loads(exp("doctor", "--json").out)
    lfs = [f for f in findings if "git-lfs" in f["what"]]
    assert len(lfs) == 1 and lfs[0]["fix"] == "git lfs install --local"
    hook = repo / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\ngit lfs pre-push \"$@\"\n")
    assert not [f for f in json.loads(exp("doctor", "--json").out) if "git-lfs" in f["what"]]


def test_a_big_pull_leaves_refs_loose_rather_than_run_a_reference_transaction_hook_per_ref(local_remote, tmp_path,
                                                                                            exp):
    """After a pull writes many refs git packs them, unless (files refs) a
    reference-transaction hook would run twice for every loose ref pruned: then they stay
    loose, and ``doctor`` says to pack them.  Without the hook they are packed."""
    runner, laptop = pair(local_remote, tmp_path)
    sha = save(exp, runner, "first", files={"params.yaml": "lr: 0.2\n"})
    git(runner, "update-ref", "--stdin", input="".join(f"create refs/exp/many/{i:03d} {sha}\n" for i in range(150)))
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    log = tmp_path / "hook.log"
    hook = Path(git(laptop, "rev-parse", "--git-path", "hooks/reference-transaction").strip())
    hook = hook if hook.is_absolute() else laptop / hook
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(f"#!/bin/sh\necho \"$1\" >> '{log}'\ncat >/dev/null\n")
    hook.chmod(0o755)
    assert exp("pull", "origin", "--all", cwd=laptop).code == 0
    assert len(exp_refs(laptop)) == 151
    calls = log.read_text().splitlines()
    assert 0 < calls.count("committed") <= 4, calls  # the pull's own transactions, no prune of each ref
    reftable = (laptop / ".git" / "reftable").is_dir()
    doctor = exp("doctor", cwd=laptop)
    assert ("loose experiment refs" in doctor.out + doctor.err) != reftable
    hook.unlink()
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(laptop), str(other))
    git(other, "remote", "set-url", "origin", git(laptop, "remote", "get-url", "origin").strip())
    assert exp("pull", "origin", "--all", cwd=other).code == 0
    doctor = exp("doctor", cwd=other)
    assert "loose experiment refs" not in doctor.out + doctor.err


def test_rm_on_the_remote_when_git_cannot_say_who_writes_the_tombstone(local_remote, tmp_path, exp, monkeypatch):
    """git refuses the committer for another reason than a missing identity (here a
    date it cannot read): one line saying so, nothing removed there or here."""
    runner, _laptop = pair(local_remote, tmp_path)
    save(exp, runner, "old")
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    before, mine = on_remote(local_remote), exp_refs(runner)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "garbage")
    assert_error(exp("rm", "--remote", "origin", "old", cwd=runner), 1,
                 "git could not say who writes the tombstones: fatal: invalid date format: garbage — nothing was removed")
    assert on_remote(local_remote) == before and exp_refs(runner) == mine
    assert git(local_remote.path, "for-each-ref", "refs/exp-tombstones/") == ""
