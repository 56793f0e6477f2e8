"""``git exp archive`` / ``unarchive`` and the ``--archived`` side of ls, show, push, pull
(issue 14): experiments move between their own refs and archive refs, every commit
reachable at every moment, refs written in one transaction."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import assert_error, bare_remote, exp_refs, git, init_repo, write

ARCHIVES = "refs/exp-archive/"


def saved(exp, repo: Path, count: int, prefix: str = "run-") -> dict[str, str]:
    for i in range(count):
        write(repo, {"params.yaml": f"lr: 0.{i + 1}\n", "metrics.json": json.dumps({"acc": i / 10}) + "\n"})
        ran = exp("save", "-n", f"{prefix}{i}", cwd=repo)
        assert ran.code == 0, ran
    return exp_refs(repo)


def reachable(repo: Path, shas) -> None:
    """Every commit in ``shas`` is reachable from some ref (and so survives gc)."""
    listed = set(git(repo, "rev-list", "--all").split())
    assert set(shas) <= listed


def test_archive_and_unarchive_round_trip(repo, exp):
    before = saved(exp, repo, 5)
    ran = exp("archive", "--keep", "2", "run-0", "run-1", "run-2", "run-3")
    assert ran.code == 0, ran
    assert ran.out.splitlines() == [f"archived run-{i} ({before[f'run-{i}'][:12]})" for i in (0, 1)], ran
    assert sorted(exp_refs(repo)) == ["run-2", "run-3", "run-4"]
    archive_refs = exp_refs(repo, ARCHIVES)
    assert len(archive_refs) == 1 and list(archive_refs.items())[0][0] == list(archive_refs.items())[0][1]
    reachable(repo, before.values())
    git(repo, "gc", "-q", "--prune=now")
    reachable(repo, before.values())

    listed = json.loads(exp("ls", "--archived", "--json").out)
    assert [(r["name"], r["sha"]) for r in listed] == [("run-0", before["run-0"]), ("run-1", before["run-1"])]
    shown = json.loads(exp("show", "--archived", "run-1", "--json").out)
    assert [(r["name"], r["sha"], r["params.lr"], r["metrics.acc"]) for r in shown] == \
        [("run-1", before["run-1"], 0.2, 0.1)]
    assert "run-1" not in exp("ls").out

    ran = exp("unarchive", "run-1")
    assert ran.code == 0, ran
    assert exp_refs(repo)["run-1"] == before["run-1"]
    assert [r["name"] for r in json.loads(exp("ls", "--archived", "--json").out)] == ["run-0"]
    assert len(exp_refs(repo, ARCHIVES)) == 1  # the chain's new end replaced the old one
    ran = exp("unarchive", "run-*")
    assert ran.code == 0, ran
    assert exp_refs(repo) == before
    ran = exp("archive", "--where", "params.lr >= 0.4", "--dry-run")  # run-3 and run-4
    assert ran.code == 0 and [line.split()[3] for line in ran.out.splitlines()] == ["run-3", "run-4"], ran
    assert exp_refs(repo) == before
    assert exp("ls", "--archived").err.startswith("no archived experiments")
    reachable(repo, before.values())


def test_archive_fans_out_over_several_refs(repo, exp, monkeypatch):
    from git_exp import archives

    monkeypatch.setattr(archives, "FANOUT", 2)
    before = saved(exp, repo, 5)
    assert exp("archive", "*").code == 0
    (tip,) = exp_refs(repo, ARCHIVES)  # one ref: the end of a chain of three volumes
    assert exp_refs(repo) == {}
    chain = git(repo, "rev-list", "--first-parent", tip).split()
    assert len(chain) == 4  # three volumes and the chain's start
    parents = [git(repo, "rev-list", "--parents", "-n1", sha).split()[2:] for sha in chain[:3]]
    assert sorted(p for ps in parents for p in ps) == sorted(before.values())
    assert all(len(ps) <= 2 for ps in parents)
    shown = json.loads(exp("show", "--archived", "run-3", "--json").out)
    assert [r["sha"] for r in shown] == [before["run-3"]]


def test_archive_and_unarchive_errors_change_nothing(repo, exp):
    before = saved(exp, repo, 2)
    assert_error(exp("archive"), 2, "say which experiments to archive")
    assert_error(exp("archive", "nope"), 2, "no experiment matches 'nope'")
    assert_error(exp("unarchive", "run-0"), 2, "no archived experiment matches 'run-0'")
    assert exp_refs(repo) == before and exp_refs(repo, ARCHIVES) == {}

    assert exp("archive", "run-0").code == 0
    archived_refs = exp_refs(repo, ARCHIVES)
    write(repo, {"params.yaml": "lr: 9\n"})
    assert exp("save", "-n", "run-0").code == 0  # a new experiment of the archived one's name
    live = exp_refs(repo)
    assert_error(exp("unarchive", "run-0"), 2, "experiment 'run-0' exists and is another commit")
    assert exp_refs(repo) == live and exp_refs(repo, ARCHIVES) == archived_refs


def test_an_archive_git_cannot_sign_changes_nothing(repo, exp, monkeypatch):
    """git refuses the committer for another reason than a missing identity: one line
    with git's reason, no archive written, every experiment where it was."""
    before = saved(exp, repo, 2)
    monkeypatch.setenv("GIT_COMMITTER_NAME", "<>")
    assert_error(exp("archive", "run-0"), 1, "could not write an archive volume: fatal: name consists only of "
                 "disallowed characters: <> — nothing was archived")
    assert exp_refs(repo) == before and exp_refs(repo, ARCHIVES) == {}


