"""``git exp run``: the one line saying how the command ended and where it was saved."""
from __future__ import annotations

from git_exp.present.common import note


def ran(ran, append: bool = False) -> int:
    """Say how ``commands.run.Ran`` ended and where it went (saved, appended to or replaced,
    the words ``save`` uses); the exit code: the command's, or 128+N for a signal N that
    arrived while saving."""
    verb = "saved" if not ran.saved.old else ("appended to" if append else "replaced")
    note(f"git-exp: {ran.status} (exit {ran.exit_code}, {ran.duration:.1f}s); {verb} experiment "
         f"{ran.saved.name} ({ran.saved.sha[:7]})")
    if ran.late_signal is None:
        return ran.exit_code
    import signal

    note(f"git-exp: {signal.Signals(ran.late_signal).name} arrived while saving; the save was finished first")
    return 128 + ran.late_signal


def warning(text: str) -> None:
    """A warning of the run (``cautions``), said before its commit is written."""
    note(text)
