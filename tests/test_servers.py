"""Smoke tests of the real-server fixtures, with plain git only (no git-exp code)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import time

import pytest

from tests.conftest import commit_all, git, init_repo, write
from tests.server_fixtures import HOST, Remote, group_gone, port_accepts, serve, server_env, stop_group

EXP_REFSPEC = "+refs/exp/*:refs/remote-exp/origin/*"


def run_git(cwd, *args, timeout=30) -> subprocess.CompletedProcess:
    """Plain git with the test's environment only, never waiting on a terminal."""
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def ls_remote(cwd, remote="origin") -> dict[str, str]:
    out = git(cwd, "ls-remote", remote)
    return {ref: sha for sha, ref in (line.split("\t") for line in out.splitlines())}


def test_push_list_fetch_across_transports(any_remote: Remote, tmp_path):
    remote = any_remote
    src = init_repo(tmp_path / "src", files={"README": "hello\n"})
    remote.configure(src)
    head = git(src, "rev-parse", "HEAD").strip()

    # plain `git push origin` works with no extra env or -c once configured
    git(src, "push", "-q", "origin", "HEAD:refs/exp/x", "HEAD:refs/heads/main")

    listed = ls_remote(src)
    assert listed["refs/exp/x"] == head
    assert listed["refs/heads/main"] == head
    assert git(remote.path, "rev-parse", "refs/exp/x").strip() == head  # on the server's disk

    # another clone, made with the remote's env/config, fetches experiments
    other = remote.clone(tmp_path / "other")
    assert git(other, "rev-parse", "HEAD").strip() == head
    assert git(other, "for-each-ref", "refs/remote-exp/") == ""  # a clone doesn't fetch refs/exp
    git(other, "fetch", "-q", "origin", EXP_REFSPEC)
    assert git(other, "rev-parse", "refs/remote-exp/origin/x").strip() == head

    # a second experiment shows up on the next fetch; a deleted one can be pruned
    write(src, {"params.yaml": "lr: 0.2\n"})
    second = commit_all(src, "second")
    git(src, "push", "-q", "origin", "HEAD:refs/exp/y", ":refs/exp/x")
    git(other, "fetch", "-q", "--prune", "origin", EXP_REFSPEC)
    refs = git(other, "for-each-ref", "--format=%(refname) %(objectname)", "refs/remote-exp/")
    assert refs.splitlines() == [f"refs/remote-exp/origin/y {second}"]


def test_remote_env_and_config_work_without_configure(any_remote: Remote, tmp_path):
    src = init_repo(tmp_path / "src")
    head = git(src, "rev-parse", "HEAD").strip()
    any_remote.git(src, "push", "-q", any_remote.url, "HEAD:refs/exp/direct")
    out = any_remote.git(src, "ls-remote", any_remote.url, "refs/exp/*").stdout
    assert out.split() == [head, "refs/exp/direct"]


def test_daemon_remote_is_git_protocol_on_loopback(daemon_remote: Remote):
    assert daemon_remote.url.startswith(f"git://{HOST}:")
    assert daemon_remote.path.is_dir() and (daemon_remote.path / "HEAD").is_file()


def test_ssh_remote_url_names_absolute_path(ssh_remote: Remote, tmp_path):
    assert ssh_remote.url.startswith(f"ssh://root@{HOST}:")
    assert ssh_remote.url.endswith(f"{ssh_remote.path}") and ssh_remote.path.is_absolute()
    src = init_repo(tmp_path / "src")
    ssh_remote.configure(src)
    assert "-o BatchMode=yes" in git(src, "config", "core.sshCommand")
    assert "GIT_SSH_COMMAND" in ssh_remote.env


# --------------------------------------------------------------------------- HTTP auth

def test_http_auth_right_password(http_auth_remote: Remote, tmp_path):
    src = init_repo(tmp_path / "src")
    http_auth_remote.configure(src)
    head = git(src, "rev-parse", "HEAD").strip()
    git(src, "push", "-q", "origin", "HEAD:refs/exp/x", "HEAD:refs/heads/main")
    assert ls_remote(src)["refs/exp/x"] == head
    other = http_auth_remote.clone(tmp_path / "other")  # via git_config's credential store
    git(other, "fetch", "-q", "origin", EXP_REFSPEC)
    assert git(other, "rev-parse", "refs/remote-exp/origin/x").strip() == head


