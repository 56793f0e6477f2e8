"""Results: one Row per measured operation, printed as markdown and written as JSON.

A row holds the files column (git's default refs, the git on PATH) and, when it was
measured, the reftable column (the same commands with a current git and reftable refs).
The target applies to both; JSON keeps the keys of the files column as they were
(``KEYS``) and adds the reftable column's (``REFTABLE_KEYS``, null when not measured)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests.bench import targets

KEYS = ("op", "n", "gitexp_s", "baseline_s", "ratio", "target", "ok")
REFTABLE_KEYS = ("gitexp_s_reftable", "baseline_s_reftable", "ratio_reftable", "ok_reftable")


@dataclass
class Row:
    op: str
    n: int
    gitexp_s: float
    baseline_s: float  # plain git; for dvc-* rows, DVC
    runs: int = 0
    gitexp_s_reftable: Optional[float] = None  # the reftable column, when measured
    baseline_s_reftable: Optional[float] = None
    gitexp_mb: Optional[float] = None  # peak memory of git-exp (MEGABYTES rows: show-rss-100k)

    @property
    def ratio(self) -> float:
        return self.gitexp_s / self.baseline_s

    @property
    def ratio_reftable(self) -> Optional[float]:
        if self.gitexp_s_reftable is None or self.baseline_s_reftable is None:
            return None
        return self.gitexp_s_reftable / self.baseline_s_reftable

    @property
    def ok_reftable(self) -> Optional[bool]:
        ratio = self.ratio_reftable
        if ratio is None:
            return None
        own = targets.own_seconds(self.op, self.gitexp_s_reftable, self.baseline_s_reftable)
        return targets.verdict(self.op, self.n, ratio, own, self.gitexp_mb)

    @property
    def target(self) -> float:
        return targets.applicable(self.op, self.n)[0]

    @property
    def ok(self) -> Optional[bool]:
        return targets.verdict(self.op, self.n, self.ratio, targets.own_seconds(self.op, self.gitexp_s, self.baseline_s),
                               self.gitexp_mb)

    def as_json(self) -> dict:
        out = {"op": self.op, "n": self.n, "gitexp_s": round(self.gitexp_s, 6),
               "baseline_s": round(self.baseline_s, 6), "ratio": round(self.ratio, 4),
               "target": round(self.target, 4), "ok": self.ok}
        if not self.op.startswith("dvc-"):
            out.update(gitexp_s_reftable=_round(self.gitexp_s_reftable, 6),
                       baseline_s_reftable=_round(self.baseline_s_reftable, 6),
                       ratio_reftable=_round(self.ratio_reftable, 4), ok_reftable=self.ok_reftable)
        if self.op in targets.MEGABYTES:
            out["gitexp_mb"] = _round(self.gitexp_mb, 1)
        return out


def _round(value: Optional[float], digits: int) -> Optional[float]:
    return None if value is None else round(value, digits)


def seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _verdict(ok: Optional[bool]) -> str:
    return "info" if ok is None else ("pass" if ok else "**FAIL**")


def _table(header: list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    return "\n".join(out)


def _mark(ok: Optional[bool]) -> str:
    return "info" if ok is None else ("✓" if ok else "✗")


def markdown(rows: list[Row]) -> str:
    """The files column; then the reftable column when any row has it ("-" where not)."""
    header = ["operation", "N", "git-exp median", "plain-git median", "ratio", "target", "pass/fail"]
    lines = [[r.op, str(r.n), seconds(r.gitexp_s) + (f", {r.gitexp_mb:.0f} MB" if r.gitexp_mb is not None else ""),
              seconds(r.baseline_s), f"{r.ratio:.2f}",
              targets.label(r.op, r.n), _verdict(r.ok)] for r in rows]
    if any(r.ratio_reftable is not None for r in rows):
        header += ["reftable git-exp", "reftable plain git", "reftable ratio", "reftable vs target"]
        for r, cells in zip(rows, lines):
            if r.ratio_reftable is None:
                cells += ["-"] * 4
            else:
                cells += [seconds(r.gitexp_s_reftable), seconds(r.baseline_s_reftable),
                          f"{r.ratio_reftable:.2f}", _mark(r.ok_reftable)]
    return _table(header, lines)


def dvc_markdown(rows: list[Row]) -> str:
    header = ["operation", "N", "DVC median", "git-exp median", "DVC / git-exp", "runs", "target", "pass/fail"]
    return _table(header, [[r.op[len("dvc-"):], str(r.n), seconds(r.baseline_s), seconds(r.gitexp_s),
                            f"{1 / r.ratio:.1f}×", str(r.runs), targets.label(r.op, r.n), _verdict(r.ok)]
                           for r in rows])


def write_json(path: Path, rows: list[Row]) -> None:
    path.write_text(json.dumps([r.as_json() for r in rows], indent=2) + "\n")
