"""``python firstrow.py [--lines N] [--out FILE] [--hangup] CMD...``: run CMD on a new
pseudo-terminal (200 x 50) and print the seconds until its N-th line (default 3: the group
row, the header and the first row of ``show``'s table) reached the terminal; with
``--out`` append them to FILE too (the benchmark's ``*-first-row-*`` rows).

Then, as a person who saw the first screen: ``q`` is typed (the pager, ``less`` by default
with git's ``LESS=FRX``, quits and git-exp stops writing), the rest is read and CMD
waited for; ``--hangup`` closes the terminal instead (a plain ``git`` pipeline ends on
SIGHUP).  Exit status: CMD's (1 when it never wrote N lines, 124 when it did not end
within 120 s).
"""
from __future__ import annotations

import os
import select
import signal
import struct
import sys
import time

COLS, ROWS = 200, 50
TIMEOUT = 120.0


def first_row(argv: list[str], lines: int = 3, hangup: bool = False, env: dict | None = None,
              cwd: str | None = None) -> tuple[float | None, int, bytes]:
    """``(seconds to the lines-th line or None, exit status, what the terminal got)``."""
    import fcntl
    import pty
    import termios

    full = {**os.environ, **(env or {})}
    full.setdefault("TERM", "xterm")
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            if cwd:
                os.chdir(cwd)
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.execvpe(argv[0], argv, full)
        finally:
            os._exit(127)
    got, seen, deadline = bytearray(), None, start + TIMEOUT
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            block = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not block:
            break
        got += block
        if seen is None and got.count(b"\n") >= lines:
            seen = time.perf_counter() - start
            if hangup:
                break
            os.write(fd, b"q")
    os.close(fd)  # SIGHUP to what still runs on it
    if time.perf_counter() >= deadline:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return seen, 124, bytes(got)
    return seen, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), bytes(got)


def main(args: list[str]) -> int:
    lines, out, hangup = 3, None, False
    while args and args[0].startswith("--"):
        option = args.pop(0)
        if option == "--lines":
            lines = int(args.pop(0))
        elif option == "--out":
            out = args.pop(0)
        elif option == "--hangup":
            hangup = True
        elif option == "--":
            break
    seconds, code, got = first_row(args, lines, hangup)
    if seconds is None:
        sys.stderr.write(f"firstrow: {' '.join(args)} wrote fewer than {lines} lines (exit {code}):\n"
                         f"{got.decode('utf-8', 'replace')[-2000:]}\n")
        return code or 1
    print(f"{seconds:.4f}")
    if out:
        with open(out, "a") as f:
            f.write(f"{seconds}\n")
    return 0 if hangup else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
