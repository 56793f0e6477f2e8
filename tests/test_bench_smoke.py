"""The benchmark harness (``make bench``, issue 4) keeps working: a tiny run end to end,
with the reftable column (issue 10) when a current git is built."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.browser import browser_missing
from tests.bench.env import current_git
from tests.bench.ops import OPS

ROOT = Path(__file__).resolve().parent.parent
# the keys of each JSON row: those of issue 4 (kept as they were), then the reftable column's
KEYS = ("op", "n", "gitexp_s", "baseline_s", "ratio", "target", "ok")
REFTABLE_KEYS = ("gitexp_s_reftable", "baseline_s_reftable", "ratio_reftable", "ok_reftable")
HEADER = "| operation | N | git-exp median | plain-git median | ratio | target | pass/fail |"
REFTABLE_HEADER = HEADER + " reftable git-exp | reftable plain git | reftable ratio | reftable vs target |"


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


def _bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    out = tmp_path / "b.json"
    proc = subprocess.run([sys.executable, "-m", "tests.bench", "--smoke", "--json", str(out), *args], cwd=ROOT,
                          env=_env_with_git_exp(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(out.read_text())


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One ``--smoke`` run for the tests below: both columns when a current git is built."""
    return _bench(tmp_path_factory.mktemp("smoke"))


def _numbers(row: dict, keys: tuple[str, ...]) -> None:
    for key in keys:
        assert isinstance(row[key], (int, float)) and row[key] > 0, (key, row)


def test_bench_smoke_reports_every_operation(smoke):
    proc, rows = smoke
    assert HEADER in proc.stdout
    measurable = [op for op in OPS if op != "report-open" or browser_missing(sys.executable, os.environ) is None]
    assert sorted(r["op"] for r in rows) == sorted(measurable)
    for row in rows:
        extra = {"gitexp_mb"} if row["op"] == "show-rss-100k" else set()  # its target is the peak memory
        assert set(row) == set(KEYS) | set(REFTABLE_KEYS) | extra, row
        assert isinstance(row["n"], int) and row["n"] > 0, row
        _numbers(row, ("gitexp_s", "baseline_s", "ratio", "target", *extra))
        assert row["ok"] in (True, False, None), row


def test_bench_smoke_measures_the_reftable_column(smoke):
    git, why = current_git()
    if git is None:
        pytest.skip(f"reftable column not measured: {why}")
    proc, rows = smoke
    assert REFTABLE_HEADER in proc.stdout
    assert f"({git}) first on PATH, reftable refs in every repository" in proc.stdout
    for row in rows:
        _numbers(row, ("gitexp_s_reftable", "baseline_s_reftable", "ratio_reftable"))
        assert row["ok_reftable"] in (True, False, None), row
        assert (row["ok_reftable"] is None) == (row["ok"] is None), row  # the same target applies


def test_bench_no_reftable_keeps_the_files_table(tmp_path):
    proc, rows = _bench(tmp_path, "--no-reftable", "--ops", "startup")
    assert HEADER + "\n" in proc.stdout
    assert "reftable column: skipped (--no-reftable)" in proc.stdout
    assert [r["op"] for r in rows] == ["startup"]
    assert all(rows[0][key] is None for key in REFTABLE_KEYS), rows


@pytest.mark.once
def test_bench_archive_rows(tmp_path):
    """The archive rows of issue 14 (``--with-100k`` runs them at 100k), at 30 experiments."""
    proc, rows = _bench(tmp_path, "--no-reftable", "--ops", "startup", "--archived-n", "30")
    by_op = {row["op"]: row for row in rows}
    for op in ("fetch-installed-archived", "push-branch-archived", "show-archived"):
        assert by_op[op]["n"] == 30 and tuple(by_op[op])[:len(KEYS)] == KEYS, by_op
        _numbers(by_op[op], ("gitexp_s", "baseline_s", "ratio"))


def test_a_superseded_target_binds_the_row_of_the_same_work():
    """``pull`` and ``push-subset`` are timed against a plain git that writes fewer refs:
    shown for information, their target binding the ``*-writes`` row instead."""
    from tests.bench import targets

    for op, instead in targets.SUPERSEDED.items():
        assert targets.applicable(op, 10_000) == (targets.TARGETS[op][10_000], False)
        assert targets.verdict(op, 10_000, 99.0) is None and instead in targets.label(op, 10_000)
        assert targets.applicable(instead, 10_000) == (1.2, True) and targets.verdict(instead, 10_000, 1.3) is False
    assert targets.applicable("push", 10_000) == (1.2, True)  # the others bind as before