@pytest.mark.parametrize("kill", ["before commit", "after commit"])
def test_a_killed_archive_leaves_the_old_or_the_new_state(repo, exp, kill):
    """git-exp (and with it, before commit, git update-ref) is killed inside the archive
    transaction, by a reference-transaction hook: every experiment is then either under
    its own ref (old state) or in an archive (new state), never neither."""
    before = saved(exp, repo, 3)
    state = "prepared" if kill == "before commit" else "committed"
    victims = '"$PPID" "$(ps -o ppid= -p "$PPID")"' if kill == "before commit" else '"$(ps -o ppid= -p "$PPID")"'
    hook = repo / ".git" / "hooks" / "reference-transaction"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(f'#!/bin/sh\n[ "$1" = {state} ] || exit 0\ngrep -q exp-archive || exit 0\n'
                    f'kill -9 {victims}\nsleep 1\ntouch "$GIT_DIR/../hook-done"\n')
    hook.chmod(0o755)
    proc = subprocess.run([sys.executable, "-m", "git_exp", "archive", "run-*"], cwd=repo, capture_output=True,
                          env={**os.environ}, timeout=60)
    assert proc.returncode == -9, proc
    for _ in range(100):  # the hook outlives git: wait for it, as for any process still in the repository
        if (repo / "hook-done").exists():
            break
        time.sleep(0.1)
    hook.unlink()
    live, archived = exp_refs(repo), exp_refs(repo, ARCHIVES)
    if kill == "before commit":
        assert live == before and archived == {}
    else:
        assert live == {} and len(archived) == 1
        assert [r["sha"] for r in json.loads(exp("ls", "--archived", "--json").out)] == [before[n] for n in sorted(before)]
    reachable(repo, before.values())
    if kill == "before commit":  # the killed git's locks are cleared, and it can be done again
        ran = exp("archive", "run-*")
        assert ran.code == 0, ran
        assert exp_refs(repo) == {}


def test_archives_push_and_fetch(tmp_path, exp):
    remote = bare_remote(tmp_path / "remote.git")
    runner = init_repo(tmp_path / "runner", files={"README": "x\n"})
    git(runner, "remote", "add", "origin", str(remote))
    git(runner, "push", "-q", "origin", "main")
    before = saved(exp, runner, 3)
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    assert exp("archive", "run-0", "run-1", cwd=runner).code == 0

    ran = exp("push", "origin", "--archived", cwd=runner)
    assert ran.code == 0, ran
    assert sorted(exp_refs(remote)) == ["run-2"]  # the archived ones' refs gone there too
    assert exp_refs(remote, ARCHIVES) == exp_refs(runner, ARCHIVES)
    reachable(remote, before.values())

    laptop = tmp_path / "laptop"
    git(tmp_path, "clone", "-q", str(remote), str(laptop))
    ran = exp("install", "origin", cwd=laptop)
    assert ran.code == 0 and "refs/exp-archive/*:refs/exp-archive/*" in ran.err, ran
    assert "refs/exp-archive/*:refs/exp-archive/*" in git(laptop, "config", "--get-all", "remote.origin.fetch")
    git(laptop, "fetch", "-q")  # plain git fetch brings the archives
    shown = json.loads(exp("show", "--archived", "run-1", "--json", cwd=laptop).out)
    assert [(r["name"], r["sha"], r["params.lr"]) for r in shown] == [("run-1", before["run-1"], 0.2)]
    assert exp("uninstall", "origin", cwd=laptop).code == 0
    assert "exp-archive" not in git(laptop, "config", "--get-all", "remote.origin.fetch")

    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    ran = exp("pull", "origin", "--archived", "run-0", cwd=other)
    assert ran.code == 0, ran
    assert exp_refs(other) == {"run-0": before["run-0"]}
    assert [r["name"] for r in json.loads(exp("ls", "--archived", "--json", cwd=other).out)] == ["run-1"]
    # its replacement goes back; the replaced archive goes from the remote
    assert exp("push", "origin", "--archived", cwd=other).code == 0
    assert exp_refs(remote, ARCHIVES) == exp_refs(other, ARCHIVES)
    reachable(remote, before.values())
