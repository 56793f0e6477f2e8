"""Hostile params and metrics files (a remote can send any): each becomes an error cell
for its experiment, the others show as usual, and memory stays bounded.

The files are committed with real git (fast-import, or hash-object for a blob too large
to hold in a test), under refs/exp/ as a fetch from a remote would leave them.
"""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from git_exp import results
from tests.bench.fixtures import import_commits

from .conftest import assert_error, git

ROOT = Path(__file__).resolve().parent.parent


def yaml_bomb(levels: int = 9, width: int = 9) -> str:
    """Billion laughs: each anchor a list of ``width`` aliases to the one before (9 x 9:
    81 aliases, 387 million values expanded)."""
    text = "a0: &a0 [" + ", ".join(['"lol"'] * width) + "]\n"
    for level in range(1, levels):
        text += f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]\n"
    return text


def merge_bomb(levels: int = 9, width: int = 9) -> str:
    """The same through merge keys: PyYAML copies the merged pairs into each mapping."""
    text = "m0: &m0 {" + ", ".join(f"k{i}: 1" for i in range(width)) + "}\n"
    for level in range(1, levels):
        text += f"m{level}: &m{level} {{<<: [" + ", ".join([f"*m{level - 1}"] * width) + "]}\n"
    return text


HOSTILE = {  # experiment: (its files, the start of its error cell's reason)
    "bomb": ({"params.yaml": yaml_bomb()}, "params.yaml holds more than 10000 values once its aliases are expanded"),
    "merge-bomb": ({"params.yaml": merge_bomb()}, "params.yaml holds more than 10000 values once its aliases"),
    "self-alias": ({"params.yaml": "a: &a {b: *a}\n"}, "params.yaml has an alias to a node that holds it"),
    "deep-json": ({"metrics.json": "[" * 100_000 + "]" * 100_000}, "metrics.json is nested deeper than 100 levels"),
    "deep-json-dict": ({"metrics.json": '{"a": ' * 500 + "1" + "}" * 500}, "metrics.json is nested deeper than 100"),
    "deep-yaml": ({"params.yaml": "".join("  " * i + f"k{i}:\n" for i in range(150)) + "  " * 150 + "x\n"},
                  "params.yaml is nested deeper than 100 levels"),
    "deep-toml": ({"params.toml": "a = " + "[" * 300 + "]" * 300 + "\n"}, "params.toml is nested deeper than 100"),
    "big": ({"metrics.json": json.dumps({"blob": "x" * (2 << 20)})},
            "metrics.json is too large (2 MiB > 1 MiB, exp.maxFileSize)"),
    "wide": ({"metrics.json": json.dumps({f"k{i}": i for i in range(20_000)})},
             "metrics.json holds more than 10000 values"),
    "long-list": ({"metrics.json": json.dumps({"steps": [[1, 2]] * 6_000})}, "metrics.json holds more than 10000"),
    "latin-1": ({"params.yaml": "lr: 0.1\nname: caf\xe9\n".encode("latin-1")}, "params.yaml is not UTF-8"),
    "digits": ({"metrics.json": '{"n": ' + "7" * 100_000 + "}"}, "metrics.json holds a number too long to read"),
    "broken": ({"params.yaml": "lr: [1, 2\n"}, "params.yaml does not parse (ParserError)"),
}


def encoded(files: dict) -> dict:
    return {path: text if isinstance(text, bytes) else text.encode() for path, text in files.items()}


@pytest.fixture
def hostile(repo):
    """``repo`` with experiment ``good`` (lr 0.2, acc 0.9) and one per HOSTILE entry,
    whose other files are good."""
    head = git(repo, "rev-parse", "HEAD").strip()
    good = {"params.yaml": b"lr: 0.2\n", "metrics.json": b'{"acc": 0.9}'}
    import_commits(repo, os.environ, head, [
        ("refs/exp/good", "git exp save", good),
        *((f"refs/exp/{name}", "git exp save", {**good, **encoded(files)}) for name, (files, _) in HOSTILE.items())])
    return repo


