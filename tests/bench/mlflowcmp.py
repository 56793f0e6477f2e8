"""``--with-mlflow``: MLflow's tracking store side by side with git-exp (issue 14).

MLflow comes from PyPI into its own venv (``--mlflow-venv``, made when missing: only with
this flag), with its default local backend: since MLflow 3 a SQLite database
``mlflow.db`` in the working directory (``_get_default_tracking_uri``; ``./mlruns`` only
where one already exists); we set ``MLFLOW_TRACKING_URI=sqlite:///mlflow.db`` so an old
``mlruns`` cannot change that.  Each run has 10 params and 5 metrics, as each git-exp
experiment has (params.yaml, metrics.json).  Rows (A = git-exp, B = MLflow):

- ``mlflow-log`` at ``--mlflow-log-n`` (1000): ``git exp save`` of each run, one process
  per run as CI or a script does (A), against one Python process logging every run with
  ``mlflow.start_run`` / ``log_params`` / ``log_metrics`` (B: MLflow's import paid once).
- ``mlflow-search`` at each ``--mlflow-sizes`` (1000 10000): ``git exp show --json`` with
  its caches removed before each run (A) against a new process running
  ``mlflow.search_runs(search_all_experiments=True)`` (B), both cold in that sense.  The
  N runs are logged with MLflow's batch API (``MlflowClient.create_run`` + ``log_batch``)
  and the time that took is printed; git-exp's N experiments are built with fast-import.

Target: git-exp's listing at least as fast as MLflow's at 10k (ratio ≤ 1).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Mapping

from tests.bench.dvc import GIT_EXP_CACHE
from tests.bench.env import BenchError, Cmd, run
from tests.bench.fixtures import ExpCommit, build_repo, git_exp_message
from tests.bench.timing import Case

OPS = ("mlflow-log", "mlflow-search")
URI = "sqlite:///mlflow.db"
FILES = 200  # ordinary files in git-exp's repositories

LOG = r"""
import os, sys, time
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

n, mode = int(sys.argv[1]), sys.argv[2]
def params(i):
    return {f"p{k}": round(0.001 * (i + 1) * (k + 1), 6) for k in range(10)}
def metrics(i):
    return {f"m{k}": round((i % 997) / 997 + k, 6) for k in range(5)}
start = time.time()
if mode == "runs":
    for i in range(n):
        with mlflow.start_run(run_name=f"run-{i}"):
            mlflow.log_params(params(i))
            mlflow.log_metrics(metrics(i))
else:
    client = MlflowClient()
    stamp = int(time.time() * 1000)
    for i in range(n):
        run = client.create_run("0", run_name=f"run-{i}")
        client.log_batch(run.info.run_id, metrics=[Metric(k, v, stamp, 0) for k, v in metrics(i).items()],
                         params=[Param(k, str(v)) for k, v in params(i).items()])
        client.set_terminated(run.info.run_id)
print(time.time() - start)
"""
SEARCH = "import mlflow; print(len(mlflow.search_runs(search_all_experiments=True)))"


def ensure_mlflow(venv: Path) -> Path:
    """``venv/bin/python`` with MLflow, installing it there first when it is missing."""
    python = venv / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", "import mlflow"], capture_output=True).returncode:
        print(f"MLflow: installing it from PyPI into {venv} (a few minutes, once)", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        proc = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "mlflow"], capture_output=True)
        if proc.returncode:
            raise BenchError(f"pip install mlflow failed:\n{proc.stderr.decode(errors='replace')[-2000:]}")
    return python


def mlflow_version(python: Path, env: Mapping[str, str]) -> str:
    return run([str(python), "-c", "import mlflow; print(mlflow.__version__)"], python.parent, env).strip()


def params_yaml(i: int) -> bytes:
    return "".join(f"p{k}: {round(0.001 * (i + 1) * (k + 1), 6)}\n" for k in range(10)).encode()


def metrics_json(i: int) -> bytes:
    return ("{" + ", ".join(f'"m{k}": {round((i % 997) / 997 + k, 6)}' for k in range(5)) + "}\n").encode()


def commits(n: int):
    def made(_base: str) -> Iterator[ExpCommit]:
        for i in range(n):
            yield (f"refs/exp/run-{i:05d}", git_exp_message(i),
                   {"params.yaml": params_yaml(i), "metrics.json": metrics_json(i)})
    return made


class Side:
    """Both tools' stores for one comparison."""

    def __init__(self, root: Path, env: Mapping[str, str], python: Path):
        self.root, self.python = root / "mlflow", python
        self.env = {**env, "MLFLOW_TRACKING_URI": URI, "MLFLOW_ENABLE_ASYNC_LOGGING": "false"}
        self.logged: dict[int, float] = {}  # N -> seconds the batch logging took

    def store(self, n: int) -> Path:
        """A directory whose mlflow.db holds N runs logged with the batch API."""
        where = self.root / f"db-{n}"
        where.mkdir(parents=True)
        out = run([str(self.python), "-c", LOG, str(n), "batch"], where, self.env)
        self.logged[n] = float(out.strip().splitlines()[-1])
        return where

    def repo(self, n: int) -> Path:
        path = self.root / f"git-{n}"
        build_repo(path, self.env, FILES, {"params.yaml": params_yaml(0), "metrics.json": metrics_json(0)},
                   commits(n))
        return path


def log_case(side: Side, n: int) -> Case:
    repo = side.root / "save-repo"
    build_repo(repo, side.env, FILES, {"params.yaml": params_yaml(0), "metrics.json": metrics_json(0)}, commits(0))
    db = side.root / "log-db"
    inputs = side.root / "inputs"  # each run's two files, made here so that the loop only copies them
    inputs.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (inputs / f"params-{i}.yaml").write_bytes(params_yaml(i))
        (inputs / f"metrics-{i}.json").write_bytes(metrics_json(i))
    script = (f"set -e\nfor i in $(seq 0 {n - 1}); do\n"
              f"  cp {inputs}/params-$i.yaml params.yaml; cp {inputs}/metrics-$i.json metrics.json\n"
              "  git exp save -n run-$i --force >/dev/null 2>&1\ndone\n")

    def prepare() -> None:
        shutil.rmtree(db, ignore_errors=True)
        db.mkdir(parents=True)
        run(["sh", "-c", "git for-each-ref --format='delete %(refname)' refs/exp/ | git update-ref --stdin"],
            repo, side.env)

    return Case(Cmd(("sh", "-c", script), repo), Cmd((str(side.python), "-c", LOG, str(n), "runs"), db), prepare)


def search_case(side: Side, n: int) -> Case:
    repo, db = side.repo(n), side.store(n)

    def cold() -> None:
        shutil.rmtree(repo / GIT_EXP_CACHE, ignore_errors=True)

    return Case(Cmd(("git", "exp", "show", "--json"), repo), Cmd((str(side.python), "-c", SEARCH), db), cold)


def timed_build(what: str, build, note) -> object:
    start = time.perf_counter()
    result = build()
    note(f"MLflow comparison: {what} in {time.perf_counter() - start:.1f}s")
    return result
