"""The suite makes its repositories in the formats under test (tests/formats.py), and its
servers run the git under test: else the SHA-256/reftable pass of ``make test`` would
quietly test SHA-1 and the files backend again."""
from __future__ import annotations

import shlex
import subprocess

from tests import formats
from tests.conftest import bare_remote, git, init_repo
from tests.server_fixtures import ssh_command

HEX = {"sha1": 40, "sha256": 64}


def assert_formats(path):
    want = formats.OBJECT_FORMAT or "sha1"
    assert git(path, "rev-parse", "--show-object-format").strip() == want
    if formats.REF_FORMAT:  # --show-ref-format: git >= 2.45, which the reftable pass has
        assert git(path, "rev-parse", "--show-ref-format").strip() == formats.REF_FORMAT


def test_new_repositories_have_the_formats_under_test(tmp_path):
    repo = init_repo(tmp_path / "repo")
    assert_formats(repo)
    assert len(git(repo, "rev-parse", "HEAD").strip()) == HEX[formats.OBJECT_FORMAT or "sha1"]
    assert_formats(bare_remote(tmp_path / "bare.git"))
    git(tmp_path, "clone", "-q", str(repo), "clone")
    assert_formats(tmp_path / "clone")


def test_served_repositories_have_the_formats_under_test(http_remote, daemon_remote):
    assert_formats(http_remote.path)
    assert_formats(daemon_remote.path)


def test_ssh_sessions_run_the_git_under_test(ssh_server, tmp_path):
    """sshd gives a session its own PATH; the fixture sets the suite's."""
    ssh = [*shlex.split(ssh_command(ssh_server.extra["key"])), "-p", str(ssh_server.port), "root@127.0.0.1"]
    remote = subprocess.run([*ssh, "git version; echo $GIT_DEFAULT_HASH/$GIT_DEFAULT_REF_FORMAT"],
                            capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL).stdout
    assert remote.splitlines() == [git(tmp_path, "version").strip(),
                                   f"{formats.OBJECT_FORMAT}/{formats.REF_FORMAT}"]
