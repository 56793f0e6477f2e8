"""The benchmark harness (``make bench``, issue 4) keeps working: a tiny run end to end."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.bench.ops import OPS

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"op", "n", "gitexp_s", "baseline_s", "ratio", "target", "ok"}


def _env_with_git_exp(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    if shutil.which("git-exp") is None:
        bindir = tmp_path / "bin"
        bindir.mkdir()
        runner = bindir / "git-exp"
        runner.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} "
                          f"{shlex.quote(str(ROOT / 'bin' / 'git-exp'))} \"$@\"\n")
        runner.chmod(0o755)
        env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_bench_smoke_reports_every_operation(tmp_path):
    out = tmp_path / "b.json"
    proc = subprocess.run([sys.executable, "-m", "tests.bench", "--smoke", "--json", str(out)], cwd=ROOT,
                          env=_env_with_git_exp(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "| operation | N | git-exp median | plain-git median | ratio | target | pass/fail |" in proc.stdout
    rows = json.loads(out.read_text())
    assert sorted(r["op"] for r in rows) == sorted(OPS)
    for row in rows:
        assert set(row) == KEYS, row
        assert isinstance(row["n"], int) and row["n"] > 0, row
        for key in ("gitexp_s", "baseline_s", "ratio", "target"):
            assert isinstance(row[key], (int, float)) and row[key] > 0, row
        assert row["ok"] in (True, False, None), row
