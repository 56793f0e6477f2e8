"""``git exp run``: run a command, then save the work tree with the run's metadata.

Signals, from the moment ``run`` starts until it returns (``Signals``):

- SIGINT, SIGTERM and SIGHUP never raise inside git-exp; they are recorded.  One that
  arrives while the command runs is passed on to it (``git.Command.signal``: with a
  terminal, Ctrl-C reaches the command straight from the terminal; without one, git-exp
  forwards it to the command's process group) and marks the run ``interrupted``.  The
  recorded exit code is always the one the command really returned (128+N if signal N
  ended it), and ``run`` exits with it.
- One that arrives before the command started stops the run: nothing is run or saved,
  and the error says so.
- One that arrives after the command ended, while its result is being saved, does not
  stop the save: git-exp says at once that it finishes saving first, saves, reports the
  experiment, and then exits 128+N.  Every git of the run (its checks, ``--isolated``'s
  work tree, the save) starts with those signals blocked (``git.shielded``), so a
  Ctrl-C sent to the whole process group cannot kill them half-way either.  SIGKILL
  still stops everything; then nothing was saved.  A save that fails for another
  reason says that the command ran and its result was not saved (``NotSaved``).
- The CLI keeps the handlers until the result is reported (``Signals`` around the run
  and its report), so "saved" is always said once it is true.
A signal our caller set to be ignored (``nohup``, ``cmd &`` in a script) stays ignored.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from git_exp import cautions, git, isolate, metadata
from git_exp.commands.save import Saved, check_can_save, prepare_name, save
from git_exp.errors import ExpError, UsageError
from git_exp.redact import redact
from git_exp.repo import Repo
from git_exp.snapshot import snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from git_exp.overrides import Edit

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class Ran:
    saved: Saved
    exit_code: int
    status: str  # ok, failed, interrupted
    duration: float
    late_signal: int | None = None  # arrived while saving: exit 128+N once saved


class CommandNotRun(ExpError):
    """The command could not be started at all (exit 127, like a shell)."""

    exit_code = 127


class NotStarted(ExpError):
    """Interrupted before the command started: nothing was run or saved."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted ({signal.Signals(signum).name}) before the command started — "
                         "nothing was run or saved")
        self.exit_code = 128 + signum


class NotSaved(ExpError):
    """The command ran, but saving its result failed."""

    def __init__(self, code: int, status: str, error: ExpError) -> None:
        super().__init__(f"the command ended ({status}, exit {code}) but its result was not saved: {error}")
        self.exit_code = error.exit_code


class Signals:
    """Record SIGINT/SIGTERM/SIGHUP instead of raising, for the length of a run and its
    report (see the module docstring), with the gits started meanwhile shielded; restore
    the previous handlers afterwards.  Once ``done`` (the result was reported), signals
    are let go: all was said."""

    def __init__(self) -> None:
        self.command: git.Command | None = None
        self.during: list[int] = []  # before the command ended
        self.after: list[int] = []  # after it ended: while saving
        self.done = False
        self.old: dict = {}

    def __enter__(self) -> Signals:
        self.shield = git.shielded()  # the gits of the run finish what they were asked to do
        self.shield.__enter__()
        for signum in SIGNALS:
            old = signal.getsignal(signum)
            if old != signal.SIG_IGN:
                self.old[signum] = old
                signal.signal(signum, self._record)
        return self

    def __exit__(self, *exc) -> None:
        self.settle()  # a signal already here is handled as ours, not by the handler we restore
        for signum, old in self.old.items():
            signal.signal(signum, old)
        self.shield.__exit__()

    def _record(self, signum, frame) -> None:
        if self.done:
            return
        if self.command is None or not self.command.exited:
            self.during.append(signum)
            if self.command is not None:
                self.command.signal(signum)
            return
        if not self.after:
            os.write(2, f"git-exp: {signal.Signals(signum).name} received — saving the experiment first\n".encode())
        self.after.append(signum)

    def check_not_started(self) -> None:
        if self.during:
            raise NotStarted(self.during[0])

    @staticmethod
    def settle() -> None:
        """Run the handlers of signals already delivered, so they are counted where they came."""
        signal.pthread_sigmask(signal.SIG_BLOCK, ())


def _execute(argv: list[str], cwd: Path, signals: Signals) -> tuple[int, str, float]:
    """Run ``argv`` with streamed output; return (exit code, status, seconds)."""
    signals.settle()
    signals.check_not_started()
    start = time.monotonic()
    try:
        command = git.Command(argv, cwd=cwd)
    except OSError as exc:
        raise CommandNotRun(f"cannot run {redact(argv[0])!r}: {exc.strerror} — check the command and your PATH; "
                            "nothing was saved") from None
    signals.command = command
    if signals.during:  # arrived while it was being started: it may have missed it
        command.signal(signals.during[-1])
    code = command.wait()
    signals.settle()
    seconds = time.monotonic() - start
    status = "interrupted" if signals.during else ("ok" if code == 0 else "failed")
    return code, status, seconds


