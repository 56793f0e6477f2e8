"""The one module that runs processes: git, and the user's command for ``git exp run``.

Nothing else in git-exp starts a process.  Output that we parse comes from ``LC_ALL=C``
git with ``-z``/porcelain formats; names and remotes are passed after ``--`` or
validated beforehand so they are never read as options.

git is spawned with ``os.posix_spawnp`` and its output read with ``poll``, not with
``subprocess``: importing subprocess costs ~20 ms on these machines (``python -X
importtime -c "import subprocess"``: it pulls in ``re``, ``enum``, ``threading`` and
``selectors``), on commands whose whole budget is ~50 ms (``git exp ls REMOTE`` against
a 17 ms ``git ls-remote``).  git is told its directory with ``-C`` (posix_spawn has no
working directory before Python 3.13).  Python ignores SIGPIPE and children inherit
that; git puts it back to the default itself first thing (``restore_sigpipe_to_default``
in its common-main.c), so we need not.  Where posix_spawn is missing, or our own standard descriptors are
closed, subprocess does the work.  ``run_command`` (the user's program for ``git exp
run``) always uses subprocess: it needs its own process group and signals.
"""
from __future__ import annotations

import os
import sys
import time

from git_exp.errors import ExpError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing costs start-up time
    import subprocess
    from typing import Mapping, Sequence

TRACE = bool(os.environ.get("GIT_EXP_TRACE"))

# Settings pinned on every call so that user configuration cannot change output we parse.
PINNED = ("-c", "log.showSignature=false", "-c", "core.quotePath=false", "-c", "color.ui=false")
CHUNK = 1 << 18


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
        from git_exp.redact import redact

        return redact(self.stderr.decode("utf-8", "replace")).strip()

    def message(self) -> str:
        from git_exp.redact import redact

        text = f"`{redact(' '.join(self.args_))}` failed (exit {self.returncode})"
        if self.stderr_text:
            text += "\n" + "\n".join("    " + line for line in self.stderr_text.splitlines())
        return text


class Result:
    """What a finished git left: its exit code and raw output."""

    __slots__ = ("returncode", "stdout", "stderr")

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    def __repr__(self) -> str:
        return f"Result({self.returncode}, stdout={self.stdout[:80]!r}, stderr={self.stderr[:80]!r})"

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "surrogateescape")

    @property
    def err(self) -> str:
        from git_exp.redact import redact

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
    return start(*args, cwd=cwd, input=input, env=env).wait(check)