def test_http_auth_wrong_password_fails_fast(http_auth_remote: Remote, tmp_path):
    src = init_repo(tmp_path / "src")
    http_auth_remote.configure(src, password="wrong")
    started = time.monotonic()
    proc = run_git(src, "push", "origin", "HEAD:refs/exp/x")
    elapsed = time.monotonic() - started
    assert proc.returncode != 0
    assert "Authentication failed" in proc.stderr
    assert elapsed < 5, f"wrong password took {elapsed:.1f}s"
    assert git(http_auth_remote.path, "for-each-ref") == ""


def test_http_auth_no_credential_does_not_prompt(http_auth_remote: Remote, tmp_path):
    src = init_repo(tmp_path / "src")
    http_auth_remote.configure(src, credentials=False)
    proc = run_git(src, "ls-remote", "origin")
    assert proc.returncode != 0
    assert "terminal prompts disabled" in proc.stderr


def test_http_anonymous_and_auth_share_nothing_but_the_server(http_remote, http_auth_remote):
    assert "/anon/" in http_remote.url and "/auth/" in http_auth_remote.url
    assert http_remote.path != http_auth_remote.path


# --------------------------------------------------------------------------- gitolite

def test_gitolite_denies_bob_experiments(gitolite_server, tmp_path):
    alice, bob = gitolite_server("alice"), gitolite_server.remote("bob")
    src = init_repo(tmp_path / "src")
    head = git(src, "rev-parse", "HEAD").strip()
    alice.configure(src, "alice")
    bob.configure(src, "bob")

    git(src, "push", "-q", "alice", "HEAD:refs/exp/a1", "HEAD:refs/heads/main")
    assert git(gitolite_server.path, "rev-parse", "refs/exp/a1").strip() == head

    proc = run_git(src, "push", "bob", "HEAD:refs/exp/b1")
    assert proc.returncode != 0
    assert "DENIED" in proc.stderr and "refs/exp/b1" in proc.stderr
    assert "[remote rejected]" in proc.stderr
    assert "refs/exp/b1" not in git(gitolite_server.path, "for-each-ref")

    # bob may still push branches and read experiments
    git(src, "push", "-q", "bob", "HEAD:refs/heads/bob-branch")
    assert ls_remote(src, "bob")["refs/exp/a1"] == head
    other = bob.clone(tmp_path / "other")
    git(other, "fetch", "-q", "origin", EXP_REFSPEC)
    assert git(other, "rev-parse", "refs/remote-exp/origin/a1").strip() == head


def test_gitolite_repos_are_fresh_per_test(gitolite_server):
    assert gitolite_server.path.is_dir()
    assert git(gitolite_server.path, "for-each-ref") == ""


# --------------------------------------------------------------------------- git-lfs

@pytest.mark.parametrize("kind", ["local", "file"])
def test_lfs_objects_land_in_remote_store(git_lfs, kind, request, tmp_path):
    remote: Remote = request.getfixturevalue(f"{kind}_remote")
    src = init_repo(tmp_path / "src")
    git(src, "lfs", "install", "--local")
    git(src, "lfs", "track", "*.bin")
    payload = os.urandom(4096)
    write(src, {"weights.bin": payload})
    commit_all(src, "add weights")
    pointer = git(src, "show", "HEAD:weights.bin")
    oid = hashlib.sha256(payload).hexdigest()
    assert f"oid sha256:{oid}" in pointer  # the commit stores a pointer, not the data

    remote.configure(src)
    git(src, "push", "-q", "origin", "HEAD:refs/exp/x")
    stored = remote.path / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    assert stored.read_bytes() == payload
    assert "weights.bin" in git(remote.path, "ls-tree", "-r", "--name-only", "refs/exp/x")


# --------------------------------------------------------------------------- helpers

def test_stop_group_leaves_nothing_behind(tmp_path):
    daemon = git(tmp_path, "--exec-path").strip() + "/git-daemon"
    (tmp_path / "srv").mkdir()
    proc, port = serve(
        "git-daemon",
        lambda port: [daemon, "--verbose", f"--listen={HOST}", f"--port={port}",
                      f"--base-path={tmp_path / 'srv'}", "--export-all", str(tmp_path / "srv")],
        env=server_env(tmp_path), workdir=tmp_path, marker="Ready to rumble")
    assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)  # own process group
    assert port_accepts(port)
    started = time.monotonic()
    stop_group(proc)
    assert time.monotonic() - started < 2
    assert proc.returncode is not None
    assert group_gone(proc.pid, timeout=0)  # no running process left in its group
    assert not port_accepts(port)