def run(
    repo: Repo,
    argv: list[str],
    name: str | None = None,
    *,
    message: str | None = None,
    force: bool = False,
    append: bool = False,
    untracked: bool = True,
    isolated: bool = False,
    signals: Signals | None = None,
    edit: Edit | None = None,
    start: tuple[str, str] | None = None,
    allow_large: bool = False,
    warn=None,
) -> Ran:
    """Run and save.  Give ``signals`` (entered) to keep them recorded while the caller
    reports the result; without it, they are recorded for the run alone.  ``edit``
    (``overrides.Edit``, from ``run -S``): params files written before the command starts
    (and, without ``isolated``, restored after the save) and its trailers recorded.
    ``start``: the (baseline, tree) of an isolated run, when the caller took them (a sweep's
    runs share them).  ``warn(text)`` is called with each warning (``cautions``) before the
    commit is written; without ``allow_large``, untracked files over ``exp.largeFile`` are
    refused before the command starts."""
    if not argv:
        raise UsageError("no command to run — give one after --, e.g. `git exp run -- python train.py`")
    if signals is None:
        with Signals() as signals:
            return run(repo, argv, name, message=message, force=force, append=append, untracked=untracked,
                       isolated=isolated, signals=signals, edit=edit, start=start, allow_large=allow_large,
                       warn=warn)
    careful = cautions.Careful(untracked=untracked, allow_large=allow_large, warn=warn)
    ran = _run(repo, argv, name, message, force, append, untracked, isolated, signals, edit, start, careful)
    signals.settle()
    if signals.after:
        ran.late_signal = signals.after[0]
    return ran


def _run(repo, argv, name, message, force, append, untracked, isolated, signals, edit=None, start=None,
         careful=None) -> Ran:
    careful = careful or cautions.Careful()
    check_can_save(repo, "run")
    if isolated:  # before the name is checked: a run killed after its save leaves a worktree, and its
        isolate.drop_stale(repo)  # rerun refuses the name it took
    prepared = prepare_name(repo, name, force=force, append=append)
    if not start:  # a sweep's runs share a start whose tree was taken (and checked) once
        careful.before(repo, "run")
    baseline = start[0] if start else repo.head()
    relative = Path(os.getcwd()).resolve().relative_to(Path(repo.worktree).resolve()) if _inside(repo) else Path()
    extra = edit.pairs if edit else ()
    if not isolated:
        with edit.written(repo.worktree) if edit else _nothing():  # restored after the save
            careful.starting(repo)
            code, status, seconds = _execute(argv, Path.cwd(), signals)
            careful.after(repo, status)
            saved = _save(repo, argv, prepared, baseline, code, status, seconds, message, force, append, untracked,
                          extra)
        return Ran(saved, code, status, seconds)
    if baseline is None:
        raise UsageError("--isolated needs a commit to start from, and this repository has none — commit first")
    tree = start[1] if start else snapshot(repo, untracked=untracked)
    with isolate.Worktree(repo, baseline, tree) as where:  # the ignored inputs linked in
        if edit:
            edit.write(where.path)
        careful.starting(where.repo)
        here = Path(where.path) / relative
        here.mkdir(parents=True, exist_ok=True)  # an empty directory is in no tree: the command still starts in it
        code, status, seconds = _execute(argv, here, signals)
        careful.after(where.repo, status, where.linked)
        saved = _save(where.repo, argv, prepared, baseline, code, status, seconds, message, force, append, untracked,
                      extra)
        return Ran(saved, code, status, seconds)


def _inside(repo: Repo) -> bool:
    try:
        Path(os.getcwd()).resolve().relative_to(Path(repo.worktree).resolve())
        return True
    except ValueError:
        return False


class _nothing:  # noqa: N801 - contextlib.nullcontext without the import
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None


def _save(repo, argv, prepared, baseline, code, status, seconds, message, force, append, untracked, extra=()) -> Saved:
    try:
        return _record(repo, argv, prepared, baseline, code, status, seconds, message, force, append, untracked,
                       extra)
    except ExpError as exc:
        raise NotSaved(code, status, exc) from None


def _record(repo, argv, prepared, baseline, code, status, seconds, message, force, append, untracked,
            extra=()) -> Saved:
    host, url = metadata.executor()
    command = metadata.command(argv)
    pairs = metadata.trailers(
        command=command, exit_code=str(code), status=status, duration=f"{seconds:.3f}s",
        executor=host, run_url=url,
    ) + [(key, " ".join(value.split())) for key, value in extra]  # run -S: Exp-Params-Set
    return save(
        repo, message=message or f"run: {command}", force=force, append=append, untracked=untracked,
        pairs=pairs, baseline=baseline or "", prepared=prepared, command="run",
    )


execute = _execute  # for `rerun` (commands.rerun): the same command execution, signals and all
