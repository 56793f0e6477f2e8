"""End to end: the installed `git-exp` on PATH, run as users run it (`git exp ...`).

`make test` installs the package into .venv and puts .venv/bin on PATH; that is what
catches a missing entry point or man page.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import bare_remote, git, init_repo, write

INSTALLED = shutil.which("git-exp")
needs_install = pytest.mark.skipif(
    INSTALLED is None, reason="git-exp is not installed on PATH: run the suite with `make test`")


def run(cwd, *args, env=None, check=True):
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if check:
        assert proc.returncode == 0, proc
    return proc


@needs_install
def test_installed_entry_point_is_a_git_subcommand(tmp_path):
    assert Path(INSTALLED).parent == Path(sys.prefix) / "bin" or "bin" in INSTALLED
    repo = init_repo(tmp_path / "r", files={"params.yaml": "lr: 0.1\n"})
    assert run(repo, "exp", "--version").stdout.startswith("git-exp ")
    saved = run(repo, "exp", "run", "-n", "e2e", "--", "sh", "-c", "echo '{\"acc\": 1}' > metrics.json")
    assert "saved experiment e2e" in saved.stderr
    rows = json.loads(run(repo, "exp", "show", "--json").stdout)
    assert rows[0]["name"] == "e2e" and rows[0]["metrics.acc"] == 1
    bad = run(repo, "exp", "save", "-n", "a..b", check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("git-exp: error: invalid experiment name")


@needs_install
def test_full_loop_through_plain_git(tmp_path):
    remote = bare_remote(tmp_path / "remote.git")
    runner = init_repo(tmp_path / "runner", files={"params.yaml": "lr: 0.1\n"})
    git(runner, "remote", "add", "origin", str(remote))
    git(runner, "push", "-q", "origin", "main")
    run(runner, "exp", "run", "-n", "ci/1", "--", "true")
    assert run(runner, "exp", "push", "origin", "ci/1").stdout.split() == ["new", "ci/1"]
    laptop = tmp_path / "laptop"
    git(tmp_path, "clone", "-q", str(remote), str(laptop))
    run(laptop, "exp", "install", "origin")
    run(laptop, "fetch", "-q")
    assert git(laptop, "for-each-ref", "--format=%(refname)", "refs/remote-exp/").split() == ["refs/remote-exp/origin/ci/1"]
    write(laptop, {"params.yaml": "lr: 0.2\n"})
    run(laptop, "exp", "save", "-n", "laptop/1")
    run(laptop, "push", "-q")  # plain git push: the branch (push = HEAD) and the experiments
    assert git(remote, "for-each-ref", "--format=%(refname)", "refs/exp/").split() == ["refs/exp/ci/1", "refs/exp/laptop/1"]


@needs_install
def test_help_opens_the_man_page(tmp_path):
    if shutil.which("man") is None:
        pytest.skip("man is not installed: apt-get install man-db to test `git help exp`")
    repo = init_repo(tmp_path / "r")
    env = {"MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80", "GIT_PAGER": "cat"}
    for args in (("help", "exp"), ("exp", "--help")):
        page = run(repo, *args, env=env)
        assert "git-exp" in page.stdout and "refs/exp/" in page.stdout, page
        assert "push = HEAD" in page.stdout
    sub = run(repo, "exp", "save", "--help")
    assert "Usage: git exp save" in sub.stdout


def test_checkout_runner_works_without_install(tmp_path):
    """bin/git-exp runs the same main() straight from a checkout."""
    repo = init_repo(tmp_path / "r")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "bin" / "git-exp"), "save", "-n", "x"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "x\n", proc
    assert shutil.which("git") is not None
