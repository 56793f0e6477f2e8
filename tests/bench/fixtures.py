"""Benchmark repositories, built with ``git fast-import`` (seconds for 10k experiments).

A repository has one baseline commit on ``main`` (params.yaml, metrics.json and
``files`` ordinary files under ``src/``) and N experiment commits whose first parent is
the baseline, each a small distinct change to params.yaml and metrics.json.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from tests.bench.env import BenchError, run

EPOCH = 1_700_000_000
AGED = 10_000  # seconds: work-tree files are dated this far back so no index entry is racy
ExpCommit = tuple  # (ref, message, {path: bytes})


def exp_name(i: int, n: int) -> str:
    """Half the experiments are ``sweep/lr-<i>``, half ``ci/<i>``."""
    width = len(str(max(n - 1, 1)))
    return f"sweep/lr-{i:0{width}d}" if i % 2 == 0 else f"ci/{i:0{width}d}"


def exp_files(i: int) -> dict[str, bytes]:
    params = (f"lr: {0.0001 * (i + 1):.6f}\nbatch_size: {32 << (i % 4)}\n"
              f"model:\n  depth: {i % 12 + 1}\n  width: {64 * (i % 8 + 1)}\nseed: {i}\n")
    metrics = {"acc": round(0.5 + (i % 500) / 1000, 4), "loss": round(1.0 / (i + 2), 6), "epochs": 10 + i % 5}
    return {"params.yaml": params.encode(), "metrics.json": (json.dumps(metrics) + "\n").encode()}


def step_metrics(i: int, steps: int = 50) -> bytes:
    """``metrics.jsonl`` of experiment i: loss and acc over ``steps`` steps."""
    rate = 0.02 + (i % 17) / 200
    return "".join(json.dumps({"step": s, "loss": round(2.3 / (1 + rate * s), 5), "acc": round(1 - 1 / (1 + rate * s), 5)})
                   + "\n" for s in range(steps)).encode()


def git_exp_message(i: int) -> str:
    command = f"python train.py --lr {0.0001 * (i + 1):.6f}"
    return (f"git exp run: {command}\n\nExp-Command: {command}\nExp-Exit-Code: 0\nExp-Status: ok\n"
            f"Exp-Duration: {10 + i % 50}.{i % 1000:03d}s\nExp-Executor: bench-host\n")


def ordinary_files(count: int) -> Iterator[tuple[str, bytes]]:
    for i in range(count):
        text = f'"""Module {i}."""\n\nVALUE = {i}\n\n\ndef f():\n    return VALUE * 2\n'
        yield f"src/pkg{i // 250:03d}/mod{i:05d}.py", text.encode()


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def _ident(ts: int) -> bytes:
    return (b"author A U Thor <author@example.com> %d +0000\n"
            b"committer C O Mitter <committer@example.com> %d +0000\n" % (ts, ts))


def _baseline_stream(files: int, extra: Mapping[str, bytes]) -> Iterator[bytes]:
    yield b"commit refs/heads/main\n" + _ident(EPOCH) + _data(b"baseline")
    for path, payload in [*ordinary_files(files), *exp_files(0).items(), *extra.items()]:
        yield b"M 100644 inline " + path.encode() + b"\n" + _data(payload)
    yield b"\ndone\n"


def _exp_stream(base: str, commits: Iterable[ExpCommit]) -> Iterator[bytes]:
    for k, (ref, message, changes) in enumerate(commits):
        chunk = [b"commit " + ref.encode() + b"\n", _ident(EPOCH + 60 + k), _data(message.encode()),
                 b"from " + base.encode() + b"\n"]
        for path, payload in changes.items():
            chunk.append(b"M 100644 inline " + path.encode() + b"\n" + _data(payload))
        yield b"".join(chunk) + b"\n"
    yield b"done\n"


def fast_import(repo: Path, env: Mapping[str, str], stream: Iterable[bytes]) -> None:
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=repo, env=dict(env),
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    buffer: list[bytes] = []
    for chunk in stream:
        buffer.append(chunk)
        if len(buffer) >= 1000:
            proc.stdin.write(b"".join(buffer))
            buffer.clear()
    proc.stdin.write(b"".join(buffer))
    proc.stdin.close()
    err = proc.stderr.read()
    if proc.wait():
        raise BenchError(f"git fast-import in {repo} failed:\n{err.decode(errors='replace')}")


def import_commits(repo: Path, env: Mapping[str, str], base: str, commits: Iterable[ExpCommit]) -> None:
    """Experiment commits on ``base``, each ``(ref, message, {path: bytes})``, in one fast-import."""
    fast_import(repo, env, _exp_stream(base, commits))


def age_worktree(repo: Path, env: Mapping[str, str]) -> None:
    """Date every work-tree file in the past and refresh the index, so git's stat cache is
    trusted (no racily-clean entries re-hashed on every command)."""
    past = time.time() - AGED
    for top, dirs, names in os.walk(repo):
        if top == str(repo):
            dirs.remove(".git")
        for name in names:
            os.utime(os.path.join(top, name), (past, past))
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=repo, env=dict(env))


def build_repo(path: Path, env: Mapping[str, str], files: int, extra: Mapping[str, bytes],
               commits: Callable[[str], Iterable[ExpCommit]]) -> str:
    """A checked-out repository with the baseline and the experiment commits; its baseline sha."""
    path.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], path, env)
    fast_import(path, env, _baseline_stream(files, extra))
    base = run(["git", "rev-parse", "main"], path, env).strip()
    import_commits(path, env, base, commits(base))
    run(["git", "reset", "-q", "--hard", "main"], path, env)
    run(["git", "pack-refs", "--all"], path, env)
    age_worktree(path, env)
    return base


def git_exp_commits(n: int) -> Callable[[str], Iterator[ExpCommit]]:
    def commits(_base: str) -> Iterator[ExpCommit]:
        for i in range(n):
            yield f"refs/exp/{exp_name(i, n)}", git_exp_message(i), exp_files(i + 1)
    return commits


def report_commits(n: int) -> Callable[[str], Iterator[ExpCommit]]:
    def commits(_base: str) -> Iterator[ExpCommit]:
        for i in range(n):
            yield (f"refs/exp/{exp_name(i, n)}", git_exp_message(i),
                   {**exp_files(i + 1), "metrics.jsonl": step_metrics(i)})
    return commits


def bare(path: Path, env: Mapping[str, str]) -> Path:
    path.mkdir(parents=True)
    run(["git", "init", "-q", "--bare", "-b", "main"], path, env)
    return path


class Fixture:
    """The repositories for one experiment count N, each built on first use.

    Their ref format is git's default in ``env``: files, or reftable when ``env`` sets
    GIT_DEFAULT_REF_FORMAT=reftable (the reftable column), which is then checked on each."""

    def __init__(self, root: Path, n: int, files: int, env: Mapping[str, str]):
        self.dir = root / f"n{n}"
        self.runs = self.dir / "run"
        self.n, self.files, self.env = n, files, env
        self.ref_format = env.get("GIT_DEFAULT_REF_FORMAT", "files")

    def git(self, cwd: Path, *args: str) -> str:
        return run(["git", *args], cwd, self.env)

    def checked(self, path: Path) -> Path:
        """``path``, after making sure its refs are in our format (a git that ignored
        GIT_DEFAULT_REF_FORMAT would make the reftable column measure files refs)."""
        if self.ref_format != "files":
            found = self.git(path, "rev-parse", "--show-ref-format").strip()
            if found != self.ref_format:
                raise BenchError(f"{path} has {found!r} refs, not {self.ref_format!r}")
        return path

    @cached_property
    def main(self) -> Path:
        """The work tree with N experiments (remotes are added by the operations)."""
        path = self.dir / "main"
        build_repo(path, self.env, self.files, {}, git_exp_commits(self.n))
        return self.checked(path)

    @cached_property
    def report_repo(self) -> Path:
        """Like ``main``, each experiment with a ``metrics.jsonl`` of its steps too (for
        the report's curves)."""
        path = self.dir / "report"
        build_repo(path, self.env, self.files, {}, report_commits(self.n))
        return self.checked(path)

    @cached_property
    def base_remote(self) -> Path:
        """A bare remote holding only the baseline branch (the template for fresh remotes)."""
        path = self.checked(bare(self.dir / "base.git", self.env))
        self.git(self.main, "push", "-q", str(path), "main")
        return path

    @cached_property
    def full_remote(self) -> Path:
        """A bare remote holding the baseline and every experiment, refs packed."""
        return self._remote_with("full.git", "refs/exp/*:refs/exp/*")

    @cached_property
    def subset(self) -> Path:
        """A bare repository holding the baseline and just the sweep/ half of the experiments."""
        return self._remote_with("subset.git", "refs/exp/sweep/*:refs/exp/sweep/*")

    def _remote_with(self, name: str, refspec: str) -> Path:
        path = self.checked(bare(self.dir / name, self.env))
        self.git(self.main, "push", "-q", str(path), "main", refspec)
        self.git(path, "pack-refs", "--all")
        return path

    @cached_property
    def clone_template(self) -> Path:
        """A clone of ``full_remote`` without checkout: the baseline, no experiments."""
        path = self.dir / "clone-template"
        run(["git", "clone", "-q", "--no-local", "--no-checkout", str(self.full_remote), str(path)],
            self.dir, self.env)
        return self.checked(path)

    def add_remote(self, repo: Path, name: str, url: Path) -> None:
        if run(["git", "remote"], repo, self.env).split().count(name):
            self.git(repo, "remote", "set-url", name, str(url))
        else:
            self.git(repo, "remote", "add", name, str(url))
