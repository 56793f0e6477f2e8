"""Interleaved timing: prepare run k, time A, time B; medians after a warm-up pair."""
from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional

from tests.bench.env import BenchError, Cmd


@dataclass
class Case:
    """Two commands doing the same work; ``prepare`` makes run k's fresh dirs (untimed),
    ``cleanup`` puts back what the commands changed in shared fixtures."""

    a: Cmd
    b: Cmd
    prepare: Optional[Callable[[], None]] = None
    cleanup: Optional[Callable[[], None]] = None
    peaks: Optional[Path] = None  # A appends its peak memory (KiB) here each run (``peak.py``)
    # A and B append their own seconds here each run (``firstrow.py``: to the first row on a
    # terminal), which count instead of their wall times
    own: Optional[tuple[Path, Path]] = None
    first_row: Optional[tuple[int, int]] = None  # time A and B to their first row on a pty (``first_row``),
    #                                              not to their end: how many header lines each prints first


def peak_mb(case: Case, runs: int) -> Optional[float]:
    """The median peak memory of A's last ``runs`` runs, in MB (10^6 bytes), if measured."""
    if case.peaks is None or not case.peaks.exists():
        return None
    kib = [int(line) for line in case.peaks.read_text().split()][-runs:]
    return statistics.median(kib) * 1024 / 1e6 if kib else None


def timed(cmd: Cmd, env: Mapping[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(list(cmd.argv), cwd=cmd.cwd, env=dict(env), stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise BenchError(f"`{cmd}` in {cmd.cwd} failed ({proc.returncode}):\n"
                         f"{proc.stderr.decode(errors='replace').strip()}")
    return elapsed


def first_row(cmd: Cmd, env: Mapping[str, str], header: int = 0) -> float:
    """Seconds from the start of ``cmd`` to its first row on a terminal: stdout and stderr
    on a pseudo-terminal (``firstrow.first_row``, the timer of the ``show-first-row-*``
    rows), until the line after ``header`` lines (a table's column names) has ended.  The
    command then runs to its end, untimed, and must succeed (BenchError otherwise)."""
    from tests.bench.firstrow import first_row as on_terminal

    elapsed, code, got = on_terminal(list(cmd.argv), header + 1, env=dict(env), cwd=str(cmd.cwd))
    if code or elapsed is None:
        said = got[:4096].decode(errors="replace").strip()
        raise BenchError(f"`{cmd}` in {cmd.cwd} " + (f"failed ({code})" if code else f"printed no row after "
                         f"{header} header lines") + f" on a terminal:\n{said}")
    return elapsed


def measure(case: Case, env: Mapping[str, str], runs: int, warmup: int = 1,
            budget: Optional[float] = None) -> tuple[float, float, int]:
    """Median seconds of A and of B over ``runs`` interleaved pairs, after ``warmup`` pairs,
    and the number of runs.  With ``budget`` (seconds), fewer runs (at least one) when the
    warm-up pair shows that ``runs`` pairs would take longer than that."""
    times_a: list[float] = []
    times_b: list[float] = []
    try:
        k = 0
        while k < warmup + runs:
            if case.prepare:
                case.prepare()
            if case.first_row:
                a, b = first_row(case.a, env, case.first_row[0]), first_row(case.b, env, case.first_row[1])
            else:
                a, b = timed(case.a, env), timed(case.b, env)
                if case.own:
                    a, b = (float(path.read_text().split()[-1]) for path in case.own)
            if k >= warmup:
                times_a.append(a)
                times_b.append(b)
            elif budget is not None:
                runs = min(runs, max(1, int(budget // (a + b))))
            k += 1
    finally:
        if case.cleanup:
            case.cleanup()
    return statistics.median(times_a), statistics.median(times_b), len(times_a)
