"""Where the benchmark runs: its temp dir, its hermetic environment, and running processes."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

IDENTITY = {
    "GIT_AUTHOR_NAME": "A U Thor", "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "C O Mitter", "GIT_COMMITTER_EMAIL": "committer@example.com",
}
GITCONFIG = "[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n"
SHM = Path("/dev/shm")
SHM_NEEDS = 4 << 30  # bytes free on /dev/shm before we use it
ROOT = Path(__file__).resolve().parents[2]
GIT_CURRENT = ROOT / ".ci" / "git-current.sh"  # prints a current git's path; exit 3: none to be had


class BenchError(Exception):
    """A command the benchmark needs failed; the message says which and why."""


class Unavailable(BenchError):
    """An operation cannot be measured here (a program it needs is missing): its row is
    left out with the reason, and the run does not fail for it."""


@dataclass(frozen=True)
class Cmd:
    """One command to time: argv run in cwd."""

    argv: Sequence[str]
    cwd: Path

    def __str__(self) -> str:
        return " ".join(self.argv)


def pick_tmp() -> tuple[Path, str]:
    """The parent for our temp dir and a phrase saying which it is."""
    try:
        if SHM.is_dir() and os.access(SHM, os.W_OK) and shutil.disk_usage(SHM).free > SHM_NEEDS:
            return SHM, "/dev/shm (tmpfs)"
    except OSError:
        pass
    default = Path(tempfile.gettempdir())
    return default, f"{default} (default temp dir; /dev/shm unavailable)"


def hermetic_env(home: Path) -> dict[str, str]:
    """os.environ without GIT_* variables, with our own HOME, identity and locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(IDENTITY)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1",
               GIT_TERMINAL_PROMPT="0", LC_ALL="C", DVC_NO_ANALYTICS="1")
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(GITCONFIG)
    return env


def current_git() -> tuple[str | None, str]:
    """A current git (reftable refs) for the reftable column, or None; and a phrase saying why.

    Asks .ci/git-current.sh only when it answers fast: GIT_EXP_CURRENT_GIT is set, or a build
    is in its cache (the script builds one when there is none, which takes minutes)."""
    env = {k: v for k, v in os.environ.items() if k != "GIT_EXP_GIT_REFRESH"}
    if not env.get("GIT_EXP_CURRENT_GIT"):
        if os.geteuid() == 0:
            cache = Path(env.get("GIT_EXP_GIT_CACHE") or "/var/cache/git-exp")
        else:
            xdg = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            cache = Path(env.get("GIT_EXP_GIT_CACHE") or Path(xdg) / "git-exp")
        if not (cache / "current" / "bin" / "git").is_file():
            return None, f"no current git built in {cache} (`make git-current` builds one, ~6 minutes)"
    try:
        proc = subprocess.run([str(GIT_CURRENT)], env=env, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{GIT_CURRENT.name} did not answer: {exc}"
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        return None, " ".join(lines) or f"{GIT_CURRENT.name} exited {proc.returncode}"
    return lines[-1], lines[-1]


def reftable_env(env: Mapping[str, str], git: str) -> dict[str, str]:
    """``env`` with ``git``'s directory first on PATH and reftable refs in every repository
    git creates (init, init --bare, clone)."""
    path = f"{os.path.dirname(git)}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "PATH": path, "GIT_DEFAULT_REF_FORMAT": "reftable"}


def find_git_exp() -> str:
    found = shutil.which("git-exp")
    if found is None:
        raise BenchError("git-exp is not on PATH — run `make bench`, or put a `git-exp` runner on PATH")
    return found


def interpreter(script: str) -> str:
    """The Python that runs ``script``: its shebang when that names a python, else ours."""
    try:
        with open(script, "rb") as fh:
            first = fh.readline().decode("utf-8", "replace")
    except OSError:
        return sys.executable
    parts = first[2:].split() if first.startswith("#!") else []
    if parts and "python" in os.path.basename(parts[0]) and os.path.exists(parts[0]):
        return parts[0]
    if len(parts) > 1 and os.path.basename(parts[0]) == "env" and "python" in parts[1]:
        return shutil.which(parts[1]) or sys.executable
    return sys.executable


def run(argv: Sequence[str], cwd: Path, env: Mapping[str, str], input: bytes | None = None) -> str:
    """Run a setup command; return its stdout; BenchError with its stderr when it fails."""
    proc = subprocess.run(list(argv), cwd=cwd, env=dict(env), input=input, capture_output=True)
    if proc.returncode:
        raise BenchError(f"`{' '.join(argv)}` in {cwd} failed ({proc.returncode}):\n"
                         f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode(errors="replace")


def copy_repo(src: Path, dst: Path) -> None:
    """A fresh copy of a repository (removing what was at ``dst``)."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
