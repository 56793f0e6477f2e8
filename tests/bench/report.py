"""Results: one Row per measured operation, printed as markdown and written as JSON."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests.bench import targets

KEYS = ("op", "n", "gitexp_s", "baseline_s", "ratio", "target", "ok")


@dataclass
class Row:
    op: str
    n: int
    gitexp_s: float
    baseline_s: float  # plain git; for dvc-* rows, DVC
    runs: int = 0

    @property
    def ratio(self) -> float:
        return self.gitexp_s / self.baseline_s

    @property
    def target(self) -> float:
        return targets.applicable(self.op, self.n)[0]

    @property
    def ok(self) -> Optional[bool]:
        return targets.verdict(self.op, self.n, self.ratio)

    def as_json(self) -> dict:
        return {"op": self.op, "n": self.n, "gitexp_s": round(self.gitexp_s, 6),
                "baseline_s": round(self.baseline_s, 6), "ratio": round(self.ratio, 4),
                "target": round(self.target, 4), "ok": self.ok}


def seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _verdict(ok: Optional[bool]) -> str:
    return "info" if ok is None else ("pass" if ok else "**FAIL**")


def _table(header: list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    return "\n".join(out)


def markdown(rows: list[Row]) -> str:
    header = ["operation", "N", "git-exp median", "plain-git median", "ratio", "target", "pass/fail"]
    return _table(header, [[r.op, str(r.n), seconds(r.gitexp_s), seconds(r.baseline_s), f"{r.ratio:.2f}",
                            targets.label(r.op, r.n), _verdict(r.ok)] for r in rows])


def dvc_markdown(rows: list[Row]) -> str:
    header = ["operation", "N", "DVC median", "git-exp median", "DVC / git-exp", "runs", "target", "pass/fail"]
    return _table(header, [[r.op[len("dvc-"):], str(r.n), seconds(r.baseline_s), seconds(r.gitexp_s),
                            f"{1 / r.ratio:.1f}×", str(r.runs), targets.label(r.op, r.n), _verdict(r.ok)]
                           for r in rows])


def write_json(path: Path, rows: list[Row]) -> None:
    path.write_text(json.dumps([r.as_json() for r in rows], indent=2) + "\n")
