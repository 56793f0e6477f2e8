import csv
import datetime
import io
import json
import os

import pytest

from git_exp import cache

from .conftest import assert_error, git, write


@pytest.fixture
def three(repo, exp):
    for lr, acc in (("0.1", 0.7), ("0.01", 0.9), ("0.5", 0.4)):
        metrics = json.dumps({"acc": acc, "loss": {"train": 1 - acc}})
        write(repo, {"params.yaml": f"lr: {lr}\nmodel:\n  depth: 3\n", "metrics.json": metrics})
        assert exp("run", "-n", f"lr-{lr}", "--", "true").code == 0
    return repo


def test_show_table_columns_and_sort(three, exp):
    ran = exp("show", "--sort", "-metrics.acc")
    assert ran.code == 0
    lines = ran.out.splitlines()
    assert lines[0].split() == ["metrics", "─" * len(lines[0].split()[1]), "params", "─" * len(lines[0].split()[3])]
    header = lines[1].split()
    assert header == ["name", "created", "status", "acc", "loss.train", "lr", "model.depth",
                      "duration", "exit_code", "baseline", "executor"]
    assert [line.split()[0] for line in lines[2:]] == ["lr-0.01", "lr-0.1", "lr-0.5"]


def test_show_json_where_and_globs(three, exp):
    rows = json.loads(exp("show", "--json", "--where", "metrics.acc > 0.5 and params.lr < 0.2").out)
    assert sorted(r["name"] for r in rows) == ["lr-0.01", "lr-0.1"]
    row = rows[0]
    assert row["exit_code"] == 0 and row["status"] == "ok" and row["command"] == "true"
    assert row["sha"] == git(three, "rev-parse", f"refs/exp/{row['name']}").strip()  # whole id, any format
    assert row["baseline"] == git(three, "rev-parse", f"refs/exp/{row['name']}^").strip()
    assert json.loads(exp("show", "--json", "lr-0.0*").out)[0]["name"] == "lr-0.01"
    assert json.loads(exp("show", "--json", "--where", "name == lr-0.5").out)[0]["params.lr"] == 0.5
    assert json.loads(exp("show", "--json", "--where", "status != 'ok'").out) == []


def test_show_md_and_csv(three, exp):
    md = exp("show", "--md", "--sort", "params.lr").out.splitlines()
    assert md[0].startswith("| name | created |") and md[1].startswith("|---|")
    assert md[2].startswith("| lr-0.01 |")
    rows = list(csv.DictReader(io.StringIO(exp("show", "--csv").out)))
    assert {r["name"]: r["metrics.acc"] for r in rows} == {"lr-0.01": "0.9", "lr-0.1": "0.7", "lr-0.5": "0.4"}
    assert_error(exp("show", "--md", "--csv"), 2, "one of")


def test_show_bad_input(three, exp):
    assert_error(exp("show", "--where", "metrics.acc >"), 2, "--where")
    assert_error(exp("show", "--sort", "nope"), 2, "no column named 'nope'")
    assert_error(exp("show", "nothing-*"), 2, "no experiment matches")


def test_unparsable_file_is_an_error_cell(repo, exp):
    write(repo, {"metrics.json": "{not json", "params.yaml": "lr: [1, 2\n"})
    exp("save", "-n", "broken")
    ran = exp("show", "--json")
    assert ran.code == 0, ran
    row = json.loads(ran.out)[0]
    assert row["metrics"].startswith("error: metrics.json does not parse")
    assert row["params"].startswith("error: params.yaml does not parse")
    assert "error:" in exp("show").out


def test_configured_files_and_toml(repo, exp):
    write(repo, {"conf/train.toml": "[opt]\nlr = 0.3\n", "out/scores.yaml": "f1: 0.8\n"})
    git(repo, "config", "--add", "exp.params", "conf/train.toml")
    git(repo, "config", "--add", "exp.metrics", "out/scores.yaml")
    exp("save", "-n", "cfg")
    row = json.loads(exp("show", "--json").out)[0]
    assert row["params.opt.lr"] == 0.3 and row["metrics.f1"] == 0.8
    assert "params.lr" not in row  # the defaults are not read when config names files


