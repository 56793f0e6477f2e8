"""``git exp run``: run a command, then save the work tree with the run's metadata."""
from __future__ import annotations

import os
import shlex
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from git_exp import git, metadata
from git_exp.commands.save import Saved, check_can_save, prepare_name, save
from git_exp.errors import ExpError, UsageError
from git_exp.repo import Repo
from git_exp.snapshot import snapshot


@dataclass
class Ran:
    saved: Saved
    exit_code: int
    status: str  # ok, failed, interrupted
    duration: float


class CommandNotRun(ExpError):
    """The command could not be started at all (exit 127, like a shell)."""

    exit_code = 127


class _Terminated(Exception):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated()


def _execute(argv: list[str], cwd: Path) -> tuple[int, str, float]:
    """Run ``argv`` with streamed output; return (exit code, status, seconds)."""
    start = time.monotonic()
    try:
        child = git.run_command(argv, cwd=cwd)
    except OSError as exc:
        raise CommandNotRun(f"cannot run {argv[0]!r}: {exc.strerror} — check the command and your PATH; "
                            "nothing was saved") from None
    old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    interrupted = False
    try:
        while True:
            try:
                code = child.wait()
                break
            except (KeyboardInterrupt, _Terminated) as exc:
                # Ctrl-C already reached the child (same process group); SIGTERM we pass on.
                interrupted = True
                if isinstance(exc, _Terminated):
                    child.terminate()
    finally:
        signal.signal(signal.SIGTERM, old_term)
    seconds = time.monotonic() - start
    if code < 0:
        code = 128 - code
    status = "interrupted" if interrupted else ("ok" if code == 0 else "failed")
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
) -> Ran:
    if not argv:
        raise UsageError("no command to run — give one after --, e.g. `git exp run -- python train.py`")
    check_can_save(repo, "run")
    prepared = prepare_name(repo, name, force=force, append=append)
    baseline = repo.head()
    relative = Path(os.getcwd()).resolve().relative_to(Path(repo.worktree).resolve()) if _inside(repo) else Path()
    if not isolated:
        code, status, seconds = _execute(argv, Path.cwd())
        saved = _save(repo, argv, prepared, baseline, code, status, seconds, message, force, append, untracked)
        return Ran(saved, code, status, seconds)
    if baseline is None:
        raise UsageError("--isolated needs a commit to start from, and this repository has none — commit first")
    tree = snapshot(repo, untracked=untracked)
    where = Path(tempfile.mkdtemp(prefix="git-exp-run-"))
    try:
        repo.run("worktree", "add", "--detach", "--no-checkout", str(where), baseline)
        isolated_repo = Repo(where)
        isolated_repo.run("read-tree", "-u", "--reset", tree)
        code, status, seconds = _execute(argv, where / relative)
        saved = _save(isolated_repo, argv, prepared, baseline, code, status, seconds, message, force, append, untracked)
        return Ran(saved, code, status, seconds)
    finally:
        repo.run("worktree", "remove", "--force", str(where), check=False)
        if where.exists():
            import shutil
            shutil.rmtree(where, ignore_errors=True)
            repo.run("worktree", "prune", check=False)


def _inside(repo: Repo) -> bool:
    try:
        Path(os.getcwd()).resolve().relative_to(Path(repo.worktree).resolve())
        return True
    except ValueError:
        return False


def _save(repo, argv, prepared, baseline, code, status, seconds, message, force, append, untracked) -> Saved:
    host, url = metadata.executor()
    command = shlex.join(argv)
    pairs = metadata.trailers(
        command=command, exit_code=str(code), status=status, duration=f"{seconds:.3f}s",
        executor=host, run_url=url,
    )
    return save(
        repo, message=message or f"run: {command}", force=force, append=append, untracked=untracked,
        pairs=pairs, baseline=baseline or "", prepared=prepared, command="run",
    )
