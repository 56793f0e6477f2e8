"""The one module that runs processes: git, and the user's command for ``git exp run``.

Nothing else in git-exp starts a process.  Output that we parse comes from ``LC_ALL=C``
git with ``-z``/porcelain formats; names and remotes are passed after ``--`` or
validated beforehand so they are never read as options.

git is spawned with ``os.posix_spawnp`` and its output read with ``poll``, not with
``subprocess``: importing subprocess costs ~20 ms on these machines (``python -X
importtime -c "import subprocess"``: it pulls in ``re``, ``enum``, ``threading`` and
``selectors``), on commands whose whole budget is ~50 ms (``git exp ls REMOTE`` against
a 17 ms ``git ls-remote``).  git is told its directory with ``-C`` (posix_spawn has no
working directory before Python 3.13).  Where posix_spawn is missing, or our own
standard descriptors are closed, subprocess does the work.  Signal numbers come from
``_signal``, the C half of ``signal`` (whose ``enum`` import costs ~10 ms).

Process hygiene, for git and the user's command alike:

- Python ignores SIGPIPE and SIGXFSZ and an ignored signal stays ignored across exec;
  children get both back at their defaults (``setsigdef``; subprocess's
  ``restore_signals``), so ``cmd | head`` in a run ends as it does in a shell.
- Descriptors: everything git-exp opens is close-on-exec (Python's default), and a
  child gets only its own pipes on 0-2.  Descriptors our caller handed us open (a make
  jobserver, a CI log pipe) are passed on, as ``env``, ``nice`` or ``timeout`` do.
- An interrupt stops what we started: KeyboardInterrupt or SIGTERM (``Terminated``,
  raised inside ``guarded``) while gits run terminates and reaps them and what they
  started in our process group (git leaves an ssh to itself).  ``stopped_on_error``
  does the same for gits started ahead, and leaving ``guarded`` for any git still
  running: every git is in ``_live`` from its spawn (signals are held across spawn and
  registration) until it is reaped.
- Inside ``with shielded():`` (``run``, from its checks to its save) gits start with
  SIGINT, SIGTERM and SIGHUP blocked, so a Ctrl-C sent to the whole process group cannot
  kill them half-way; git-exp records the signal, finishes, then says so.
- A missing ``git`` is ``GitNotFound``, a one-line usage error.

``Command`` is the user's program for ``git exp run``: see its docstring for process
groups and how signals reach it.
"""
from __future__ import annotations

import _signal
import os
import sys
import time

from git_exp.errors import ExpError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing costs start-up time
    from typing import Iterable, Mapping, Sequence

TRACE = bool(os.environ.get("GIT_EXP_TRACE"))

# Settings pinned on every call so that user configuration cannot change output we parse.
PINNED = ("-c", "log.showSignature=false", "-c", "core.quotePath=false", "-c", "color.ui=false")
CHUNK = 1 << 18
DEFAULTED = (_signal.SIGPIPE, _signal.SIGXFSZ)  # Python ignores them; children get the defaults
SHIELDED = {_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP}
_shielded = 0
_live: set = set()  # Running objects started and not yet reaped


class GitNotFound(UsageError):
    def __init__(self) -> None:
        super().__init__("git is not installed or not on PATH — install git, or add the directory "
                         "that holds it to PATH")


class Terminated(BaseException):
    """SIGTERM arrived (see ``guarded``); like KeyboardInterrupt, it unwinds."""

    exit_code = 128 + _signal.SIGTERM


def _raise_terminated(signum, frame):
    raise Terminated()


class guarded:
    """``with guarded():`` around a whole command: SIGTERM raises ``Terminated``, so
    ``finally`` blocks run as for Ctrl-C (a SIGTERM our caller set to be ignored stays
    ignored); on the way out every git still running -- one an interrupt caught between
    its start and its wait -- is stopped and reaped."""

    def __enter__(self) -> guarded:
        self.before = set(_live)
        self.old = _signal.getsignal(_signal.SIGTERM)
        if self.old == _signal.SIG_DFL:
            _signal.signal(_signal.SIGTERM, _raise_terminated)
        return self

    def __exit__(self, *exc) -> None:
        try:
            stop_all(_live - self.before)
        finally:
            if self.old == _signal.SIG_DFL:
                _signal.signal(_signal.SIGTERM, self.old)