def by_name(rows):
    return {row["name"]: row for row in rows}


def test_each_hostile_file_is_an_error_cell_and_the_rest_shows(hostile, exp):
    ran = exp("show", "--json", "--sort", "name")  # the warning names the first rows
    assert ran.code == 0, ran
    rows = by_name(json.loads(ran.out))
    assert rows["good"]["params.lr"] == 0.2 and rows["good"]["metrics.acc"] == 0.9 and "errors" not in rows["good"]
    for name, (files, why) in HOSTILE.items():
        row = rows[name]
        assert len(row["errors"]) == 1 and row["errors"][0].startswith(why), (name, row["errors"])
        kind = next(iter(files)).split(".")[0]
        assert row[kind] == "error: " + row["errors"][0]
        still = {key for path, key in (("params.yaml", "params.lr"), ("metrics.json", "metrics.acc")) if path not in files}
        assert {key for key in row if key.startswith(("params.", "metrics."))} == still, name  # the good files read
    warning = ran.err.strip().splitlines()
    assert len(warning) == 1, ran.err
    assert warning[0].startswith(f"git-exp: warning: {len(HOSTILE)} experiments have unreadable files, "
                                 "shown as error cells: 'big': metrics.json is too large (2 MiB > 1 MiB")
    assert warning[0].endswith(f"; and {len(HOSTILE) - 3} more")


def test_error_cells_in_the_table_markdown_and_csv(hostile, exp):
    table = exp("show")
    assert table.code == 0 and table.err.startswith("git-exp: warning: ")
    lines = {line.split()[0]: line for line in table.out.splitlines()[1:]}
    assert "error:" not in lines["good"] and "0.2" in lines["good"] and "0.9" in lines["good"]
    assert "error: params.yaml holds more than 10000 values once its aliases are expanded" in lines["bomb"]
    assert "error: metrics.json is too large (2 MiB > 1 MiB, exp.maxFileSize)" in lines["big"]
    md = {line.split(" | ")[0]: line for line in exp("show", "--md").out.splitlines()[2:]}
    assert "error: params.yaml is not UTF-8" in md["| latin-1"] and "error" not in md["| good"]
    rows = by_name(csv.DictReader(io.StringIO(exp("show", "--csv").out)))
    assert rows["deep-json"]["metrics"] == "error: metrics.json is nested deeper than 100 levels"
    assert rows["good"]["metrics"] == "" and rows["good"]["metrics.acc"] == "0.9"
    assert exp("show", "good").err == ""  # no warning when the rows shown read well


def test_diff_shows_the_error_cell_and_warns(hostile, exp):
    ran = exp("diff", "bomb", "good")
    assert ran.code == 0
    assert ran.err == ("git-exp: warning: unreadable files, shown as error cells: "
                       "'bomb': params.yaml holds more than 10000 values once its aliases are expanded\n")
    lines = ran.out.splitlines()
    assert lines[1].split()[:2] == ["params", "error:"] and lines[2].split() == ["params.lr", "-", "0.2"]
    data = json.loads(exp("diff", "big", "--json").out)
    assert data["errors"] == {"a": ["metrics.json is too large (2 MiB > 1 MiB, exp.maxFileSize)"]}
    assert {c["key"] for c in data["changes"]} == {"metrics", "params.lr"}  # the baseline: lr 0.1, no metrics
    assert json.loads(exp("diff", "good", "--json").out)["errors"] == {}


