"""``python -m tests.bench [--sizes N...] [--runs N] [--json FILE] [--ops a,b] [--with-100k]
[--archived-n N] [--no-reftable] [--strict] [--with-dvc] [--with-mlflow] [--smoke]``: build fixtures, time every operation,
print the tables.

Two columns: files (git on PATH, git's default files refs) and, when a current git is
built (.ci/git-current.sh; ``--no-reftable`` skips it), reftable: every row measured again
with that git first on PATH and every fixture repository made with reftable refs.

Exit status: 1 when a measurement failed in either column (the harness or git-exp is
broken), else 0: the targets are reported, not enforced, as the machine is shared and a
loaded run crosses the tight ones by a few ms.  ``--strict`` also exits 1 when a row of
the files column misses its target; the reftable column never decides the status."""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from tests.bench import archive, dvc, mlflowcmp, report
from tests.bench.env import BenchError, Unavailable, current_git, find_git_exp, hermetic_env, interpreter, pick_tmp, reftable_env, run
from tests.bench.fixtures import Fixture
from tests.bench.ops import AT_100K, OPS, Ctx
from tests.bench.report import Row
from tests.bench.timing import measure, peak_mb

LS_ONLY_FROM = 100_000  # at this N and above only `ls` and issue 14's rows (ops.AT_100K) are measured
STARTUP_N = 10
SMOKE = {"sizes": [50], "runs": 1, "files": 200, "warmup": 0}