def stop_all(running: Iterable[Running]) -> None:
    """Stop and reap each of ``running`` not yet collected."""
    for one in list(running):
        if one.result is None:
            one._abandon()


class shielded:
    """``with shielded():`` gits started inside begin with SIGINT, SIGTERM and SIGHUP blocked
    (a blocked mask survives exec): they finish what they were asked to do even when a
    Ctrl-C or a kill reaches the whole process group.  Use it with signal handlers that
    record instead of raising, so git-exp itself decides when to stop."""

    def __enter__(self) -> shielded:
        global _shielded
        _shielded += 1
        return self

    def __exit__(self, *exc) -> None:
        global _shielded
        _shielded -= 1


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
    echo=None,
    pinned: bool = True,
    apart: bool = False,
) -> Result:
    """Run ``git ARGS`` and return its output; raise GitError on failure when ``check``.
    ``echo``: called with each block of git's stderr as it arrives (progress meters)."""
    return start(*args, cwd=cwd, input=input, env=env, echo=echo, pinned=pinned, apart=apart).wait(check)


def start(
    *args: str,
    cwd: str | os.PathLike | None = None,
    input: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
    echo=None,
    pinned: bool = True,
    apart: bool = False,
) -> Running:
    """Start ``git ARGS``; ``.wait()`` collects it.  Gits started together run side by side.
    ``pinned=False`` leaves out the ``PINNED`` settings: for reading the user's own values
    of them (``git config color.ui``), never for output that is parsed otherwise.
    ``apart``: git runs in a process group of its own, so that a signal to ours (a CI
    job cancelled, a terminal closed: often SIGKILL to the whole group; Ctrl-C) does not
    stop it half-way through a step that git itself leaves broken when killed (``git
    worktree add``: a worktree whose HEAD points at nothing fails every ``git gc`` until
    it is pruned); interrupted, we wait for it to end instead of stopping it (``_stop``)."""
    running = Running(args, cwd, input.encode() if isinstance(input, str) else input, _env(env), pinned, apart)
    running.echo = echo
    return running


def out(*args: str, **kw) -> str:
    """stdout of ``git ARGS`` with the final newline removed."""
    return run(*args, **kw).out.rstrip("\n")


