"""``git exp pull`` bringing objects with ``git fetch-pack`` (git_exp/fetchpack.py).

Which remotes fetch-pack serves (and which go to ``git fetch``), that the user's
``insteadOf`` and ``uploadpack`` settings still apply, that the pack lock is released,
that the refs recorded are the ones fetched and checked, and that a remote sending an
incomplete history changes nothing.  All against real repositories and real git.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from git_exp import fetchpack
from git_exp.remotes import get
from git_exp.repo import Repo

from .conftest import bare_remote, commit_all, exp_refs, git, init_repo, write
from .test_share import traced_commands


def runner_and_remote(tmp_path: Path, names=("a", "b", "sweep/1")) -> tuple[Path, Path, dict[str, str]]:
    """A runner whose experiments ``names`` are pushed to a bare remote; their shas."""
    remote = bare_remote(tmp_path / "remote.git")
    runner = init_repo(tmp_path / "runner", files={"params.yaml": "lr: 0\n"})
    git(runner, "remote", "add", "origin", str(remote))
    git(runner, "push", "-q", "origin", "main")
    base = git(runner, "rev-parse", "HEAD").strip()
    for i, name in enumerate(names):
        write(runner, {"params.yaml": f"lr: {i}\n"})
        git(runner, "add", "-A")
        tree = git(runner, "write-tree").strip()
        sha = git(runner, "commit-tree", tree, "-p", base, "-m", f"exp {name}").strip()
        git(runner, "update-ref", f"refs/exp/{name}", sha)
    git(runner, "reset", "-q", "--hard", base)
    git(runner, "push", "-q", "origin", "refs/exp/*:refs/exp/*")
    return runner, remote, exp_refs(runner)


def laptop_of(tmp_path: Path, url: str) -> Path:
    laptop = tmp_path / "laptop"
    git(tmp_path, "clone", "-q", "--no-local", url, str(laptop))  # no hard-linked objects: pulls must fetch
    return laptop


def wrap_upload_pack(tmp_path: Path, laptop: Path, on_second_call: str = "") -> tuple[Path, Path]:
    """Make the laptop's origin run upload-pack through a script that logs each call's
    arguments and runs ``on_second_call`` (shell) before the second one — ls-remote is
    the first connection of a pull, fetch-pack the second.  Returns (script, log)."""
    log = tmp_path / "upload-pack.log"
    wrapper = tmp_path / "upload-pack-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\n'
                       f'if [ "$(wc -l < "{log}")" -eq 2 ]; then :; {on_second_call}\nfi\n'
                       'exec git-upload-pack "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    git(laptop, "config", "remote.origin.uploadpack", str(wrapper))
    return wrapper, log


def keep_files(repo: Path) -> list[str]:
    return [n for n in os.listdir(repo / ".git" / "objects" / "pack") if n.endswith(".keep")]


def test_pull_fetches_with_fetch_pack_and_unlocks_the_pack(tmp_path, exp, monkeypatch):
    _, remote, shas = runner_and_remote(tmp_path, names=[f"sweep/{i}" for i in range(80)] + ["a"])
    laptop = laptop_of(tmp_path, str(remote))
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    ran = exp("pull", "origin", "--all", cwd=laptop)
    monkeypatch.delenv("GIT_TRACE")
    assert ran.code == 0, ran
    commands = traced_commands(trace)
    assert "fetch-pack" in commands and "fetch" not in commands, commands
    assert exp_refs(laptop) == shas
    assert exp_refs(laptop, "refs/remote-exp/origin/") == shas
    assert keep_files(laptop) == []  # the pack was locked while refs were written, then released
    git(laptop, "fsck", "--no-progress", "--strict")


def test_which_remotes_fetch_pack_serves(tmp_path):
    _, remote, _ = runner_and_remote(tmp_path, names=["a"])
    laptop = laptop_of(tmp_path, str(remote))
    bundle = tmp_path / "exps.bundle"
    git(remote, "bundle", "create", str(bundle), "--all")
    cases = {
        str(remote): str(remote),
        remote.as_uri(): remote.as_uri(),
        "ssh://example.invalid/x.git": "ssh://example.invalid/x.git",
        "git+ssh://example.invalid/x.git": "git+ssh://example.invalid/x.git",
        "example.invalid:x.git": "example.invalid:x.git",
        "git://example.invalid/x.git": "git://example.invalid/x.git",
        "https://example.invalid/x.git": None,
        "http://example.invalid/x.git": None,
        "ext::git %s": None,
        "persistent-https://example.invalid/x": None,
        str(bundle): None,
    }
    for url, expected in cases.items():
        git(laptop, "remote", "set-url", "origin", url)
        how = fetchpack.native(Repo(laptop), get(Repo(laptop), "origin"))
        assert (how.url if how else None) == expected, url


def test_remote_settings_that_send_pulls_to_git_fetch(tmp_path):
    _, remote, _ = runner_and_remote(tmp_path, names=["a"])
    laptop = laptop_of(tmp_path, str(remote))

    def native():
        repo = Repo(laptop)
        return fetchpack.native(repo, get(repo, "origin"))

    assert native() is not None
    for key, value in (("remote.origin.vcs", "svn"), ("remote.origin.promisor", "true"),
                       ("remote.origin.partialclonefilter", "blob:none"), ("extensions.partialclone", "origin")):
        git(laptop, "config", key, value)
        assert native() is None, key
        git(laptop, "config", "--unset", key)
    assert native() is not None
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", remote.as_uri(), str(shallow))
    repo = Repo(shallow)
    assert fetchpack.native(repo, get(repo, "origin")) is None  # git must record the shallow boundary


def test_insteadof_and_uploadpack_are_honoured(tmp_path, exp):
    _, remote, shas = runner_and_remote(tmp_path)
    laptop = laptop_of(tmp_path, str(remote))
    wrapper, log = wrap_upload_pack(tmp_path, laptop)
    git(laptop, "config", f"url.{remote.parent}/.insteadOf", "lab:")
    git(laptop, "remote", "set-url", "origin", f"lab:{remote.name}")
    how = fetchpack.native(Repo(laptop), get(Repo(laptop), "origin"))
    assert how.url == str(remote) and how.upload_pack == str(wrapper)
    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert ran.code == 0, ran
    assert exp_refs(laptop) == shas
    assert len(log.read_text().splitlines()) == 2  # ls-remote and fetch-pack both went through it


def test_bundle_remote_pulls_through_git_fetch(tmp_path, exp):
    _, remote, shas = runner_and_remote(tmp_path)
    laptop = laptop_of(tmp_path, str(remote))
    bundle = tmp_path / "exps.bundle"
    git(remote, "bundle", "create", str(bundle), "--all")
    git(laptop, "remote", "add", "usb", str(bundle))
    ran = exp("pull", "usb", "--all", cwd=laptop)
    assert ran.code == 0, ran
    assert exp_refs(laptop) == shas


def test_refs_recorded_are_the_ones_fetched_when_the_remote_moves_meanwhile(tmp_path, exp):
    """The remote moves ``a`` after ``ls-remote`` listed it and before fetch-pack runs:
    the pull records what fetch-pack brought and the connectivity check checked."""
    runner, remote, shas = runner_and_remote(tmp_path)
    laptop = laptop_of(tmp_path, str(remote))
    write(runner, {"params.yaml": "lr: moved\n"})
    git(runner, "add", "-A")
    moved = git(runner, "commit-tree", git(runner, "write-tree").strip(), "-p", shas["a"], "-m", "a, again").strip()
    git(runner, "push", "-q", "origin", f"{moved}:refs/heads/parking")  # the object is there, not yet the ref
    wrap_upload_pack(tmp_path, laptop, f'git --git-dir="{remote}" update-ref refs/exp/a {moved}')
    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert ran.code == 0, ran
    assert exp_refs(laptop) == {**shas, "a": moved}
    assert exp_refs(laptop, "refs/remote-exp/origin/") == {**shas, "a": moved}
    git(laptop, "fsck", "--no-progress")


def test_incomplete_history_from_the_remote_changes_nothing(tmp_path, exp):
    """A shallow remote sends an experiment without its parent: fetch-pack accepts the
    pack, git's connectivity check refuses it, and no ref is written."""
    upstream = init_repo(tmp_path / "upstream", files={"f": "1\n"})
    write(upstream, {"f": "2\n"})
    commit_all(upstream, "c2")
    write(upstream, {"f": "3\n"})
    exp_sha = commit_all(upstream, "experiment")
    git(upstream, "update-ref", "refs/exp/e", exp_sha)
    git(upstream, "reset", "-q", "--hard", "HEAD~1")
    shallow = tmp_path / "shallow.git"
    git(tmp_path, "clone", "-q", "--bare", "--depth", "1", upstream.as_uri(), str(shallow))
    git(shallow, "fetch", "-q", "--depth", "1", upstream.as_uri(), "refs/exp/*:refs/exp/*")
    laptop = init_repo(tmp_path / "laptop", files={"other": "unrelated\n"})
    git(laptop, "remote", "add", "origin", str(shallow))
    before = git(laptop, "for-each-ref")
    ran = exp("pull", "origin", "e", cwd=laptop)
    assert ran.code == 1, ran
    first = ran.err.splitlines()[0]
    assert first.startswith("git-exp: error: origin (") and "incomplete history" in first, ran.err
    assert "nothing was changed" in first and "Traceback" not in ran.err
    assert git(laptop, "for-each-ref") == before
    assert keep_files(laptop) == []