def test_ls_and_json(three, exp):
    ran = exp("ls")
    lines = ran.out.splitlines()
    assert lines[0].split() == ["sha", "baseline", "age", "exit_code", "name"]
    assert [line.split()[-1] for line in lines[1:]] == ["lr-0.01", "lr-0.1", "lr-0.5"]
    assert len({line.index(line.split()[-1]) for line in lines}) == 1  # every name starts in one column
    data = json.loads(exp("ls", "--json").out)
    assert {d["name"] for d in data} == {"lr-0.01", "lr-0.1", "lr-0.5"}
    for row in data:  # ISO 8601 in UTC, as datetime writes it
        when = int(git(three, "log", "-1", "--format=%ct", row["sha"]))
        assert row["created"] == datetime.datetime.fromtimestamp(when, datetime.timezone.utc).isoformat()


def test_ls_empty(repo, exp):
    ran = exp("ls")
    assert ran.code == 0 and ran.out == ""
    assert json.loads(exp("ls", "--json").out) == []


def test_diff(three, exp):
    ran = exp("diff", "lr-0.1", "lr-0.5", "--json")
    data = json.loads(ran.out)
    changes = {c["key"]: (c["a"], c["b"]) for c in data["changes"]}
    assert changes == {"params.lr": (0.1, 0.5), "metrics.acc": (0.7, 0.4), "metrics.loss.train": (pytest.approx(0.3), pytest.approx(0.6))}
    against_baseline = json.loads(exp("diff", "lr-0.1", "--json").out)
    keys = {c["key"] for c in against_baseline["changes"]}
    assert keys == {"metrics.acc", "metrics.loss.train", "params.model.depth"}  # baseline has lr 0.1 and no metrics
    text = exp("diff", "lr-0.1", "lr-0.5", "--stat").out
    assert "params.lr" in text and "metrics.json" in text and "params.yaml" in text
    assert_error(exp("diff", "nope"), 2, "no experiment named 'nope'")
    assert_error(exp("diff", "lr-0.1", "nope"), 2, "no experiment or commit named 'nope'")
    same = exp("diff", "lr-0.1", "lr-0.1")
    assert same.code == 0 and "no params or metrics differ" in same.err


@pytest.mark.parametrize("parts", [1, 3])
def test_ls_records_match_what_git_says_of_each_ref(repo, exp, monkeypatch, parts):
    """Each ref's row is what git says of its commit, whichever log read it: first parent
    (or none for a root commit), committer time, the last Exp-Exit-Code trailer (none
    when absent or not a number); refs to the same commit each get a row, refs to
    non-commits none, remote-tracking ones only with -r."""
    from git_exp.commands import ls
    from git_exp.repo import Repo

    monkeypatch.setattr(ls, "PARTS", parts)
    monkeypatch.setattr(ls, "PART_MIN", 1)
    head = git(repo, "rev-parse", "HEAD").strip()
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()

    def commit(message, *parents, when="1700000000"):
        args = ["commit-tree", tree, *[a for p in parents for a in ("-p", p)], "-m", message]
        env = {"GIT_COMMITTER_DATE": f"{when} +0000"}
        return git(repo, *args, env=env).strip()

    made = {
        "ok": commit("run\n\nExp-Exit-Code: 0", head),
        "failed": commit("run\n\nExp-Command: x\nExp-Exit-Code: 1\nExp-Exit-Code: -9", head, when="1700000500"),
        "odd": commit("run\n\nExp-Exit-Code: soon", head),
        "saved": commit("just a message", head),
        "root": commit("root\n\nExp-Exit-Code: 3"),
        "merge": commit("merge\n\nExp-Exit-Code: 2", head, commit("other", head)),
    }
    for name, sha in made.items():
        git(repo, "update-ref", f"refs/exp/{name}", sha)
    git(repo, "update-ref", "refs/exp/same-as-ok", made["ok"])
    git(repo, "update-ref", "refs/exp/a-blob", git(repo, "hash-object", "-w", "README").strip())
    git(repo, "update-ref", "refs/remote-exp/origin/ok", made["ok"])
    want = {"ok": 0, "failed": -9, "odd": None, "saved": None, "root": 3, "merge": 2, "same-as-ok": 0}
    rows = ls.rows(ls.records(Repo(repo)))
    assert [r[0] for r in rows] == sorted(want)
    for name, remote, sha, baseline, created, code in rows:
        truth = git(repo, "log", "-1", "--format=%P %ct", sha).split()
        assert remote is None and sha == (made.get(name) or made["ok"])
        assert baseline == (truth[0] if len(truth) > 1 else None), name
        assert created == int(truth[-1]) and code == want[name], name
    cache.flush()  # what a command does as it ends
    assert "commits" in cache.sections(os.path.join(repo, ".git"))
    read_again = []
    monkeypatch.setattr(ls, "_facts", lambda _repo, shas, known: read_again.append(shas) or iter(()))
    assert ls.rows(ls.records(Repo(repo))) == rows and read_again == []  # every object from the cache
    with_remote = ls.rows(ls.records(Repo(repo), remotes=True))
    assert with_remote[-1][:3] == ("ok", "origin", made["ok"]) and len(with_remote) == len(rows) + 1
    table = exp("ls", cwd=repo).out.splitlines()
    assert [line.split()[-1] for line in table[1:]] == sorted(want)
    assert any(line.split()[1] == "(root)" for line in table[1:])