class Running:
    """One git process and the pipes to it."""

    def __init__(self, args: Sequence[str], cwd, data: bytes | None, env: dict, pinned: bool = True,
                 apart: bool = False) -> None:
        self.args, self.data, self.proc, self.pid = args, data, None, None
        self.result: Result | None = None
        self.echo = None
        self.thread = None  # collecting it in the background (``background``)
        self.shielded = bool(_shielded)
        self.apart = apart
        self.sent = 0
        self.started = time.perf_counter()
        cmd = ["git", *(("-C", os.fspath(cwd)) if cwd is not None else ()), *(PINNED if pinned else ()), *args]
        pipes = [os.pipe(), os.pipe(), os.pipe() if data is not None else (os.open(os.devnull, os.O_RDONLY), None)]
        if not hasattr(os, "posix_spawnp") or min(fd for pair in pipes for fd in pair if fd is not None) < 3:
            self._close(*(fd for pair in pipes for fd in pair))
            self._popen(cmd, env, apart)
            return
        (self.out_r, out_w), (self.err_r, err_w), (in_r, self.in_w) = pipes
        self.fds = (self.out_r, self.err_r)
        held = _signal.pthread_sigmask(_signal.SIG_BLOCK, SHIELDED)  # no interrupt between spawn and _live
        try:
            self.pid = os.posix_spawnp("git", cmd, env, file_actions=[
                (os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)],
                setsigdef=DEFAULTED, setsigmask=held | SHIELDED if self.shielded else held,
                **({"setpgroup": 0} if apart else {}))
            _live.add(self)
        except BaseException as exc:
            self._close(self.out_r, self.err_r, self.in_w)
            if isinstance(exc, FileNotFoundError):
                raise GitNotFound() from None
            raise
        finally:
            self._close(in_r, out_w, err_w)
            _signal.pthread_sigmask(_signal.SIG_SETMASK, held)

    def _popen(self, cmd: list, env: dict, apart: bool = False) -> None:
        import subprocess

        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, SHIELDED) if self.shielded else None
        try:  # restore_signals (the default) puts SIGPIPE and SIGXFSZ back; the mask is inherited
            self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         stdin=subprocess.DEVNULL if self.data is None else subprocess.PIPE,
                                         start_new_session=apart)
            _live.add(self)
        except FileNotFoundError:
            raise GitNotFound() from None
        finally:
            if old is not None:
                _signal.pthread_sigmask(_signal.SIG_SETMASK, old)

    def roomy(self) -> Running:
        """Give git's standard output a pipe of ``PIPE_SIZE`` where the system allows (64
        KiB by default), so that git writes that much without waiting for us to read: it
        runs to its end while Python does other work (``ls-remote`` of 10k refs prints
        620 KB).  Returns ``self``."""
        if self.proc is None and self.out_r is not None:
            _enlarge(self.out_r)
        return self

    def feed(self) -> Running:
        """Write git's input now, as much of it as the pipe takes without waiting (64 KiB
        by default), so that git works on it while Python does other work; what is left
        is fed when git is read (``wait``, ``Streams``).  Returns ``self``."""
        if self.proc is None and self.in_w is not None and self.data and not self.sent:
            os.set_blocking(self.in_w, False)
            try:
                self.sent = os.write(self.in_w, self.data[:PIPE_SIZE])
            except BlockingIOError:
                pass
            except BrokenPipeError:
                self.sent = len(self.data)  # git stopped reading; what it printed says why
            if self.sent >= len(self.data):
                self._drop("in_w")
        return self

    @staticmethod
    def _close(*fds) -> None:
        for fd in fds:
            if fd is not None:
                os.close(fd)

    def _drop(self, *ends: str) -> None:
        """Close our pipe ends named ``ends`` (``out_r``, ``err_r``, ``in_w``), each
        forgotten before it is closed: an interrupt between the two leaves one open until
        exit, never one closed twice (``_abandon`` closing it again failed with EBADF, or
        closed a descriptor opened since under the same number)."""
        for end in ends:
            fd = getattr(self, end)
            if fd is not None:
                setattr(self, end, None)
                os.close(fd)

    def wait(self, check: bool = True) -> Result:
        """Feed git its input, read all it says, reap it; raise GitError if it failed and ``check``."""
        if self.result is None:
            wait_all([self])
        if check and self.result.returncode:
            raise GitError(["git", *self.args], self.result.returncode, self.result.stdout, self.result.stderr)
        return self.result

    def background(self) -> Running:
        """Feed git and read what it says in a thread from now on, so that git works while
        Python does (a pipe holds 64 KiB: git stops once it is full, until someone reads);
        ``wait`` joins the thread.  For output read whole; an interrupt in the main thread
        stops git as for any other (``guarded``), which ends the thread."""
        if self.thread is None and self.result is None:
            import threading

            self.thread = threading.Thread(target=self._collect, name=f"git {self.args[0]}", daemon=True)
            self.thread.start()
        return self

    def _collect(self) -> None:
        try:
            wait_all([self], joined=False)
        except BaseException:  # pragma: no cover - the main thread stopped git; its wait says so
            pass

    def kill(self) -> None:
        """Stop git if it still runs, and reap it."""
        self._stop()
        self.wait(check=False)

    def _stop(self) -> None:
        """SIGTERM (SIGKILL if shielded: it blocks SIGTERM) to a git not yet reaped, and to
        what it started in our process group: git leaves an ssh it runs to itself.  A git
        started ``apart`` gets no signal: it is let finish the step it was started for
        (its reaping waits for it; a second interrupt gives up waiting, not the git)."""
        if self.result is None and not self.apart:
            signum = _signal.SIGKILL if self.shielded else _signal.SIGTERM
            pid = self.proc.pid if self.proc is not None else self.pid
            frozen = _frozen(pid, os.getpgrp())
            for sent in (signum, _signal.SIGCONT):  # stopped, a process keeps a SIGTERM until it goes on
                for one in frozen:
                    try:
                        os.kill(one, sent)
                    except OSError:  # gone, or not ours to signal: never leave one stopped for it
                        pass

    def _abandon(self) -> None:
        """Interrupted while git runs: stop it, close our ends of its pipes, reap it; one
        started ``apart`` is read to its end instead (``_stop``)."""
        self._stop()
        if self.apart and self.result is None:  # let it end: read what it still writes (a closed
            if self.proc is not None:           # pipe would kill it half-way, as a signal would)
                stdout, stderr = self.proc.communicate(self.data)
                self._done(self.proc.returncode, stdout, stderr)
                return
            if self.out_r is not None and self.err_r is not None:
                _poll([self])
                return
        if self.proc is not None:
            for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()
            self._done(self.proc.wait(), b"", b"")
            return
        self._drop("out_r", "err_r", "in_w")
        self._reap(b"", b"")

    def _reap(self, stdout: bytes, stderr: bytes) -> None:
        try:
            code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        except ChildProcessError:  # reaped already (an interrupt between waitpid and here)
            code = -1
        self._done(code, stdout, stderr)

    def _done(self, code: int, stdout: bytes, stderr: bytes) -> None:
        if TRACE:
            from git_exp.redact import redact

            took = (time.perf_counter() - self.started) * 1000
            sys.stderr.write(f"git-exp: trace: {took:8.1f} ms  git {redact(' '.join(self.args))[:160]}\n")
        self.result = Result(code, stdout, stderr)
        _live.discard(self)


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


