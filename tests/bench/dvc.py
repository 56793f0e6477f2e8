"""``--with-dvc``: DVC's experiment commands against git-exp's on the same N.

DVC is installed into its own venv.  Its experiments are built with fast-import the way
DVC 3 writes them (dvc/repo/experiments/refs.py and executor/base.py): a commit whose
first parent is the baseline, message ``dvc: commit experiment <sha256>`` (no trailing
newline), tree = the baseline's plus the changed params/metrics and the pickled
``.dvc/tmp/repro.dat`` that ``dvc exp save`` commits, at
``refs/exps/<baseline[:2]>/<baseline[2:]>/<name>``.  The repository is a real
``dvc init`` one with top-level ``params:``/``metrics:`` in dvc.yaml; the build is checked
by ``dvc exp list`` finding all N.  Each row times git-exp (A) and DVC (B) interleaved.
Both cache what ``exp show`` parsed: ``show`` is timed warm (after the warm-up),
``show-cold`` with both caches removed before each run.
"""
from __future__ import annotations

import hashlib
import pickle
import shutil
import subprocess
import sys
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator, Mapping

from tests.bench.env import BenchError, Cmd, copy_repo, run
from tests.bench.fixtures import ExpCommit, Fixture, bare, build_repo, exp_files
from tests.bench.ops import PULL
from tests.bench.timing import Case

DVC_YAML = b"params:\n  - params.yaml\nmetrics:\n  - metrics.json\n"
DVC_INIT_FILES = (".dvc/config", ".dvc/.gitignore", ".dvcignore")
# Both tools cache what `exp show` parsed, git-exp also what `ls` read; the "-cold" rows
# remove these before each run.
OPS = ("ls-cold", "ls", "show-cold", "show", "push", "pull")  # cases() as dvc-<op>
DVC_SHOW_CACHE = ".dvc/tmp/exps/cache"  # dvc/repo/experiments/cache.py
GIT_EXP_CACHE = ".git/git-exp"  # git_exp/cache.py path()


def ensure_dvc(venv: Path) -> Path:
    """``venv/bin/dvc``, installing DVC there first when it is missing."""
    dvc = venv / "bin" / "dvc"
    if not dvc.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        proc = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "dvc"], capture_output=True)
        if proc.returncode:
            raise BenchError(f"pip install dvc failed:\n{proc.stderr.decode(errors='replace')[-2000:]}")
    return dvc


def dvc_version(dvc: Path, env: Mapping[str, str]) -> str:
    return run([str(dvc), "--version"], dvc.parent, env).strip()


def dvc_name(i: int, n: int) -> str:
    return f"exp-{i:0{len(str(max(n - 1, 1)))}d}"


def dvc_commits(n: int, root: str) -> Callable[[str], Iterator[ExpCommit]]:
    def commits(base: str) -> Iterator[ExpCommit]:
        for i in range(n):
            name = dvc_name(i, n)
            env = {"DVC_EXP_BASELINE_REV": base, "DVC_EXP_NAME": name, "DVC_ROOT": root}
            repro = pickle.dumps({"args": (), "kwargs": {"run_env": env}}, protocol=4)
            exp_hash = hashlib.sha256(b"%d" % i).hexdigest()
            yield (f"refs/exps/{base[:2]}/{base[2:]}/{name}", f"dvc: commit experiment {exp_hash}",
                   {**exp_files(i + 1), ".dvc/tmp/repro.dat": repro})
    return commits


class DvcFixture:
    """A DVC repository with N experiments, its remotes and clones."""

    def __init__(self, root: Path, n: int, files: int, env: Mapping[str, str], dvc: Path):
        self.dir = root / f"dvc-n{n}"
        self.runs = self.dir / "run"
        self.n, self.files, self.env, self.dvc = n, files, env, dvc

    def init_files(self) -> dict[str, bytes]:
        """The files a real ``dvc init`` writes."""
        scratch = self.dir / "scratch"
        scratch.mkdir(parents=True)
        run(["git", "init", "-q"], scratch, self.env)
        run([str(self.dvc), "init", "-q"], scratch, self.env)
        return {path: (scratch / path).read_bytes() for path in DVC_INIT_FILES}

    @cached_property
    def main(self) -> Path:
        path = self.dir / "main"
        extra = {**self.init_files(), "dvc.yaml": DVC_YAML}
        build_repo(path, self.env, self.files, extra, dvc_commits(self.n, str(path)))
        listed = run([str(self.dvc), "exp", "list", "--name-only"], path, self.env).split()
        if len(listed) != self.n:
            raise BenchError(f"dvc exp list finds {len(listed)} of the {self.n} experiments built in {path}")
        return path

    @cached_property
    def base_remote(self) -> Path:
        path = bare(self.dir / "base.git", self.env)
        run(["git", "push", "-q", str(path), "main"], self.main, self.env)
        return path

    @cached_property
    def clone_template(self) -> Path:
        """A checked-out clone (DVC finds its root by .dvc/) of a remote holding every experiment."""
        full = bare(self.dir / "full.git", self.env)
        run(["git", "push", "-q", str(full), "main", "refs/exps/*:refs/exps/*"], self.main, self.env)
        run(["git", "pack-refs", "--all"], full, self.env)
        path = self.dir / "clone-template"
        run(["git", "clone", "-q", "--no-local", str(full), str(path)], self.dir, self.env)
        return path


def cases(fx: Fixture, dx: DvcFixture) -> dict[str, Case]:
    """A is git-exp on ``fx``, B is DVC on ``dx``; same N, same files."""
    dvc = str(dx.dvc)
    ge_push, dvc_push = fx.runs / "dvc-side-push.git", dx.runs / "push.git"
    fx.add_remote(fx.main, "dvc-side", ge_push)
    fx.add_remote(dx.main, "origin", dvc_push)
    ge_clone, dvc_clone = fx.runs / "dvc-side-pull", dx.runs / "pull"

    def fresh_remotes() -> None:
        copy_repo(fx.base_remote, ge_push)
        copy_repo(dx.base_remote, dvc_push)

    def fresh_clones() -> None:
        copy_repo(fx.clone_template, ge_clone)
        copy_repo(dx.clone_template, dvc_clone)

    def no_caches() -> None:
        shutil.rmtree(fx.main / GIT_EXP_CACHE, ignore_errors=True)
        shutil.rmtree(dx.main / DVC_SHOW_CACHE, ignore_errors=True)

    ls_ge, ls_dvc = Cmd(("git", "exp", "ls"), fx.main), Cmd((dvc, "exp", "list"), dx.main)
    show_ge, show_dvc = Cmd(("git", "exp", "show", "--json"), fx.main), Cmd((dvc, "exp", "show", "--json"), dx.main)

    cases = {
        "dvc-ls-cold": Case(ls_ge, ls_dvc, no_caches),
        "dvc-ls": Case(ls_ge, ls_dvc),
        "dvc-show-cold": Case(show_ge, show_dvc, no_caches),
        "dvc-show": Case(show_ge, show_dvc),
        "dvc-push": Case(Cmd(("git", "exp", "push", "dvc-side", "--all"), fx.main),
                         Cmd((dvc, "exp", "push", "origin", "-A", "--no-cache"), dx.main), fresh_remotes),
        "dvc-pull": Case(Cmd(PULL, ge_clone), Cmd((dvc, "exp", "pull", "origin", "-A", "--no-cache"), dvc_clone),
                         fresh_clones),
    }
    assert [op[len("dvc-"):] for op in cases] == list(OPS)
    return cases
