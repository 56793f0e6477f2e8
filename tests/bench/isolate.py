"""``python -m tests.bench.isolate [--mib 1024] [--files 100 10000] [--runs 5] [--tmp DIR]``:
what an isolated run's ignored inputs cost (issue 11).

A repository with an ignored ``data/`` of ``--mib`` MiB in ``--files`` files (each count a
row); per row, the median time of ``isolate.link_inputs`` alone and of removing what it
made (in-process: the setup cost itself, with less noise than whole runs), the median wall
time of ``git exp run -- true`` (plain), ``git exp run
--isolated -- true`` with ``exp.isolate = !*`` (the worktree alone, no inputs) and with
the inputs linked in (the default), and the disk the isolated run's worktree takes while
the command runs: ``du`` of the repository and the worktree together minus ``du`` of the
repository (hardlinks counted once), and the drop in the filesystem's free blocks
(``statvfs``: what reflinks really take; noisy on a disk others write to).  The
repository and the temporary worktrees live under ``--tmp`` (default: the system temp
dir); put it on btrfs or XFS to see reflinks.  Not part of ``make bench``: it writes a
gigabyte per row.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.env import find_git_exp, hermetic_env

# Run inside the isolated worktree: how much disk it takes now, next to the repository.
PROBE = """
import json, os, subprocess, sys
repo, out = sys.argv[1], sys.argv[2]
def du(*paths):
    text = subprocess.run(["du", "-sk", "-c", *paths], capture_output=True, text=True, check=True).stdout
    return int(text.splitlines()[-1].split()[0]) * 1024
st = os.statvfs(".")
methods = {"hardlink": 0, "symlink": 0, "reflink": 0}
for top, dirs, files in os.walk("data"):
    for f in files:
        p = os.path.join(top, f)
        methods["symlink" if os.path.islink(p) else "hardlink" if os.stat(p).st_nlink > 1 else "reflink"] += 1
json.dump({"du": du(repo, ".") - du(repo), "free": st.f_bavail * st.f_frsize, "methods": methods}, open(out, "w"))
"""


def git(cwd: Path, env: dict, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def make_repo(root: Path, env: dict, mib: int, files: int) -> Path:
    repo = root / f"repo-{files}"
    repo.mkdir()
    git(repo, env, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text("data/\n")
    (repo / "train.py").write_text("print('train')\n")
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", "init")
    per_file = (mib << 20) // files
    block = os.urandom(1 << 20)
    for i in range(files):
        sub = repo / "data" / f"shard-{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        with open(sub / f"part-{i:06d}.bin", "wb") as f:
            left = per_file
            while left:
                chunk = block[: min(left, len(block))]
                f.write(chunk)
                left -= len(chunk)
    return repo


def timed(argv: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def row(root: Path, env: dict, mib: int, files: int, runs: int) -> dict:
    exe = find_git_exp()
    repo = make_repo(root, env, mib, files)
    free_before = os.statvfs(root).f_bavail * os.statvfs(root).f_frsize
    probe = root / f"probe-{files}.json"
    subprocess.run([exe, "run", "-n", "probe", "--isolated", "--", sys.executable, "-c", PROBE, str(repo), str(probe)],
                   cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = json.loads(probe.read_text())
    plain, bare, linked, whole = [], [], [], []
    none = {**env, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "exp.isolate", "GIT_CONFIG_VALUE_0": "!*"}
    shared = {**env, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "exp.isolateShared", "GIT_CONFIG_VALUE_0": "data"}
    for i in range(runs + 1):  # the first of each is a warm-up
        for kind, times, extra, environ in (("plain", plain, [], env), ("bare", bare, ["--isolated"], none),
                                            ("linked", linked, ["--isolated"], env),
                                            ("shared", whole, ["--isolated"], shared)):
            took = timed([exe, "run", "-n", f"{kind}-{i}", *extra, "--", "true"], repo, environ)
            if i:
                times.append(took)
    link_s, unlink_s = _linking(repo, root, env, runs)
    return {
        "files": files, "mib": mib, "link_s": link_s, "unlink_s": unlink_s, "plain_s": statistics.median(plain),
        "isolated_no_inputs_s": statistics.median(bare), "isolated_s": statistics.median(linked),
        "isolated_shared_s": statistics.median(whole), "du_bytes": seen["du"],
        "free_drop_bytes": free_before - seen["free"],
        "methods": seen["methods"],
    }


LINKING = """
import json, os, shutil, statistics, sys, tempfile, time
from git_exp import isolate
from git_exp.repo import Repo
repo, runs = Repo(sys.argv[1]), int(sys.argv[2])
made, gone = [], []
for i in range(runs + 1):
    target = tempfile.mkdtemp()
    start = time.perf_counter()
    isolate.link_inputs(repo, target)
    middle = time.perf_counter()
    shutil.rmtree(target)
    if i:
        made.append(middle - start)
        gone.append(time.perf_counter() - middle)
print(json.dumps([statistics.median(made), statistics.median(gone)]))
"""


def _linking(repo: Path, root: Path, env: dict, runs: int) -> tuple[float, float]:
    """Median seconds of ``isolate.link_inputs`` alone, and of removing what it made, in
    the git-exp on PATH's interpreter (less noise than whole runs)."""
    python = Path(find_git_exp()).resolve().parent / "python"
    out = subprocess.run([str(python if python.exists() else sys.executable), "-c", LINKING, str(repo), str(runs)],
                         cwd=repo, env=env, check=True, capture_output=True, text=True).stdout
    made, gone = json.loads(out)
    return made, gone


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench.isolate", description=__doc__)
    p.add_argument("--mib", type=int, default=1024, help="size of the ignored data directory (default 1024 MiB)")
    p.add_argument("--files", type=int, nargs="+", default=[100, 10_000], help="file counts, one row each")
    p.add_argument("--runs", type=int, default=5, help="timed runs of each kind, after one warm-up")
    p.add_argument("--tmp", type=Path, help="where the repository and the worktrees go (default: temp dir)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="git-exp-bench-isolate-", dir=args.tmp))
    env = hermetic_env(root / "home")
    env["TMPDIR"] = str(root)  # the run worktrees beside the repository (same filesystem)
    try:
        rows = [row(root, env, args.mib, n, args.runs) for n in args.files]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("| files | MiB | linking | removing | plain run | isolated, no inputs | isolated | difference "
          "| isolated, data shared | du of worktree | free blocks used | how |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        how = ", ".join(f"{n} {m}s" for m, n in r["methods"].items() if n)
        print(f"| {r['files']} | {r['mib']} | {r['link_s'] * 1000:.0f} ms | {r['unlink_s'] * 1000:.0f} ms "
              f"| {r['plain_s'] * 1000:.0f} ms | {r['isolated_no_inputs_s'] * 1000:.0f} ms "
              f"| {r['isolated_s'] * 1000:.0f} ms | {(r['isolated_s'] - r['isolated_no_inputs_s']) * 1000:.0f} ms "
              f"| {r['isolated_shared_s'] * 1000:.0f} ms | {r['du_bytes'] / 1024:.0f} KiB "
              f"| {r['free_drop_bytes'] / (1 << 20):.1f} MiB | {how} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