def wait_all(running: list[Running], joined: bool = True) -> None:
    """Collect several started gits at once, reading all their pipes in one ``poll`` loop,
    so that none of them stalls on a full pipe while we wait for another.  Interrupted
    (KeyboardInterrupt, ``Terminated``), it stops and reaps every git of the batch."""
    if joined:  # those collected in the background (``Running.background``): their thread's
        for one in running:
            if one.thread is not None:
                one.thread.join()
                if one.result is None:  # pragma: no cover - the thread died: say so as git
                    one._done(-1, b"", b"git-exp: lost the thread reading git\n")
        running = [one for one in running if one.thread is None]
    try:
        for one in running:
            if one.proc is not None and one.result is None:
                stdout, stderr = one.proc.communicate(one.data)
                one._done(one.proc.returncode, stdout, stderr)
        _poll([one for one in running if one.result is None])
    finally:
        for one in running:
            if one.result is None:
                one._abandon()


def _watch(one: Running, outputs, poller, owner: dict) -> None:
    """Have ``poller`` watch git ``one``'s ``outputs`` for reading and its input for
    writing (``owner``: fd -> Running); an input with nothing to write is closed now."""
    import select

    for fd in outputs:
        owner[fd] = one
        poller.register(fd, select.POLLIN)
    if one.in_w is not None:
        if one.data:
            os.set_blocking(one.in_w, False)
            owner[one.in_w] = one
            poller.register(one.in_w, select.POLLOUT)
        else:
            one._drop("in_w")


def _feed(one: Running, fd: int, poller, owner: dict) -> None:
    """Write the next piece of ``one``'s input to ``fd``; close it once all is written."""
    try:
        one.sent += os.write(fd, one.data[one.sent:one.sent + CHUNK])
    except BlockingIOError:
        return
    except BrokenPipeError:
        one.sent = len(one.data)  # git stopped reading; what it printed says why
    if one.sent >= len(one.data):
        poller.unregister(fd)
        del owner[fd]
        one._drop("in_w")


