"""The EXIT STATUS section of the man page, checked code by code against real invocations.

Each ``**CODE**`` the page lists must have a check here, and each check a code on the
page: a code added to either side without the other fails ``test_every_documented_code_is_checked``.
Invocations run the installed ``git-exp`` as a user does (signals need a process of its own).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import exp_refs, git

pytestmark = pytest.mark.once  # exit codes do not depend on the object or ref format

MAN = Path(__file__).resolve().parents[1] / "man" / "git-exp.1.md"
GIT_EXP = shutil.which("git-exp") or str(Path(sys.prefix) / "bin" / "git-exp")


def documented() -> list[str]:
    text = MAN.read_text()
    section = text[text.index("# EXIT STATUS\n"):]
    section = section[:section.index("\n# ", 1)]
    return re.findall(r"^\*\*(\d+(?:\+\*N\*)?)\*\*$", section, re.M)


def shell_code(returncode: int) -> int:
    """The status a shell reports: 128+N for a process ended by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def git_exp(*args, cwd, env=None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([GIT_EXP, *args], cwd=cwd, env={**os.environ, **(env or {})}, stdout=stdout,
                          stderr=subprocess.PIPE, text=True)


def holding(marker: str) -> list[int]:
    """The processes whose command line holds ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                found.append(int(pid))
        except OSError:
            pass
    return found


def gone(marker: str, timeout: float = 10) -> list[int]:
    """``holding(marker)`` once it is empty, or when ``timeout`` is up: a process signalled
    a moment ago may still be on its way out (seen once under load).  The sleep under test
    lasts 30 s or more, so one that was never signalled is still there."""
    deadline = time.monotonic() + timeout
    while (left := holding(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def until_started(marker: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not holding(marker):
        assert time.monotonic() < deadline, f"nothing with {marker!r} started"
        time.sleep(0.05)


def signalled(repo, signum: int, marker: str) -> subprocess.CompletedProcess:
    """``git exp ls slow`` (its ls-remote hangs in ``sleep marker``) sent ``signum`` once it waits."""
    proc = subprocess.Popen([GIT_EXP, "ls", "slow"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    until_started(marker)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def slow_remote(repo):
    """A remote whose upload-pack answers only after a long sleep: ``sleep <marker>``, a
    number no other test uses.  What a signal git exp does not handle (SIGHUP) leaves of
    it is stopped afterwards."""
    marker = f"{30 + time.time_ns() % 10**6 / 10**6:.6f}"
    bare = repo.parent / "slow.git"
    git(repo, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "slow", str(bare))
    git(repo, "config", "remote.slow.uploadpack", f"sleep {marker}; git-upload-pack")
    yield marker
    for pid in holding(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def check_0(repo, tmp_path, slow):
    assert git_exp("ls", cwd=repo).returncode == 0


def check_1(repo, tmp_path, slow):
    sweep = git_exp("run", "-S", "lr=0.1,0.2", "--", "sh", "-c", "exit 3", cwd=repo)
    assert sweep.returncode == 1 and len(exp_refs(repo)) == 2  # a sweep whose runs failed; both saved
    for name in exp_refs(repo):
        git(repo, "update-ref", "-d", f"refs/exp/{name}")
    (repo / ".git" / "index").write_bytes(b"garbage, not an index")  # git add fails: the save fails
    ran = git_exp("save", "-n", "x", cwd=repo)
    assert ran.returncode == 1 and ran.stderr.startswith("git-exp: error: ") and exp_refs(repo) == {}
    bare = git_exp(cwd=repo)
    assert bare.returncode == 1 == subprocess.run(["git"], capture_output=True).returncode  # as bare git
    assert bare.stdout.startswith("usage: git exp") and bare.stderr == ""


def check_2(repo, tmp_path, slow):
    assert git_exp("save", "--bogus", cwd=repo).returncode == 2
    assert git_exp("ls", cwd=tmp_path).returncode == 2  # not a repository
    empty = tmp_path / "empty-path"
    empty.mkdir()
    nogit = git_exp("ls", cwd=repo, env={"PATH": str(empty)})
    assert nogit.returncode == 2 and "git is not installed or not on PATH" in nogit.stderr


def check_127(repo, tmp_path, slow):
    ran = git_exp("run", "--", "no-such-command-here", cwd=repo)
    assert ran.returncode == 127 and "nothing was saved" in ran.stderr and exp_refs(repo) == {}
    assert git_exp("run", "--", "sh", "-c", "exit 3", cwd=repo).returncode == 3  # otherwise: the command's code


def check_128_n(repo, tmp_path, slow):
    ran = git_exp("run", "-n", "killed", "--", "sh", "-c", "kill -HUP $$", cwd=repo)
    assert ran.returncode == 128 + signal.SIGHUP
    assert f"Exp-Exit-Code: {128 + signal.SIGHUP}" in git(repo, "log", "-1", "--format=%B", "refs/exp/killed")
    assert shell_code(signalled(repo, signal.SIGHUP, slow).returncode) == 128 + signal.SIGHUP


def check_130(repo, tmp_path, slow):
    ran = signalled(repo, signal.SIGINT, slow)
    assert ran.returncode == 130 and ran.stderr == "git-exp: interrupted\n"
    assert gone(slow) == []  # the git it started, and what that started, are gone


def check_141(repo, tmp_path, slow):
    read, write_ = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        ran = git_exp("ls", cwd=repo, stdout=write_)
    finally:
        os.close(write_)
    assert ran.returncode == 141 and ran.stderr == ""


def check_143(repo, tmp_path, slow):
    ran = signalled(repo, signal.SIGTERM, slow)
    assert ran.returncode == 143 and ran.stderr == "git-exp: terminated\n"
    assert gone(slow) == []


CHECKS = {"0": check_0, "1": check_1, "2": check_2, "127": check_127, "128+*N*": check_128_n, "130": check_130,
          "141": check_141, "143": check_143}


def test_every_documented_code_is_checked():
    assert sorted(documented()) == sorted(CHECKS)


@pytest.mark.parametrize("code", sorted(CHECKS))
def test_exit_status(code, repo, exp, tmp_path, slow_remote):
    assert exp("save", "-n", "e1").code == 0
    if code == "1" or code == "127":
        git(repo, "update-ref", "-d", "refs/exp/e1")  # checks that nothing was saved see an empty namespace
    CHECKS[code](repo, tmp_path, slow_remote)
