"""``python -m tests.bench.archive_sim N DIR``: N experiments (the README's 1M), all but 1k
archived in one chain of volumes as ``git exp archive`` writes them
(``git_exp.archives.write``), the commits made by ``git fast-import``; prints how long each
part took.  Then time by hand in DIR/repo: ``git exp show --archived NAME``, ``git exp ls
--archived``, and the connectivity walk of a no-op fetch (``git for-each-ref
--format='%(objectname)' | git rev-list --objects --stdin --not --all --quiet``).
README, Performance, "Many experiments on the remote"."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

LIVE = 1000
EPOCH = 1_700_000_000
ENV = {**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "C",
       "GIT_COMMITTER_EMAIL": "c@x"}


def name(i: int) -> str:
    return f"sweep/lr-{i:07d}" if i % 2 == 0 else f"ci/{i:07d}"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=ENV, capture_output=True, check=True, text=True).stdout


def stream(n: int) -> Iterator[bytes]:
    """The baseline (mark 1), then experiment i as mark i + 2; only the LIVE newest get a ref."""
    yield (b"commit refs/heads/main\nmark :1\ncommitter C <c@x> %d +0000\ndata 4\nbase\n"
           b"M 100644 inline params.yaml\ndata 8\nlr: 0.1\n\n" % EPOCH)
    message = b"exp\n\nExp-Status: ok\n"
    for i in range(n):
        ref = b"refs/exp/" + name(i).encode() if i >= n - LIVE else b"refs/sim/x"
        params = b"lr: %d\n" % i
        yield (b"commit %s\nmark :%d\ncommitter C <c@x> %d +0000\ndata %d\n%sfrom :1\n"
               b"M 100644 inline params.yaml\ndata %d\n%s\n"
               % (ref, i + 2, EPOCH + 60 + i, len(message), message, len(params), params))
    yield b"done\n"


def main(argv: list[str]) -> None:
    n, root = int(argv[0]), Path(argv[1])
    repo = root / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    start = time.time()
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done", f"--export-marks={root}/marks"], cwd=repo,
                            env=ENV, stdin=subprocess.PIPE)
    for chunk in stream(n):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait():
        raise SystemExit("git fast-import failed")
    sha = {int(mark[1:]): oid for mark, oid in (line.split() for line in open(root / "marks"))}
    print(f"fast-import {n} experiments: {time.time() - start:.0f}s", flush=True)

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from git_exp import archives
    from git_exp.repo import Repo

    start = time.time()
    there = Repo(repo)
    entries = [archives.Entry(name(i), sha[i + 2], sha[1], EPOCH + 60 + i, 0) for i in range(n - LIVE)]
    previous, catalog = None, ""
    for chunk in archives.chunks(entries):
        previous, catalog = archives.write(there, chunk, previous, int(time.time()), catalog)
    git(repo, "update-ref", f"refs/exp-archive/{previous}", previous)
    git(repo, "update-ref", "-d", "refs/sim/x")
    git(repo, "pack-refs", "--all")
    print(f"wrote {len(entries) // archives.FANOUT} volumes with git_exp.archives.write: {time.time() - start:.0f}s",
          flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