def _poll(running: list[Running]) -> None:
    import select

    owner: dict = {}  # fd -> Running
    poller = select.poll()
    for one in running:
        one.chunks = {one.out_r: [], one.err_r: []}
        one.open = 2
        _watch(one, (one.out_r, one.err_r), poller, owner)
    while owner:
        for fd, _event in poller.poll():
            one = owner[fd]
            if fd == one.in_w:
                _feed(one, fd, poller, owner)
                continue
            block = os.read(fd, CHUNK)
            if block:
                one.chunks[fd].append(block)
                if one.echo is not None and fd == one.err_r:
                    one.echo(block)
                continue
            poller.unregister(fd)
            del owner[fd]
            one.open -= 1
            if not one.open:
                one._drop("out_r", "err_r")
                one._reap(*(b"".join(one.chunks[fd]) for fd in one.fds))


class Streams:
    """``for one, block in Streams(): ...`` the standard output of several started gits,
    block by block as it arrives, for output read while git still writes (``ls``).
    ``add`` hands it one more git, also while iterating; each git gets its input and its
    stderr is kept as in ``wait_all``.  Once a git's output has ended it is reaped and
    ``(it, b"")`` comes; a git that failed raises GitError instead.  Iteration ends when
    every git added has ended.  Leaving early (an exception, ``close``) stops and reaps
    the gits still running.

    ``pace`` (seconds, settable while iterating): wait that long before each look at the
    pipes, once no input is left to feed, so that output comes in fewer, larger blocks
    (each wake-up costs ~20 us; git writes 4 KiB at a time); the pipes are enlarged to
    ``PIPE_SIZE`` where the system allows, so that git does not stall meanwhile, and each
    look reads all a pipe holds (reads of ``CHUNK`` every 2 ms held a listing of 100k refs
    to ~130 MB/s, slower than git writes it: 0.20 s where unpaced reads took 0.14)."""

    def __init__(self, pace: float = 0.0) -> None:
        import select

        self.poller, self.owner, self.running, self.pace = select.poll(), {}, [], pace

    def add(self, one: Running) -> None:
        self.running.append(one)
        if one.proc is not None:  # subprocess (no posix_spawn): read whole, at once
            one.wait(check=False)
            one.chunks = None
            return
        one.chunks, one.open = [], 2  # stderr
        _enlarge(one.out_r, one.in_w)
        _watch(one, (one.out_r, one.err_r), self.poller, self.owner)

    def __iter__(self):
        try:
            while True:
                for one in [one for one in self.running if one.chunks is None]:  # read whole by subprocess
                    self.running.remove(one)
                    yield from self._ended(one, one.result.stdout)
                if not self.owner:
                    return
                if self.pace and not any(one.in_w is not None for one in self.running):
                    time.sleep(self.pace)
                for fd, _event in self.poller.poll():
                    one = self.owner[fd]
                    if fd == one.in_w:
                        _feed(one, fd, self.poller, self.owner)
                        continue
                    block = os.read(fd, PIPE_SIZE if self.pace else CHUNK)  # paced: what the pipe holds
                    if block:
                        if fd == one.err_r:
                            one.chunks.append(block)
                        else:
                            yield one, block
                        continue
                    self.poller.unregister(fd)
                    del self.owner[fd]
                    one.open -= 1
                    if not one.open:
                        one._drop("out_r", "err_r")
                        one._reap(b"", b"".join(one.chunks))
                        self.running.remove(one)
                        yield from self._ended(one, b"")
        finally:
            for one in self.running:
                if one.result is None:
                    one._abandon()

    @staticmethod
    def _ended(one: Running, rest: bytes):
        if one.result.returncode:
            raise GitError(["git", *one.args], one.result.returncode, one.result.stdout, one.result.stderr)
        if rest:
            yield one, rest
        yield one, b""


PIPE_SIZE = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size