def start(
    *args: str,
    cwd: str | os.PathLike | None = None,
    input: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Running:
    """Start ``git ARGS``; ``.wait()`` collects it.  Gits started together run side by side."""
    return Running(args, cwd, input.encode() if isinstance(input, str) else input, _env(env))


def out(*args: str, **kw) -> str:
    """stdout of ``git ARGS`` with the final newline removed."""
    return run(*args, **kw).out.rstrip("\n")


class Running:
    """One git process and the pipes to it."""

    def __init__(self, args: Sequence[str], cwd, data: bytes | None, env: dict) -> None:
        self.args, self.data, self.proc, self.pid = args, data, None, None
        self.result: Result | None = None
        self.sent = 0
        self.started = time.perf_counter()
        cmd = ["git", *(("-C", os.fspath(cwd)) if cwd is not None else ()), *PINNED, *args]
        pipes = [os.pipe(), os.pipe(), os.pipe() if data is not None else (os.open(os.devnull, os.O_RDONLY), None)]
        if not hasattr(os, "posix_spawnp") or min(fd for pair in pipes for fd in pair if fd is not None) < 3:
            self._close(*(fd for pair in pipes for fd in pair))
            self._popen(cmd, env)
            return
        (self.out_r, out_w), (self.err_r, err_w), (in_r, self.in_w) = pipes
        self.fds = (self.out_r, self.err_r)
        try:
            self.pid = os.posix_spawnp("git", cmd, env, file_actions=[
                (os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
        except BaseException:
            self._close(self.out_r, self.err_r, self.in_w)
            raise
        finally:
            self._close(in_r, out_w, err_w)

    def _popen(self, cmd: list, env: dict) -> None:
        import subprocess

        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL if self.data is None else subprocess.PIPE)

    @staticmethod
    def _close(*fds) -> None:
        for fd in fds:
            if fd is not None:
                os.close(fd)

    def wait(self, check: bool = True) -> Result:
        """Feed git its input, read all it says, reap it; raise GitError if it failed and ``check``."""
        if self.result is None:
            wait_all([self])
        if check and self.result.returncode:
            raise GitError(["git", *self.args], self.result.returncode, self.result.stdout, self.result.stderr)
        return self.result

    def kill(self) -> None:
        """Stop git if it still runs, and reap it."""
        if self.result is None:
            try:
                if self.proc is not None:
                    self.proc.terminate()
                else:
                    os.kill(self.pid, 15)
            except ProcessLookupError:
                pass
        self.wait(check=False)

    def _reap(self, stdout: bytes, stderr: bytes) -> None:
        code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        self._done(code, stdout, stderr)

    def _done(self, code: int, stdout: bytes, stderr: bytes) -> None:
        if TRACE:
            from git_exp.redact import redact

            took = (time.perf_counter() - self.started) * 1000
            sys.stderr.write(f"git-exp: trace: {took:8.1f} ms  git {redact(' '.join(self.args))[:160]}\n")
        self.result = Result(code, stdout, stderr)


class stopped_on_error:
    """``with stopped_on_error(a, b): ...`` — gits started before the block (to run beside
    it) are stopped and reaped if the block raises; None entries are skipped."""

    def __init__(self, *running: Running | None) -> None:
        self.running = running

    def __enter__(self) -> stopped_on_error:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            for one in self.running:
                if one is not None:
                    one.kill()


def wait_all(running: list[Running]) -> None:
    """Collect several started gits at once, reading all their pipes in one ``poll`` loop,
    so that none of them stalls on a full pipe while we wait for another."""
    import select

    for one in running:
        if one.proc is not None and one.result is None:
            stdout, stderr = one.proc.communicate(one.data)
            one._done(one.proc.returncode, stdout, stderr)
    running = [one for one in running if one.result is None]
    owner: dict = {}  # fd -> (Running, chunks or None for stdin)
    poller = select.poll()
    for one in running:
        one.chunks = {one.out_r: [], one.err_r: []}
        one.open = 2
        for fd in one.chunks:
            owner[fd] = one
            poller.register(fd, select.POLLIN)
        if one.in_w is not None:
            if one.data:
                os.set_blocking(one.in_w, False)
                owner[one.in_w] = one
                poller.register(one.in_w, select.POLLOUT)
            else:
                os.close(one.in_w)
                one.in_w = None
    try:
        while owner:
            for fd, _event in poller.poll():
                one = owner[fd]
                if fd == one.in_w:
                    try:
                        one.sent += os.write(fd, one.data[one.sent:one.sent + CHUNK])
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:
                        one.sent = len(one.data)  # git stopped reading; what it printed says why
                    if one.sent >= len(one.data):
                        poller.unregister(fd)
                        del owner[fd]
                        os.close(fd)
                        one.in_w = None
                    continue
                block = os.read(fd, CHUNK)
                if block:
                    one.chunks[fd].append(block)
                    continue
                poller.unregister(fd)
                del owner[fd]
                one.open -= 1
                if not one.open:
                    one._close(one.out_r, one.err_r)
                    one.out_r = one.err_r = None
                    one._reap(*(b"".join(one.chunks[fd]) for fd in one.fds))
    finally:
        for one in running:
            if one.result is None:  # interrupted: close our ends, reap git
                one._close(*(fd for fd in (one.out_r, one.err_r, one.in_w) if fd is not None))
                one.out_r = one.err_r = one.in_w = None
                one._reap(b"", b"")


def run_command(argv: Sequence[str], *, cwd=None, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """Start the user's command with inherited stdio (output streams live)."""
    import subprocess

    return subprocess.Popen(list(argv), cwd=cwd, env=dict(env) if env is not None else None)
