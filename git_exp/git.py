"""The one module that runs processes: git, and the user's command for ``git exp run``.

Nothing else in git-exp calls ``subprocess``.  Output that we parse comes from
``LC_ALL=C`` git with ``-z``/porcelain formats; names and remotes are passed after
``--`` or validated beforehand so they are never read as options.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

from git_exp.errors import ExpError
from git_exp.redact import redact

TRACE = bool(os.environ.get("GIT_EXP_TRACE"))

# Settings pinned on every call so that user configuration cannot change output we parse.
PINNED = ("-c", "log.showSignature=false", "-c", "core.quotePath=false", "-c", "color.ui=false")


class GitError(ExpError):
    """A git command failed; its message shows the command and git's stderr, indented."""

    def __init__(self, args: Sequence[str], returncode: int, stdout: bytes, stderr: bytes):
        self.args_ = list(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(self.message())

    @property
    def stderr_text(self) -> str:
        return redact(self.stderr.decode("utf-8", "replace")).strip()

    def message(self) -> str:
        text = f"`{redact(' '.join(self.args_))}` failed (exit {self.returncode})"
        if self.stderr_text:
            text += "\n" + "\n".join("    " + line for line in self.stderr_text.splitlines())
        return text


@dataclass
class Result:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "surrogateescape")

    @property
    def err(self) -> str:
        return redact(self.stderr.decode("utf-8", "replace"))


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    env.pop("LANGUAGE", None)
    if extra:
        env.update(extra)
    return env


def run(
    *args: str,
    cwd: str | os.PathLike | None = None,
    input: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> Result:
    """Run ``git ARGS`` and return its output; raise GitError on failure when ``check``."""
    cmd = ["git", *PINNED, *args]
    if isinstance(input, str):
        input = input.encode()
    started = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=cwd, input=input, env=_env(env), capture_output=True,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    if TRACE:
        took = (time.perf_counter() - started) * 1000
        sys.stderr.write(f"git-exp: trace: {took:8.1f} ms  git {redact(' '.join(args))[:160]}\n")
    if check and proc.returncode:
        raise GitError(["git", *args], proc.returncode, proc.stdout, proc.stderr)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def out(*args: str, **kw) -> str:
    """stdout of ``git ARGS`` with the final newline removed."""
    return run(*args, **kw).out.rstrip("\n")


def run_command(argv: Sequence[str], *, cwd=None, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """Start the user's command with inherited stdio (output streams live)."""
    return subprocess.Popen(list(argv), cwd=cwd, env=dict(env) if env is not None else None)
