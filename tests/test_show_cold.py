"""A cold ``show --json`` over many experiments reads a part at a time on two processes
(``commands.show_cold``): the same bytes as the long way, the same facts kept, a warm run
after it, and a worker that fails or dies costs nothing but time.

Real git and real forks; ``GIT_EXP_SHOW_PART`` lowers the part size (and the threshold to
two parts) so that a few dozen experiments make many parts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import git

PART = "GIT_EXP_SHOW_PART"
COUNT = 120  # experiments: more than ``render.LINES_MIN``, below which JSON is indented


def _stream(base: str, count: int) -> bytes:
    """A fast-import stream of ``count`` experiments, three per second of commit time and
    not in name order (the sort must be stable as the long way's), with every kind of
    row: plain and flow-style YAML, an unreadable params file, metric histories, DVCLive
    summaries, a failed run, and a root commit."""
    out = []
    for k in range(count):
        name = f"e{(k * 7) % count:03d}"
        when = 1_700_000_000 + (k // 3)
        params = f"lr: 0.{k + 10}\nseed: {k}\nmodel:\n  depth: {k % 4}\n"
        if k % 11 == 5:
            params = f"{{lr: 0.{k + 10}, list: [1, 2]}}\n"  # PyYAML's way
        if k % 13 == 7:
            params = "lr: \xff\n"  # not UTF-8: an error cell
        files = {"params.yaml": params.encode("latin-1"),
                 "metrics.json": json.dumps({"acc": k / 100, "loss": 1 - k / 100}).encode()}
        if k % 5 == 0:
            files["metrics.jsonl"] = "".join(json.dumps({"step": s, "val_acc": s * k / 10}) + "\n"
                                             for s in range(3)).encode()
        if k % 9 == 4:
            files["dvclive/metrics.json"] = json.dumps({"f1": k / 50}).encode()
        code = 1 if k % 8 == 3 else 0
        message = (f"git exp run: train {k}\n\nExp-Command: train {k}\nExp-Exit-Code: {code}\n"
                   f"Exp-Duration: {k}.5s\nExp-Executor: host-{k % 3}\n")
        data = message.encode()
        out.append(f"commit refs/exp/{name}\ncommitter T <t@example.com> {when} +0000\n".encode())
        out.append(b"data %d\n" % len(data) + data)
        if k != count - 1:  # the last: a root commit
            out.append(f"from {base}\n".encode())
        for path, payload in files.items():
            out.append(b"M 100644 inline " + path.encode() + b"\n" + b"data %d\n" % len(payload) + payload + b"\n")
        out.append(b"\n")
    return b"".join(out) + b"done\n"


@pytest.fixture
def many(repo):
    base = git(repo, "rev-parse", "HEAD").strip()
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=repo, input=_stream(base, COUNT), check=True)
    blob = git(repo, "hash-object", "-w", "--stdin", input="not a commit\n").strip()
    git(repo, "update-ref", "refs/exp/zz-blob", blob)  # no commit: left out
    git(repo, "update-ref", "refs/remote-exp/origin/e005", git(repo, "rev-parse", "refs/exp/e007").strip())
    for args in (["tag", "e003", "best"], ["note", "e011", "a note"]):
        subprocess.run([sys.executable, "-m", "git_exp", *args], cwd=repo, check=True, capture_output=True)
    return repo


def _show(repo, *args: str, part: str | None = "16", trace: bool = False):
    env = {k: v for k, v in os.environ.items() if k != PART}
    if part:
        env[PART] = part
    if trace:
        env["GIT_TRACE"] = str(repo.parent / "trace")
        (repo.parent / "trace").unlink(missing_ok=True)
    return subprocess.run([sys.executable, "-m", "git_exp", "show", "--json", *args], cwd=repo, env=env,
                          capture_output=True, text=True)


def _diff_trees(repo) -> int:
    return sum("diff-tree" in line and "--stdin" in line for line in (repo.parent / "trace").read_text().splitlines())


def _facts(repo) -> dict:
    """Every section of the facts file: its key and its entries."""
    from git_exp import cache

    where = cache.at(str(repo / ".git"), "")
    found = {}
    for name, (key, _, _) in cache.header(where).items():
        found[name] = (key, cache.load(cache.Where(where.file, name), key))
    return found


def _forget(repo) -> None:
    from git_exp import cache

    cache.clear(str(repo / ".git"))


@pytest.mark.parametrize("args", [[], ["-r"]])
def test_a_part_at_a_time_gives_the_long_ways_bytes_and_facts(many, args):
    _forget(many)
    cold = _show(many, *args, trace=True)
    assert cold.returncode == 0, cold.stderr
    assert _diff_trees(many) >= 8  # one per part of 16: the parts were read apart
    cold_facts = _facts(many)
    _forget(many)
    long = _show(many, *args, part="1000", trace=True)  # below two parts: the long way, every row at once
    assert _diff_trees(many) == 1
    assert (cold.stdout, cold.stderr) == (long.stdout, long.stderr)
    rows = json.loads(cold.stdout)
    assert len(rows) == COUNT + (1 if args else 0) and "zz-blob" not in cold.stdout
    assert [r["created"] for r in rows] == sorted((r["created"] for r in rows), reverse=True)
    assert "9 experiments have unreadable files" in cold.stderr  # the warning, after the text
    assert any(r["tags"] == ["best"] for r in rows) and any(r["note"] == "a note" for r in rows)
    assert any("metrics.val_acc" in r for r in rows) and any("metrics.f1" in r for r in rows)
    assert any(r["baseline"] is None for r in rows)
    long_facts = _facts(many)
    assert set(cold_facts) >= {"heads", "files", "history", "lines"}
    for name in ("heads", "files", "history", "lines"):
        assert cold_facts[name] == long_facts[name], name
    assert not [n for n in os.listdir(many / ".git" / "git-exp") if n != "facts"]  # no part file left


def test_a_warm_run_after_it_reads_the_lines(many):
    _forget(many)
    cold = _show(many)
    warm = _show(many, trace=True)
    assert warm.stdout == cold.stdout and warm.stderr == cold.stderr
    assert _diff_trees(many) == 0


def test_below_two_parts_or_with_params_known_it_is_the_long_way(many):
    _forget(many)
    assert _show(many, part="70", trace=True).returncode == 0
    assert _diff_trees(many) == 1  # 122 listed, fewer than two parts of 70
    from git_exp import cache

    lines = cache.Where(cache.path(str(many / ".git")), "lines")
    key = cache.header(lines)["lines"][0]
    cache.save(lines, {}, key)  # the lines forgotten, the params and metrics kept
    cache.flush()
    assert _show(many, trace=True).returncode == 0
    assert _diff_trees(many) <= 1  # the long way, from the facts' params and metrics


def _in_process(repo, monkeypatch, capfd, fail):
    """``show --json`` in this process with ``_Reader.read`` replaced by one that calls
    ``fail(pid, part)`` first; its exit code, output and errors."""
    from git_exp import cache
    from git_exp.cli import main
    from git_exp.commands import show_cold

    monkeypatch.setenv(PART, "16")
    monkeypatch.chdir(repo)
    real = show_cold._Reader.read

    def read(self, part):
        fail(os.getpid(), part)
        return real(self, part)

    monkeypatch.setattr(show_cold._Reader, "read", read)
    cache.clear(str(repo / ".git"))
    code = main(["show", "--json"])
    captured = capfd.readouterr()
    return code, captured.out, captured.err


def test_a_worker_that_fails_or_dies_leaves_its_parts_to_the_parent(many, monkeypatch, capfd):
    expected = _show(many, part="1000")
    parent = os.getpid()
    readers = many.parent / "readers"

    def record(pid, part):
        with open(readers, "a") as f:
            f.write(f"{pid}\n")

    assert _in_process(many, monkeypatch, capfd, record) == (0, expected.stdout, expected.stderr)
    pids = readers.read_text().split()
    assert len(pids) == 8 and len(set(pids)) == 2 and str(parent) in pids  # the worker read half the parts
    seen = []

    def fail(pid, part):
        seen.append(pid)
        if pid != parent and len(seen) == 2:
            raise RuntimeError("worker fails on its second part")

    assert _in_process(many, monkeypatch, capfd, fail) == (0, expected.stdout, expected.stderr)

    def die(pid, part):
        if pid != parent:
            os.kill(pid, 9)

    assert _in_process(many, monkeypatch, capfd, die) == (0, expected.stdout, expected.stderr)
    assert not [n for n in os.listdir(many / ".git" / "git-exp") if n != "facts"]
    warm = _show(many, trace=True)  # the facts the parent kept are whole
    assert warm.stdout == expected.stdout and _diff_trees(many) == 0


def test_an_error_in_a_part_is_one_line_and_leaves_no_part_or_section(many, monkeypatch, capfd):
    from git_exp.errors import ExpError

    parent = os.getpid()
    reads = []

    def fail(pid, part):
        if pid == parent:
            reads.append(part)
            if len(reads) == 2:  # the third part: the worker has its own under way
                raise ExpError("git cat-file failed: simulated")

    code, out, err = _in_process(many, monkeypatch, capfd, fail)
    assert code != 0 and err.strip().splitlines() == ["git-exp: error: git cat-file failed: simulated"]
    assert not [n for n in os.listdir(many / ".git" / "git-exp") if n != "facts"]
    assert {"files", "history", "lines"}.isdisjoint(_facts(many))  # only the heads, written before


def test_part_files_of_killed_runs_are_removed(many):
    folder = many / ".git" / "git-exp"
    folder.mkdir(exist_ok=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = folder / f"facts.{dead}.files.part"
    live = folder / f"facts.{os.getpid()}.files.part"
    zombie_pid = os.fork()
    if not zombie_pid:
        os._exit(0)  # a zombie until reaped below: a killed worker whose parent died first, under a lax init
    zombie = folder / f"facts.{zombie_pid}.lines.part"
    for path in (stale, live, zombie):
        path.write_bytes(b"junk")
    doctor = subprocess.run([sys.executable, "-m", "git_exp", "doctor"], cwd=many, capture_output=True, text=True)
    assert "2 part files of facts (0 kB) left by an interrupted `git exp show --json`" in doctor.stdout
    assert _show(many).returncode == 0
    assert not stale.exists() and not zombie.exists() and live.exists()  # a live process's part is its own
    os.waitpid(zombie_pid, 0)
    assert subprocess.run([sys.executable, "-m", "git_exp", "gc"], cwd=many, capture_output=True).returncode == 0
    assert not live.exists()


def test_a_shallow_clone_gives_the_long_ways_bytes(many, tmp_path):
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{many}", str(shallow))
    git(shallow, "fetch", "-q", "--depth", "1", "origin", "+refs/exp/*:refs/exp/*")
    assert (shallow / ".git" / "shallow").exists()
    cold = _show(shallow, trace=True)
    assert cold.returncode == 0, cold.stderr
    assert _diff_trees(shallow) >= 8
    _forget(shallow)
    long = _show(shallow, part="1000")
    assert (cold.stdout, cold.stderr) == (long.stdout, long.stderr) and len(json.loads(cold.stdout)) == COUNT
    again = _show(shallow)  # nothing of what git says of commits kept there: the same again
    assert (again.stdout, again.stderr) == (cold.stdout, cold.stderr)