def _enlarge(*fds: int | None) -> None:
    """Pipes of ``PIPE_SIZE`` (64 KiB by default) where the system allows it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import fcntl

        for fd in fds:
            if fd is not None:
                fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)  # named from Python 3.10
    except (ImportError, OSError):
        pass


PAGER_ENV = (("LESS", "FRX"), ("LV", "-c"))  # git's defaults (its PAGER_ENV), set where unset


class PagerFailed(ExpError):
    def __init__(self, command: str, code: int) -> None:
        from git_exp.names import shown

        super().__init__(f"the pager {shown(command)} could not run (exit {code}); its output is lost — "
                         "fix GIT_PAGER, pager.exp or core.pager, or use --no-pager")


class Pager:
    """``with Pager(command):`` our stdout (and stderr, when it is a terminal) goes to
    ``command``, run by ``sh -c`` as git runs its pager (``setup_pager``): in our process
    group, on our terminal, with ``LESS=FRX`` and ``LV=-c`` unless set, and
    ``GIT_PAGER_IN_USE`` unset for it.  Leaving the block closes the pipe and waits for
    the pager, so the shell prompt comes back after it; a pager the user quit early ends
    the writing quietly (the block swallows the ``BrokenPipeError`` and drops what was
    buffered); ``quit`` says so.  Ctrl-C while the pager runs is the pager's: we wait on.
    A pager that could not run (exit 126 or 127 from sh) is ``PagerFailed``."""

    def __init__(self, command: str) -> None:
        self.command, self.quit = command, False
        env = {k: v for k, v in os.environ.items() if k != "GIT_PAGER_IN_USE"}
        for key, value in PAGER_ENV:
            env.setdefault(key, value)
        sys.stdout.flush()
        sys.stderr.flush()
        read, write = os.pipe()
        try:
            self.pid = os.posix_spawn("/bin/sh", ["sh", "-c", command], env, setsigdef=DEFAULTED,
                                      file_actions=[(os.POSIX_SPAWN_DUP2, read, 0)])
        finally:
            os.close(read)
        self.saved = [(fd, os.dup(fd)) for fd in (1, 2) if fd == 1 or os.isatty(fd)]
        for fd, _saved in self.saved:
            os.dup2(write, fd)
        os.close(write)

    def __enter__(self) -> Pager:
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        broken = kind is not None and issubclass(kind, BrokenPipeError)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BrokenPipeError:
                broken = True
        if broken:  # what is still buffered would reach the terminal once restored: drop it
            null = os.open(os.devnull, os.O_WRONLY)
            for fd, _saved in self.saved:
                os.dup2(null, fd)
            os.close(null)
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except OSError:
                    pass
        for fd, saved in self.saved:
            os.dup2(saved, fd)
            os.close(saved)
        old = _signal.signal(_signal.SIGINT, _signal.SIG_IGN)  # the user's Ctrl-C is for the pager
        try:
            code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        finally:
            _signal.signal(_signal.SIGINT, old)
        self.quit = broken
        if code in (126, 127) and (kind is None or broken):
            raise PagerFailed(self.command, code)
        return broken


class Command:
    """The user's command for ``git exp run``, with our stdio (its output streams live).

    It starts with default SIGPIPE and SIGXFSZ handling, the descriptors our caller gave
    us and none of ours.  Where it runs, and so how signals reach it:

    - With a controlling terminal, it stays in our process group: it is part of the
      terminal's job, so it can read the terminal and prompt, Ctrl-Z and ``fg`` work, and
      Ctrl-C (SIGINT), SIGQUIT and a hang-up reach it and everything it started straight
      from the terminal.  ``signal`` forwards what was sent to git-exp alone (SIGTERM from
      ``kill``; SIGINT when we are not the foreground job) to the command and to its
      descendants in our group.
    - Without one (CI, cron, a service), it gets a process group of its own, and ``signal``
      forwards SIGINT, SIGTERM and SIGHUP to that whole group: a signal sent to git-exp's
      group reaches the command exactly once, and nothing of its tree is left running.
    """

    def __init__(self, argv: Sequence[str], *, cwd=None, env: Mapping[str, str] | None = None,
                 stdin=None, stdout=None, stderr=None) -> None:
        """``stdin``/``stdout``/``stderr``: descriptors to give it instead of ours (a sweep's
        log file; ``/dev/null`` for input)."""
        import subprocess

        self.own_group = _controlling_terminal() is None
        if not self.own_group:
            group: dict = {}
        elif sys.version_info >= (3, 11):
            group = {"process_group": 0}
        else:  # pragma: no cover - Python 3.10
            group = {"preexec_fn": os.setpgrp}
        self.proc = subprocess.Popen(list(argv), cwd=cwd, env=dict(env) if env is not None else None,
                                     close_fds=False, restore_signals=True, stdin=stdin, stdout=stdout,
                                     stderr=stderr, **group)
        self.pid = self.proc.pid
        self.exited = False  # the command has ended (perhaps not reaped yet)

    def signal(self, signum: int) -> None:
        """Pass ``signum``, sent to git-exp, on to the command's tree (see the class)."""
        if self.exited:
            return
        if self.own_group:
            targets = [-self.pid]
        elif signum != _signal.SIGTERM and _foreground():
            return  # the terminal sent it to the whole job, the command included
        else:
            targets = [self.pid, *_descendants(self.pid, os.getpgrp())]
        for target in targets:
            try:
                os.kill(target, signum)  # -pid: the process group
            except OSError:  # gone already, or not ours to signal (a setuid program)
                pass

    def poll(self) -> int | None:
        """Its exit code (as ``wait``) if it has ended, else None at once."""
        if self.proc.returncode is not None:
            code = self.proc.returncode
            return 128 - code if code < 0 else code
        if hasattr(os, "waitid"):
            if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                return None
            return self.wait()
        pid, status = os.waitpid(self.pid, os.WNOHANG)  # pragma: no cover - macOS
        if not pid:
            return None
        self.exited = True
        self.proc.returncode = code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code

    def wait(self) -> int:
        """Wait for the command to end; its exit code (128+N when signal N ended it).

        ``exited`` turns true before the command is reaped (``waitid(WNOWAIT)``), so a
        signal handler that runs meanwhile never signals a reused pid.  Signal handlers
        that return (not raise) do not disturb the wait (PEP 475)."""
        if hasattr(os, "waitid"):
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
        self.exited = True
        status = os.waitpid(self.pid, 0)[1]
        self.proc.returncode = code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code


