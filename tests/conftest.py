"""Hermetic test environment and small builders that run real git.

Every test gets its own HOME and XDG directories, no system git config, a fixed
identity, no editor, no terminal prompts and no inherited ``GIT_*`` variables; new
repositories are of the object and ref format under test (tests/formats.py).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import formats

pytest_plugins = ["tests.server_fixtures"]

SCRUBBED = ("GIT_ASKPASS", "SSH_ASKPASS", "SSH_AUTH_SOCK", "GIT_SSH_COMMAND", "GIT_SSH")
CI_VARS = (
    "CI", "GITHUB_ACTIONS", "GITHUB_RUN_ID", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY",
    "GITLAB_CI", "CI_JOB_ID", "CI_JOB_URL", "JENKINS_URL", "BUILD_NUMBER", "BUILD_URL",
    "BUILDKITE", "BUILDKITE_BUILD_NUMBER", "BUILDKITE_BUILD_URL", "CIRCLECI",
    "CIRCLE_BUILD_NUM", "CIRCLE_BUILD_URL", "GIT_EXP_DEBUG",
)
TERMINAL_VARS = ("COLUMNS", "LINES", "NO_COLOR", "PAGER", "LESS", "LV")  # tests of the terminal set their own

IDENTITY = {
    "GIT_AUTHOR_NAME": "A U Thor",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "C O Mitter",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
}


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("GIT_") or name in SCRUBBED or name in CI_VARS or name in TERMINAL_VARS:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_CACHE_HOME", ".cache"), ("XDG_STATE_HOME", ".local/state")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.setenv("GIT_EDITOR", "false")
    monkeypatch.setenv("LC_ALL", "C")
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    for key, value in formats.default_env().items():  # SHA-256 / reftable pass (tests/formats.py)
        monkeypatch.setenv(key, value)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    yield home


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.once``: a test whose subject does not depend on the object or ref
    format (a browser, a shell's completion, a CI template) runs in the first pass only."""
    if not formats.OBJECT_FORMAT and not formats.REF_FORMAT:
        return
    skip = pytest.mark.skip(reason="format-independent: runs in the first pass (system git, SHA-1, files)")
    for item in items:
        if item.get_closest_marker("once"):
            item.add_marker(skip)


def pytest_report_header(config):
    proc = subprocess.run(["git", "version"], capture_output=True, text=True, check=False)
    where = shutil.which("git")
    return f"git under test: {proc.stdout.strip()} ({where}); new repositories: {formats.describe()}"


def git(cwd, *args, check=True, env=None, input=None) -> str:
    """Run real git in ``cwd`` and return its stdout (text)."""
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
        env={**os.environ, **(env or {})}, input=input,
    )
    if check and proc.returncode:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def init_repo(path: Path, *, files: dict | None = None, commit: bool = True) -> Path:
    """A new non-bare repository at ``path``, with one commit of ``files`` unless told not to."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    if files is None:
        files = {"README": "hello\n"}
    write(path, files)
    if commit and files:
        commit_all(path, "initial")
    return path


def write(root: Path, files: dict) -> None:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def commit_all(path: Path, message: str = "commit") -> str:
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
    return git(path, "rev-parse", "HEAD").strip()


def bare_remote(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "--bare", "-b", "main")
    return path


def exp_refs(repo: Path, prefix: str = "refs/exp/") -> dict[str, str]:
    """{name: sha} for every ref under ``prefix``, read by real git."""
    out = git(repo, "for-each-ref", "--format=%(objectname) %(refname)", prefix)
    refs = {}
    for line in out.splitlines():
        sha, ref = line.split(" ", 1)
        refs[ref[len(prefix):]] = sha
    return refs


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A repository with one commit, and the test's cwd set to it."""
    path = init_repo(tmp_path / "repo", files={"README": "hello\n", "params.yaml": "lr: 0.1\n"})
    monkeypatch.chdir(path)
    return path


class Ran:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"Ran(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def exp(capfd):
    """Run ``git exp ARGS`` in-process (optionally in ``cwd``); return code, stdout, stderr."""
    from git_exp.cli import main

    def call(*args: str, cwd=None) -> Ran:
        old = os.getcwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            code = main(list(args))
        finally:
            os.chdir(old)
        captured = capfd.readouterr()
        return Ran(code, captured.out, captured.err)

    return call


def assert_error(ran: Ran, code: int, *fragments: str) -> None:
    """A one-line ``git-exp: error: ...`` message with the given exit code and no traceback."""
    assert ran.code == code, ran
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1, ran.err
    assert lines[0].startswith("git-exp: error: "), ran.err
    assert "Traceback" not in ran.err
    for fragment in fragments:
        assert fragment in lines[0], ran.err
