"""Progress on stderr for long work, as git shows it: only when stderr is a terminal
(``--progress`` forces it, ``-q`` silences it), never mixed into what stdout carries.

git's own meters ("Writing objects:  40% (2/5), 1.20 MiB | 1.00 MiB/s") are passed
through from the ``git push``/``git fetch`` we run: ``meter()`` gives the callable that
``git.start(..., echo=)`` feeds stderr to, which lets progress lines through and keeps
everything else (ref lines, errors) for us to read and word.  ``Counter`` counts
multi-experiment work of our own (runs of a sweep, refs written) on one rewritten line.
"""
from __future__ import annotations

import os
import sys
import time

MODE: bool | None = None  # None: auto (stderr is a terminal); set from --progress / -q
PROGRESS = (b"Enumerating objects", b"Counting objects", b"Compressing objects", b"Writing objects",
            b"Receiving objects", b"Resolving deltas", b"Unpacking objects", b"Total ", b"Checking connectivity",
            b"Checking objects")


def set_mode(progress: bool = False, quiet: bool = False) -> None:
    global MODE
    MODE = False if quiet else (True if progress else None)


def wanted() -> bool:
    if MODE is not None:
        return MODE
    try:
        return os.isatty(sys.stderr.fileno()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError, OSError):
        return False


class _Meter:
    """Feeds on a git's stderr as it comes; writes its progress lines to ours."""

    def __init__(self) -> None:
        self.pending = b""

    def __call__(self, block: bytes) -> None:
        self.pending += block
        while True:
            cut = min((i for i in (self.pending.find(b"\r"), self.pending.find(b"\n")) if i >= 0), default=-1)
            if cut < 0:
                if len(self.pending) > 4096:
                    self.pending = b""  # no line of git's progress is this long
                return
            line, self.pending = self.pending[:cut + 1], self.pending[cut + 1:]
            text = line[len(b"remote: "):] if line.startswith(b"remote: ") else line
            if text.lstrip().startswith(PROGRESS):
                out = getattr(sys.stderr, "buffer", None)
                if out is not None:
                    out.write(line)
                    out.flush()


def meter():
    """The ``echo`` for a git push/fetch: None when no progress is wanted."""
    return _Meter() if wanted() else None


def git_flag() -> list[str]:
    """``--progress`` for git when progress is wanted (its stderr is our pipe, not a
    terminal, so git would stay silent without it)."""
    return ["--progress"] if wanted() else []


class Counter:
    """``what: 12/40`` rewritten in place on stderr, at most 10 times a second; nothing
    when progress is not wanted."""

    def __init__(self, what: str, total: int) -> None:
        self.what, self.total, self.done, self.shown = what, total, 0, 0.0
        self.on = wanted() and total > 1

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.on and (now - self.shown >= 0.1 or self.done >= self.total):
            self.shown = now
            sys.stderr.write(f"\r{self.what}: {self.done}/{self.total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.on and self.shown:
            sys.stderr.write(f"\r{self.what}: {self.done}/{self.total}, done.\n")
            sys.stderr.flush()