def test_show_rows_from_the_commit_cache_are_the_rows_read_from_git(three, exp, monkeypatch):
    """A second show reads the commits' fields from the facts' heads, not from git, and gets
    the same rows, for local and remote-tracking experiments alike; a ref to an object
    that is no commit stays out either way; a new experiment is read and added."""
    from git_exp import rows as rows_
    from git_exp.repo import Repo

    head = git(three, "rev-parse", "refs/exp/lr-0.1").strip()
    git(three, "update-ref", "refs/remote-exp/origin/lr-0.1", head)
    git(three, "update-ref", "refs/exp/a-blob", git(three, "hash-object", "-w", "params.yaml").strip())
    cold = {remotes: rows_.load(Repo(three), remotes=remotes) for remotes in (False, True)}
    assert [r["name"] for r in cold[False]] == ["lr-0.01", "lr-0.1", "lr-0.5"]
    assert [(r["remote"], r["name"]) for r in cold[True]][-1] == ("origin", "lr-0.1")
    with monkeypatch.context() as patched:
        patched.setattr(Repo, "each", lambda *a, **k: pytest.fail("read the commits again"))
        for remotes in (False, True):
            assert rows_.load(Repo(three), remotes=remotes) == cold[remotes]
    write(three, {"params.yaml": "lr: 0.7\n"})
    assert exp("save", "-n", "late").code == 0
    warm = rows_.load(Repo(three))
    assert [r["name"] for r in warm] == ["late", "lr-0.01", "lr-0.1", "lr-0.5"] and warm[1:] == cold[False]
    assert warm[0]["status"] == "saved" and warm[0]["sha"] == git(three, "rev-parse", "refs/exp/late").strip()


def test_show_json_from_the_lines_cache_is_what_the_rows_give(repo, exp, monkeypatch):
    """From 101 rows on, a second show --json writes each row's line from the facts' lines
    without building rows: byte for byte what the long way wrote, with -r (patterns that
    select a few, ``rows.FEW``, read those alone, and write the same);
    a new experiment, or another file list, sends show the long way again."""
    from git_exp.commands import show as show_
    from tests.bench.fixtures import git_exp_commits, import_commits

    head = git(repo, "rev-parse", "HEAD").strip()
    import_commits(repo, os.environ, head, git_exp_commits(250)(head))
    git(repo, "update-ref", "refs/remote-exp/origin/ci/001", git(repo, "rev-parse", "refs/exp/ci/001").strip())
    asked = [(), ("-r",), ("sweep/*",), ("ci/*", "sweep/lr-00?")]
    cold = {args: exp("show", "--json", *args).out for args in asked}
    rows = json.loads(cold[("-r",)])
    tracking = [row for row in rows if row["remote"]]
    assert len(rows) == 251 and len(tracking) == 1 and tracking[0]["params.seed"] == 2
    assert [row["created"] for row in rows] == sorted((row["created"] for row in rows), reverse=True)
    assert cold[("-r",)].count("\n") == 253 and len(json.loads(cold[("sweep/*",)])) == 125

    from git_exp import cache as cache_
    from git_exp.present import show as present_show

    with monkeypatch.context() as patched:  # written in pieces of 7 rows: the same text, the same lines kept
        patched.setattr(present_show, "STREAM_ROWS", 7)
        cache_.clear(os.path.join(repo, ".git"))
        assert exp("show", "--json", "-r").out == cold[("-r",)]

    def long_way(*args, **kwargs):
        raise AssertionError("show built the rows")

    with monkeypatch.context() as patched:
        patched.setattr(show_, "show", long_way)
        for args in asked[:2]:
            assert exp("show", "--json", *args).out == cold[args], args
    for args in asked[2:]:  # a few (rows.FEW) selected by name: read alone, without the caches, the same
        assert exp("show", "--json", *args).out == cold[args], args
    write(repo, {"params.yaml": "lr: 0.7\n"})
    assert exp("save", "-n", "late").code == 0
    later = json.loads(exp("show", "--json").out)
    assert sorted(r["name"] for r in later) == sorted([r["name"] for r in rows if not r["remote"]] + ["late"])
    assert later[0]["name"] == "late"  # newest first
    assert {r["name"]: r for r in later}["late"]["params.lr"] == 0.7
    git(repo, "config", "exp.params", "missing.yaml")
    assert all("params.lr" not in r for r in json.loads(exp("show", "--json").out))