def _controlling_terminal() -> int | None:
    """The foreground process group of our controlling terminal, or None without one."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return None
    try:
        return os.tcgetpgrp(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def _foreground() -> bool:
    return _controlling_terminal() == os.getpgrp()


def _frozen(root: int, pgid: int) -> list[int]:
    """``root`` and what it started in process group ``pgid``, each stopped (SIGSTOP) until
    no new one appears: a process stopped starts none, so what a signal then reaches is all
    there is.  Signalled as they ran, a shell could start its command (a transport's
    ``sh -c 'ssh ...'``) between our look and our signal, and the command outlived it."""
    found, todo = [], [root]
    for _ in range(FREEZE_ROUNDS):
        for one in todo:
            try:
                os.kill(one, _signal.SIGSTOP)
            except OSError:  # gone, or not ours to signal (setuid): left as before
                pass
        found += todo
        _until_stopped(todo)
        todo = [one for one in _descendants(root, pgid) if one not in found]
        if not todo:
            break
    return found


FREEZE_ROUNDS = 8  # looks for processes started meanwhile (a transport: git, sh, ssh)


def _until_stopped(pids: list[int], timeout: float = 0.1) -> None:
    """Wait (``timeout`` at most) until each of ``pids`` is stopped, a zombie or gone:
    SIGSTOP reaches a process running on another core a moment after ``kill`` returns."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                break
            if stat[stat.rindex(b")") + 2:][:1] in (b"T", b"t", b"Z", b"X"):
                break
            time.sleep(0.0005)


def proc_files(name: str):
    """``(pid, bytes of /proc/PID/NAME)`` of each process whose file could be read (Linux;
    elsewhere none); a process gone meanwhile is passed over."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/{name}", "rb") as f:
                data = f.read()
        except OSError:
            continue
        yield int(entry), data


def _descendants(root: int, pgid: int) -> list[int]:
    """Processes below ``root`` that are in process group ``pgid`` (Linux ``/proc``; elsewhere
    none, and a signal reaches the command alone)."""
    children: dict[int, list[int]] = {}
    for pid, stat in proc_files("stat"):
        fields = stat[stat.rindex(b")") + 2:].split()  # after "pid (comm) ": state ppid pgrp
        if int(fields[2]) == pgid:
            children.setdefault(int(fields[1]), []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found