MEASURE = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out, open(sys.argv[2], "wb") as err:
    code = subprocess.run(sys.argv[3:], stdout=out, stderr=err, timeout=60).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measured(cwd: Path, *args: str, tmp_path: Path) -> tuple[int, int, str, str]:
    """Run ``git exp ARGS`` from this checkout in a fresh process: exit code, peak RSS in
    MB (of it and the gits it started), stdout, stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out, err = tmp_path / "out", tmp_path / "err"
    ran = subprocess.run([sys.executable, "-c", MEASURE, out, err, sys.executable, "-m", "git_exp", *args],
                         cwd=cwd, env=env, capture_output=True, text=True, timeout=90)
    code, rss = ran.stdout.split()
    return int(code), int(rss) // 1024, out.read_text(), err.read_text()


@pytest.mark.parametrize("args", [("show",), ("show", "--json"), ("show", "--md"), ("diff", "bomb", "good"),
                                  ("diff", "merge-bomb")])
def test_memory_stays_bounded(hostile, tmp_path, args):
    code, rss, out, err = measured(hostile, *args, tmp_path=tmp_path)
    assert code == 0, err
    assert "error: params.yaml holds more than 10000 values once its aliases" in out
    assert err.startswith("git-exp: warning: ")
    assert rss < 200, f"peak RSS {rss} MB"


def test_a_blob_over_the_limit_is_never_read(repo, tmp_path):
    """A 64 MB metrics.json (small once compressed, as a remote would send it): its size
    comes from cat-file --batch-check and its content stays in git (show's peak RSS is
    ~15 MB here; reading the blob would hold it at least once)."""
    size = 64 << 20
    writer = subprocess.Popen(["git", "hash-object", "-w", "--stdin"], cwd=repo, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    zeros = b"0" * (1 << 20)
    for _ in range(size >> 20):
        writer.stdin.write(zeros)
    blob = writer.communicate()[0].decode().strip()
    tree = git(repo, "mktree", input=git(repo, "ls-tree", "HEAD") + f"100644 blob {blob}\tmetrics.json\n").strip()
    commit = git(repo, "commit-tree", tree, "-p", "HEAD", "-m", "git exp save").strip()
    git(repo, "update-ref", "refs/exp/huge", commit)
    code, rss, out, err = measured(repo, "show", "--json", tmp_path=tmp_path)
    assert code == 0, err
    assert json.loads(out)[0]["errors"] == ["metrics.json is too large (64 MiB > 1 MiB, exp.maxFileSize)"]
    assert rss < 50, f"peak RSS {rss} MB: the blob was read"
    assert [oid for oid, _ in results._read_blobs(results.Repo(str(repo)), {blob}, {}, 1 << 20)] == []


def test_max_file_size_config_and_the_caches_follow_it(repo, exp):
    """Over 100 experiments, so rows and lines come from the caches once warm; raising
    exp.maxFileSize reads the large file, and the caches do not answer with the old error."""
    head = git(repo, "rev-parse", "HEAD").strip()
    big = json.dumps({"size": "x" * (1 << 20)}).encode()
    import_commits(repo, os.environ, head, [
        *((f"refs/exp/e{i:03d}", "git exp save", {"metrics.json": b'{"acc": %d}' % i}) for i in range(110)),
        ("refs/exp/big", "git exp save", {"metrics.json": big})])
    cold = exp("show", "--json")
    assert cold.err.startswith("git-exp: warning: 1 experiment has unreadable files, shown as error cells: "
                               "'big': metrics.json is too large (1048588 bytes > 1048576 bytes, exp.maxFileSize)")
    warm = exp("show", "--json")  # the facts' lines
    assert (warm.out, warm.err) == (cold.out, cold.err)
    assert exp("show").err == cold.err  # the facts' files
    git(repo, "config", "exp.maxFileSize", "2M")
    rows = by_name(json.loads(exp("show", "--json").out))
    assert rows["big"]["metrics.size"] == "x" * (1 << 20) and "errors" not in rows["big"]
    assert exp("show", "--json").err == ""
    git(repo, "config", "exp.maxFileSize", "512k")
    assert by_name(json.loads(exp("show", "--json").out))["big"]["errors"] == [
        "metrics.json is too large (1 MiB > 512 KiB, exp.maxFileSize)"]
    git(repo, "config", "exp.maxFileSize", "lots")
    assert_error(exp("show"), 2, "exp.maxFileSize is not a size: 'lots'", "1m")
    git(repo, "config", "--unset", "exp.maxFileSize")
    assert by_name(json.loads(exp("show", "--json").out))["e007"]["metrics.acc"] == 7  # nothing lost


def test_aliases_and_merge_keys_within_the_limits_read_as_pyyaml_reads_them(repo, exp):
    head = git(repo, "rev-parse", "HEAD").strip()
    shared = ("base: &base {lr: 0.1, opt: {name: adam, betas: [0.9, 0.99]}}\n"
              "run: {<<: *base, lr: 0.2}\nsame: *base\nlayers: &l [64, 64]\nalso: *l\nglob: '*.txt'\n")
    large = "".join(f"k{i}: {{a: {i}, b: [1, 2]}}\n" for i in range(1500))  # 40 KiB: the counting loader
    import_commits(repo, os.environ, head, [("refs/exp/shared", "x", {"params.yaml": shared.encode()}),
                                            ("refs/exp/large", "x", {"params.yaml": large.encode()})])
    rows = by_name(json.loads(exp("show", "--json").out))
    for name, text in (("shared", shared), ("large", large)):
        expected = {}
        results.flatten(yaml.safe_load(text), "params", expected)
        assert {k: v for k, v in rows[name].items() if k.startswith("params")} == expected
    assert rows["shared"]["params.run.lr"] == 0.2 and rows["shared"]["params.run.opt.name"] == "adam"


def test_flatten_counts_shared_and_cyclic_references_as_expanded():
    """Objects built with sharing (as a YAML loader builds aliases) cost flatten no more
    than MAX_VALUES, and a cycle stops at MAX_DEPTH."""
    level = {f"k{i}": 1 for i in range(9)}
    for _ in range(8):
        level = {f"k{i}": level for i in range(9)}  # 9 ** 9 leaves once expanded
    with pytest.raises(results.Unreadable, match="holds more than 10000 values"):
        results.flatten(level, "params", {}, "params.yaml")
    items = ["x"] * 9
    for _ in range(8):
        items = [items] * 9
    with pytest.raises(results.Unreadable, match="holds more than 10000 values"):
        results.flatten({"a": items}, "params", {}, "params.yaml")
    cycle: dict = {}
    cycle["self"] = cycle
    with pytest.raises(results.Unreadable, match="nested deeper than 100 levels"):
        results.flatten(cycle, "params", {}, "params.yaml")
    loop: list = []
    loop.append(loop)
    with pytest.raises(results.Unreadable, match="nested deeper than 100 levels"):
        results.flatten({"a": loop}, "params", {}, "params.yaml")


def test_a_bomb_pulled_from_a_remote_is_an_error_cell_locally_and_remote_tracking(hostile, tmp_path, exp):
    """What a remote sends: pulled with `git exp pull`, then shown local and with -r."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(hostile, "push", "-q", str(remote), "refs/exp/bomb:refs/exp/bomb", "refs/exp/good:refs/exp/good", "main")
    laptop = tmp_path / "laptop"
    git(tmp_path, "clone", "-q", str(remote), str(laptop))
    assert exp("pull", "origin", "--all", cwd=laptop).code == 0
    ran = exp("show", "--json", "-r", cwd=laptop)
    assert ran.code == 0
    rows = {(row["remote"], row["name"]): row for row in json.loads(ran.out)}
    for owner in (None, "origin"):
        assert rows[(owner, "bomb")]["params"].startswith("error: params.yaml holds more than 10000 values")
        assert rows[(owner, "good")]["params.lr"] == 0.2
    assert ran.err.startswith("git-exp: warning: 2 experiments have unreadable files, shown as error cells: "
                              "'bomb': params.yaml holds more")
    assert "'origin/bomb': params.yaml" in ran.err