def parse(argv: Optional[list[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], metavar="N",
                   help="experiment counts (default: 1000 10000); 100000 or more measures ls and the *-100k rows only")
    p.add_argument("--with-100k", action="store_true", help="also measure at 100000 experiments: ls and the "
                   "*-100k rows (show/ls cold, memory, selection), and the archive rows (" + ", ".join(archive.OPS)
                   + ") at --archived-n")
    p.add_argument("--archived-n", type=int, metavar="N",
                   help="measure the archive rows with N experiments in the remote, all but 1000 (or half, below "
                        "2000) archived (default with --with-100k: 100000)")
    p.add_argument("--runs", type=int, default=5, help="timed runs per command, after one warm-up (default 5)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument("--ops", help=f"comma-separated subset of: {','.join(OPS)}")
    p.add_argument("--files", type=int, default=20_000, help="ordinary files in each repository (default 20000)")
    p.add_argument("--with-dvc", action="store_true", help="also compare with DVC's experiment commands")
    p.add_argument("--dvc-sizes", type=int, nargs="+", default=[1000], metavar="N",
                   help="experiment counts for the DVC comparison (default 1000)")
    p.add_argument("--dvc-files", type=int, default=2000,
                   help="ordinary files in the DVC comparison's repositories (default 2000: `dvc exp show` "
                        "walks every experiment's whole tree, ~1.1 s per experiment at 20k files)")
    p.add_argument("--dvc-budget", type=float, default=900, metavar="SECONDS",
                   help="fewer DVC runs (at least 1) when --runs of them would take longer (default 900)")
    p.add_argument("--dvc-venv", type=Path, metavar="DIR", help="venv with DVC (made there if missing; "
                   "default: a new one in the temp dir)")
    p.add_argument("--dvc-ops", metavar="OPS", help="comma-separated subset of the DVC comparison: "
                   + ",".join(dvc.OPS))
    p.add_argument("--with-mlflow", action="store_true",
                   help="also compare with MLflow's tracking store (SQLite backend), installed from PyPI into "
                        "--mlflow-venv when missing: " + ", ".join(mlflowcmp.OPS))
    p.add_argument("--mlflow-sizes", type=int, nargs="*", default=[1000, 10000], metavar="N",
                   help="runs for the mlflow-search rows (default 1000 10000; none: skip them)")
    p.add_argument("--mlflow-log-n", type=int, default=1000, metavar="N",
                   help="runs logged in the mlflow-log row (default 1000; 0 skips it)")
    p.add_argument("--mlflow-venv", type=Path, metavar="DIR",
                   help="venv with MLflow (made there if missing; default: ~/.cache/git-exp/mlflow-venv)")
    p.add_argument("--no-reftable", action="store_true",
                   help="skip the reftable column (by default measured when a current git is built: "
                        "make git-current)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a row of the files column misses its target (default: report only)")
    p.add_argument("--smoke", action="store_true",
                   help="tiny and quick: N=50, 200 files, 1 run, no warm-up (keeps the harness tested)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (to profile by hand)")
    args = p.parse_args(argv)
    args.warmup = 1
    if args.smoke:
        vars(args).update(SMOKE)
    if args.with_100k and LS_ONLY_FROM not in args.sizes:
        args.sizes.append(LS_ONLY_FROM)
    args.ops = args.ops.split(",") if args.ops else list(OPS)
    unknown = [op for op in args.ops if op not in OPS]
    if unknown:
        p.error(f"unknown operation {unknown[0]!r}; choose from {', '.join(OPS)}")
    args.dvc_ops = args.dvc_ops.split(",") if args.dvc_ops else list(dvc.OPS)
    unknown = [op for op in args.dvc_ops if op not in dvc.OPS]
    if unknown:
        p.error(f"unknown DVC comparison {unknown[0]!r}; choose from {', '.join(dvc.OPS)}")
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def describe(where: str, git_exp: str, python: str, args: argparse.Namespace, env,
             reftable: str) -> str:
    git = run(["git", "--version"], Path.cwd(), env).strip()
    version = run(["git", "exp", "--version"], Path.cwd(), env).strip()
    py = run([python, "-c", "import platform; print(platform.python_version())"], Path.cwd(), env).strip()
    return (f"git-exp benchmark — {version} at {git_exp}, {git} ({shutil.which('git', path=env['PATH'])}), "
            f"Python {py} ({python}), {platform.machine()} with {_cores()} cores\n"
            f"fixtures in {where}; {args.files} ordinary files per repository; median of {args.runs} "
            f"interleaved run(s) after {args.warmup} warm-up; ratio = git-exp / plain git\n"
            f"files column: that git, files refs; reftable column: {reftable}")


def _cores() -> str:
    return str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())


FILES, REFTABLE = "files", "reftable"


class Runner:
    def __init__(self, root: Path, args: argparse.Namespace, ctx: Ctx, reftable: Optional[Ctx] = None):
        self.root, self.args, self.ctx = root, args, ctx
        # (column, where its fixtures go, its context): files first, then reftable if measured
        self.columns = [(FILES, root, ctx)] + ([(REFTABLE, root / REFTABLE, reftable)] if reftable else [])
        self.rows: list[Row] = []
        self.by_key: dict[tuple[str, int], Row] = {}
        self.dvc_rows: list[Row] = []
        self.failed: list[str] = []
        self.dvc_version = ""
        self.mlflow_rows: list[Row] = []
        self.mlflow_version = ""
        self.mlflow_logged: dict[int, float] = {}

    def record(self, op: str, n: int, case_of, into: Optional[list[Row]], budget: Optional[float] = None,
               column: str = FILES, ctx: Optional[Ctx] = None, warmup: Optional[int] = None) -> None:
        """Measure one case; a files-column row goes into ``into``, a reftable one onto the
        files row of the same op and N (printed on stderr only when that row failed)."""
        start = time.perf_counter()
        tag = "" if column == FILES else f" [{column}]"
        try:
            case = case_of()
            a, b, runs = measure(case, (ctx or self.ctx).env, self.args.runs,
                                 self.args.warmup if warmup is None else warmup, budget)
            mb = peak_mb(case, runs)
        except Unavailable as exc:
            note(f"  {op:<16} N={n}{tag}: not measured — {exc}")
            return
        except BenchError as exc:
            self.failed.append(f"{op} at N={n}{tag}")
            note(f"  {op:<16} N={n}{tag}: FAILED — {exc}")
            return
        memory = f", peak {mb:.0f} MB" if mb is not None else ""
        note(f"  {op:<16} N={n}{tag}: git-exp {report.seconds(a)}{memory}, other {report.seconds(b)}, "
             f"ratio {a / b:.2f} ({time.perf_counter() - start:.1f}s)")
        if column == FILES:
            row = Row(op, n, a, b, runs, gitexp_mb=mb)
            into.append(row)
            self.by_key[(op, n)] = row
        elif (op, n) in self.by_key:
            row = self.by_key[(op, n)]
            row.gitexp_s_reftable, row.baseline_s_reftable = a, b

    def fixture(self, n: int, files: int, where: Optional[Path] = None, ctx: Optional[Ctx] = None) -> Fixture:
        return Fixture(where or self.root, n, files, (ctx or self.ctx).env)

    def main_rows(self) -> None:
        ops = self.args.ops
        if "startup" in ops:
            for column, root, ctx in self.columns:
                fx = self.fixture(STARTUP_N, 100, root / "startup", ctx)
                self.record("startup", STARTUP_N, lambda fx=fx, ctx=ctx: OPS["startup"](fx, ctx), self.rows,
                            column=column, ctx=ctx)
        for n in self.args.sizes:
            chosen = [op for op in ops if op != "startup" and (n < LS_ONLY_FROM or op in AT_100K)]
            if not chosen:
                continue
            for column, root, ctx in self.columns:
                fx = self.fixture(n, self.args.files, root, ctx)
                start = time.perf_counter()
                try:
                    _ = fx.main
                except BenchError as exc:
                    self.failed.append(f"fixture N={n} ({column})")
                    note(f"building the N={n} fixture ({column} refs) failed — {exc}")
                    continue
                note(f"N={n}: built {n} experiments over {self.args.files} files, {column} refs, "
                     f"in {time.perf_counter() - start:.1f}s")
                for op in chosen:
                    self.record(op, n, lambda op=op, fx=fx, ctx=ctx: OPS[op](fx, ctx), self.rows,
                                column=column, ctx=ctx)
                if not self.args.keep:
                    shutil.rmtree(fx.dir, ignore_errors=True)

    def archived(self, n: int) -> None:
        """The archive rows (tests/bench/archive.py), files column only."""
        fx = archive.ArchiveFixture(self.root, n, self.args.files, self.ctx.env)
        start = time.perf_counter()
        try:
            chosen = archive.cases(fx)
        except BenchError as exc:
            self.failed.append(f"archive fixture N={n}")
            note(f"building the archive fixture N={n} failed — {exc}")
            return
        note(f"archive fixture N={n} ({fx.live} live) built in {time.perf_counter() - start:.1f}s: "
             + ", ".join(f"{step} {seconds:.1f}s" for step, seconds in fx.steps.items()))
        for op, case in chosen.items():
            self.record(op, n, lambda case=case: case, self.rows)
        if not self.args.keep:
            shutil.rmtree(fx.dir, ignore_errors=True)

    def mlflow(self) -> None:
        """git-exp and MLflow (tests/bench/mlflowcmp.py); rows go with the DVC ones' table."""
        venv = self.args.mlflow_venv or Path.home() / ".cache" / "git-exp" / "mlflow-venv"
        try:
            python = mlflowcmp.ensure_mlflow(venv)
            self.mlflow_version = mlflowcmp.mlflow_version(python, self.ctx.env)
        except (BenchError, subprocess.CalledProcessError) as exc:
            self.failed.append("mlflow setup")
            note(f"MLflow setup failed — {exc}")
            return
        note(f"MLflow {self.mlflow_version} from {venv}")
        side = mlflowcmp.Side(self.root, self.ctx.env, python)
        if self.args.mlflow_log_n:
            n = self.args.mlflow_log_n
            self.record("mlflow-log", n, lambda: mlflowcmp.log_case(side, n), self.mlflow_rows, budget=1, warmup=0)
        for n in self.args.mlflow_sizes:
            self.record("mlflow-search", n, lambda n=n: mlflowcmp.search_case(side, n), self.mlflow_rows)
            if n in side.logged:
                note(f"MLflow: logging {n} runs with the batch API took {side.logged[n]:.1f}s")
                self.mlflow_logged[n] = side.logged[n]

    def dvc(self, n: int) -> None:
        """git-exp and DVC on fixtures of the same shape: N experiments, --dvc-files files."""
        venv = self.args.dvc_venv or self.root / "dvcvenv"
        note(f"DVC: using {venv} (installing it there if missing)")
        files = self.args.dvc_files
        try:
            binary = dvc.ensure_dvc(venv)
            self.dvc_version = dvc.dvc_version(binary, self.ctx.env)
            note(f"DVC: {self.dvc_version}")
            fx = self.fixture(n, files, self.root / "dvc-side")
            dx = dvc.DvcFixture(self.root, n, files, self.ctx.env, binary)
            _ = fx.main, dx.main
        except (BenchError, subprocess.CalledProcessError) as exc:
            self.failed.append(f"dvc at N={n}")
            note(f"DVC setup failed — {exc}")
            return
        for op, case in dvc.cases(fx, dx).items():
            if op[len("dvc-"):] in self.args.dvc_ops:
                self.record(op, n, lambda case=case: case, self.dvc_rows, self.args.dvc_budget)
        if not self.args.keep:
            shutil.rmtree(dx.dir, ignore_errors=True)
            shutil.rmtree(fx.dir, ignore_errors=True)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse(argv)
    try:
        git_exp = find_git_exp()
    except BenchError as exc:
        note(f"bench: error: {exc}")
        return 2
    parent, where = pick_tmp()
    root = Path(tempfile.mkdtemp(prefix="git-exp-bench-", dir=parent))
    env = hermetic_env(root / "home")
    ctx = Ctx(env, interpreter(git_exp))
    reftable: Optional[Ctx] = None
    if args.no_reftable:
        reftable_says = "skipped (--no-reftable)"
    else:
        git, why = current_git()
        if git is None:
            reftable_says = f"skipped — {why}"
        else:
            reftable = Ctx(reftable_env(env, git), ctx.python)
            version = run([git, "--version"], Path.cwd(), env).strip()
            reftable_says = f"{version} ({git}) first on PATH, reftable refs in every repository"
    runner = Runner(root, args, ctx, reftable)
    try:
        header = describe(where, git_exp, ctx.python, args, env, reftable_says)
        note(header)
        runner.main_rows()
        if args.archived_n or args.with_100k:
            runner.archived(args.archived_n or LS_ONLY_FROM)
        if args.with_dvc:
            for n in args.dvc_sizes:
                runner.dvc(n)
        if args.with_mlflow:
            runner.mlflow()
    except BenchError as exc:
        note(f"bench: error: {exc}")
        return 1
    finally:
        if args.keep:
            note(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(header + "\n")
    print(report.markdown(runner.rows))
    if runner.dvc_rows:
        print(f"\nDVC side by side: DVC {runner.dvc_version}; experiments built as DVC writes them; "
              f"{args.dvc_files} ordinary files in both tools' repositories; DVC / git-exp = how many times "
              f"faster git-exp is; `runs` below --runs means --dvc-budget cut them\n")
        print(report.dvc_markdown(runner.dvc_rows))
    if runner.mlflow_rows:
        logged = "; ".join(f"{n} runs logged by MLflow's batch API in {s:.0f}s" for n, s in runner.mlflow_logged.items())
        print(f"\nMLflow side by side: MLflow {runner.mlflow_version}, SQLite backend (mlflow.db); 10 params and "
              f"5 metrics per run; search = a new process each (git-exp's caches removed); MLflow / git-exp = "
              f"how many times faster git-exp is. {logged}\n")
        print(report.dvc_markdown(runner.mlflow_rows, "MLflow"))
    if args.json:
        report.write_json(args.json, runner.rows + runner.dvc_rows + runner.mlflow_rows)
    if runner.failed:
        note(f"bench: error: could not measure {', '.join(runner.failed)} (see above)")
        return 1
    missed = [f"{r.op} at N={r.n}" for r in runner.rows + runner.dvc_rows + runner.mlflow_rows if r.ok is False]
    if args.strict and missed:
        note(f"bench: error: missed the target (files column, --strict): {', '.join(missed)}")
        return 1
    return 0