def test_rows_read_by_logs_are_the_rows_for_each_ref_gives(repo, monkeypatch):
    """Many unknown commits are read by git logs side by side (``rows._read_logs``): the
    rows are those the ``for-each-ref`` of subjects and trailers gives, for every kind of
    ref — several per commit, a merge, a root, multi-line subjects and trailers, refs to a
    blob, a tree and an annotated tag (no row), remote-tracking ones with ``remotes``."""
    from git_exp import cache as cache_
    from git_exp import rows as rows_
    from git_exp.repo import Repo

    head = git(repo, "rev-parse", "HEAD").strip()
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()

    def commit(message, *parents):
        return git(repo, "commit-tree", tree, *[a for p in parents for a in ("-p", p)], "-m", message).strip()

    made = [commit(f"run {i}\n\nExp-Exit-Code: {i % 3}\nExp-Status: {'ok' if i % 2 else 'failed'}\n"
                   f"Exp-Command: train --lr {i}", head) for i in range(23)]
    made += [commit("a subject\non two lines\n\nbody\n\nExp-Duration: 1.5s\nExp-Executor: ci", head),
             commit("merge\n\nExp-Exit-Code: 2", head, made[0]), commit("root\n\nExp-Exit-Code: 3")]
    lines = [f"update refs/exp/e{i:02d} {sha}\n" for i, sha in enumerate(made)]
    lines += [f"update refs/exp/same/{i} {made[i]}\n" for i in range(3)]
    lines += [f"update refs/remote-exp/origin/r{i} {made[-i]}\n" for i in range(1, 4)]
    blob = git(repo, "hash-object", "-w", "README").strip()
    tag = git(repo, "mktag", input=f"object {made[1]}\ntype commit\ntag t\ntagger T <t@x> 1700000000 +0000\n\nt\n").strip()
    lines += [f"update refs/exp/a-blob {blob}\n", f"update refs/exp/a-tree {tree}\n", f"update refs/exp/a-tag {tag}\n"]
    git(repo, "update-ref", "--stdin", input="".join(lines))
    for remotes in (False, True):
        cache_.clear(str(repo / ".git"))
        monkeypatch.setattr(rows_, "LOGS_FROM", 10**9)
        by_ref = rows_.load(Repo(repo), remotes=remotes)
        cache_.clear(str(repo / ".git"))
        monkeypatch.setattr(rows_, "LOGS_FROM", 1)
        monkeypatch.setattr(rows_, "LOG_PART", 4)  # 8 logs, two at a time
        by_log = rows_.load(Repo(repo), remotes=remotes)
        assert by_log == by_ref and len(by_ref) == 29 + 3 * remotes
        assert rows_.load(Repo(repo), remotes=remotes) == by_ref  # from the facts
    assert {row["name"] for row in by_ref} >= {"e00", "e23", "e24", "e25", "same/2", "r1"} and \
        not {"a-blob", "a-tree", "a-tag"} & {row["name"] for row in by_ref}