@pytest.mark.parametrize("parts", [1, 3])
def test_connectivity_check_covers_every_tip(tmp_path, exp, monkeypatch, parts):
    """Split over several rev-lists or not, every fetched tip is checked: add one tip
    whose commit does not exist among the real ones and the check refuses the lot."""
    monkeypatch.setattr(fetchpack, "CHECK_PARTS", parts)
    monkeypatch.setattr(fetchpack, "CHECK_MIN", 2)
    _, remote, shas = runner_and_remote(tmp_path, names=[f"s/{i}" for i in range(7)])
    laptop = laptop_of(tmp_path, str(remote))
    repo = Repo(laptop)
    how = fetchpack.native(repo, get(repo, "origin"))
    with fetchpack.fetch(repo, how, [f"refs/exp/{n}" for n in shas]) as fetched:
        assert len(fetched.checks) == parts
        assert {ref[len("refs/exp/"):]: sha for ref, sha in fetched.shas.items()} == shas
        fetched.verify()  # complete: passes
    for ghost in ("0" * 39 + "1", "f" * 40):  # sorts first, sorts last: lands in different parts
        tips = {**{f"refs/exp/{n}": s for n, s in shas.items()}, "refs/exp/ghost": ghost}
        checked = fetchpack.Fetched(repo, how, tips, None)
        assert len(checked.checks) == parts
        with pytest.raises(fetchpack.TransportError, match="incomplete history"):
            checked.verify()


def test_experiment_deleted_on_the_remote_meanwhile_is_an_error_that_changes_nothing(tmp_path, exp):
    """ls-remote lists ``b``, then the remote deletes it before fetch-pack asks for it:
    the pull stops with git's reason, writes no ref and leaves no lock behind."""
    _, remote, _ = runner_and_remote(tmp_path)
    laptop = laptop_of(tmp_path, str(remote))
    wrap_upload_pack(tmp_path, laptop, f'git --git-dir="{remote}" update-ref -d refs/exp/b')
    before = git(laptop, "for-each-ref")
    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert ran.code == 1, ran
    first = ran.err.splitlines()[0]
    assert first.startswith("git-exp: error: fetching experiments from origin (") and "Traceback" not in ran.err
    assert "refs/exp/b" in ran.err  # git's own reason, indented below
    assert git(laptop, "for-each-ref") == before
    assert keep_files(laptop) == []
