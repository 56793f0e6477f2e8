"""Metric histories: DVCLive's layout, metrics.jsonl and exp.history, read from real
experiment commits; `show` (latest values, --best), `history` (text, --json, --csv) and
`history.read`, the interface the report draws curves from; the limits on what is read.

The files are written here the way DVCLive writes them (`timestamp`, `step`, value,
tab-separated, a header; `metrics.json` the latest values with `step`), so the tests
need no dvclive; every expected value is computed from the series the test wrote.
"""
from __future__ import annotations

import csv
import io
import json
import os

import pytest

from git_exp import cache, history
from git_exp.repo import Repo

from .conftest import assert_error, exp_refs, git, write


def dvclive_files(series: dict[str, list[float]], *, summary: bool = True) -> dict[str, str]:
    """DVCLive's files for ``{"train/loss": [values by step], ...}``."""
    files = {}
    for name, values in series.items():
        column = name.rsplit("/", 1)[-1]
        rows = "".join(f"{1700000000000 + step}\t{step}\t{value}\n" for step, value in enumerate(values))
        files[f"dvclive/plots/metrics/{name}.tsv"] = f"timestamp\tstep\t{column}\n" + rows
    if summary:
        latest: dict = {"step": max(len(v) for v in series.values()) - 1}
        for name, values in series.items():
            node = latest
            *parents, leaf = name.split("/")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = values[-1]
        files["dvclive/metrics.json"] = json.dumps(latest)
    return files


RUNS = {
    "r1": {"acc": [0.2, 0.6, 0.5], "train/loss": [0.9, 0.4, 0.6]},
    "r2": {"acc": [0.3, 0.4, 0.8, 0.7], "train/loss": [0.8, 0.3, 0.35, 0.5]},
}


@pytest.fixture
def dvclive(repo, exp):
    for name, series in RUNS.items():
        git(repo, "rm", "-rq", "--ignore-unmatch", "dvclive")
        write(repo, dvclive_files(series))
        assert exp("save", "-n", name).code == 0
    return repo


def column(name: str) -> str:
    return "metrics." + name.replace("/", ".")


def test_show_has_the_latest_value_and_best_step(dvclive, exp):
    rows = {r["name"]: r for r in json.loads(exp("show", "--json").out)}
    for name, series in RUNS.items():
        for metric, values in series.items():
            assert rows[name][column(metric)] == values[-1]
        assert "metrics.step" not in rows[name]  # DVCLive's step is no metric
    best = {r["name"]: r for r in json.loads(exp("show", "--json", "--best", "metrics.acc").out)}
    for name, series in RUNS.items():
        values = series["acc"]
        assert (best[name]["metrics.acc"], best[name]["best_step"]) == (max(values), values.index(max(values)))
    for spec in ("-metrics.train.loss", "min:train.loss"):
        ran = exp("show", "--json", "--best", spec)
        assert ran.code == 0, ran
        low = {r["name"]: r for r in json.loads(ran.out)}
        for name, series in RUNS.items():
            values = series["train/loss"]
            assert (low[name]["metrics.train.loss"], low[name]["best_step"]) == (min(values), values.index(min(values)))
    header = exp("show", "--best", "metrics.acc").out.splitlines()[1].split()  # under the metrics/params row
    assert header[header.index("acc") + 1] == "best_step"
    winner = max(RUNS, key=lambda n: max(RUNS[n]["acc"]))
    assert exp("show", "--best", "acc", "--sort", "-metrics.acc").out.splitlines()[2].split()[0] == winner


def test_best_of_a_metric_without_history_is_refused(dvclive, exp):
    assert_error(exp("show", "--best", "metrics.nope"), 2, "no experiment shown has a history of 'metrics.nope'",
                 "metrics.acc")
    assert_error(exp("show", "--best", "metrics.*"), 2, "--best takes one metric")


def test_history_text_json_csv(dvclive, exp):
    ran = exp("history", "r1", "r2", "metrics.acc")
    assert ran.code == 0, ran
    lines = ran.out.splitlines()
    assert lines[0] == "metrics.acc" and lines[1].split() == ["step", "r1", "r2"]
    longest = max(len(s["acc"]) for s in RUNS.values())
    assert len(lines) == 2 + longest
    for step in range(longest):
        cells = lines[2 + step].split()
        expected = [str(step)] + [str(RUNS[n]["acc"][step]) for n in ("r1", "r2") if step < len(RUNS[n]["acc"])]
        assert cells == expected
    records = json.loads(exp("history", "r1", "r2", "--json").out)
    for record in records:
        assert record["sha"] == exp_refs(dvclive)[record["name"]]
        assert record["metrics"] == {m.replace("/", "."): [[i, v] for i, v in enumerate(vals)]
                                     for m, vals in RUNS[record["name"]].items()}
    table = list(csv.DictReader(io.StringIO(exp("history", "r*", "--csv", "metrics.train.*").out)))
    assert {(r["experiment"], r["metric"], int(r["step"]), float(r["value"])) for r in table} == \
        {(n, "train.loss", i, v) for n, s in RUNS.items() for i, v in enumerate(s["train/loss"])}


def test_history_arguments(dvclive, exp):
    assert_error(exp("history", "r1", "acc"), 2, "no experiment named 'acc'")
    assert_error(exp("history", "r1", "train.loss"), 2, "a metric is written metrics.NAME")
    assert_error(exp("history", "r1", "metrics.nope"), 2, "no history of 'metrics.nope'", "metrics.acc")
    assert_error(exp("history"), 2, "name at least one experiment")
    assert_error(exp("history", "zz*"), 2, "no experiment matches 'zz*'")


def test_read_is_the_interface_for_curves(dvclive):
    repo = Repo(dvclive)
    shas = exp_refs(dvclive)
    got = history.read(repo, [shas["r1"], shas["r2"]])
    assert got == {shas[n]: {m.replace("/", "."): list(enumerate(v)) for m, v in s.items()} for n, s in RUNS.items()}
    assert history.read(repo, [shas["r1"]], metrics=["metrics.acc"]) == {shas["r1"]: {"acc": list(enumerate(RUNS["r1"]["acc"]))}}


def test_jsonl_steps_nesting_nan_and_a_line_being_written(repo, exp):
    lines = ['{"step": 0, "loss": 1.5, "val": {"acc": 0.1}, "phase": "warmup", "ok": true, "timestamp": 5}',
             '{"step": 10, "loss": NaN, "val": {"acc": 0.4}}',
             '{"step": 20, "loss": 0.5}',
             '{"step": 30, "loss": 0.']  # cut: still being written
    write(repo, {"metrics.jsonl": "\n".join(lines)})
    exp("save", "-n", "j")
    record = json.loads(exp("history", "j", "--json").out)[0]
    assert record["metrics"] == {"loss": [[0, 1.5], [10, None], [20, 0.5]], "val.acc": [[0, 0.1], [10, 0.4]]}
    assert "nan" in exp("history", "j", "metrics.loss").out.splitlines()[3].split()
    row = json.loads(exp("show", "--json", "j").out)[0]
    assert (row["metrics.loss"], row["metrics.val.acc"]) == (0.5, 0.4)
    assert "metrics.phase" not in row and "metrics.ok" not in row
    write(repo, {"metrics.jsonl": '{"a": 1}\n{"a": 2}\n{"a": 4}\n'})  # no step: the line's index
    exp("save", "-n", "nostep")
    assert json.loads(exp("history", "nostep", "--json").out)[0]["metrics"] == {"a": [[0, 1], [1, 2], [2, 4]]}


@pytest.mark.parametrize("content, why", [
    (b'{"a": 1}\nnot json\n{"a": 2}\n', "metrics.jsonl does not parse on line 2"),
    (b'{"a": 1}\n[1, 2]\n', "metrics.jsonl line 2 is not a JSON object"),
    (b'{"a": 1, "step": "x"}\n', "metrics.jsonl has a step that is not a number on line 1"),
    (b'{"a": "\xff"}\n', "metrics.jsonl is not UTF-8"),
])
def test_an_unreadable_history_is_an_error_cell_and_a_warning(repo, exp, content, why):
    write(repo, {"metrics.jsonl": content, "metrics.json": '{"acc": 0.5}'})
    exp("save", "-n", "bad")
    ran = exp("show", "--json")
    assert ran.code == 0, ran
    row = json.loads(ran.out)[0]
    assert row["metrics.acc"] == 0.5 and why in row["errors"][0]
    assert "warning: 1 experiment has unreadable files" in ran.err and why in ran.err
    ran = exp("history", "bad")
    assert ran.code == 0 and why in ran.err and "no metric history in bad" in ran.err


def test_limits(repo, exp, monkeypatch):
    write(repo, {"metrics.jsonl": "".join(json.dumps({"step": i, "x": i / 10}) + "\n" for i in range(50))})
    exp("save", "-n", "long")
    monkeypatch.setattr(history, "MAX_ROWS", 20)
    monkeypatch.setattr(cache, "VERSION", cache.VERSION + 100)  # limits changed: cache anew
    ran = exp("history", "long")
    assert "metrics.jsonl holds more than 20 steps" in ran.err and "no metric history in long" in ran.err
    git(repo, "config", "exp.maxFileSize", "100")
    ran = exp("show", "--json", "long")
    assert "metrics.jsonl is too large" in json.loads(ran.out)[0]["errors"][0]
    git(repo, "config", "--unset", "exp.maxFileSize")
    monkeypatch.setattr(history, "MAX_FILES", 3)
    (repo / "metrics.jsonl").unlink()
    write(repo, {f"dvclive/plots/metrics/m{i}.tsv": "step\tv\n0\t1\n" for i in range(5)})
    exp("save", "-n", "many")
    ran = exp("history", "many", "--json")
    record = json.loads(ran.out)[0]
    assert len([m for m in record["metrics"] if m.startswith("m")]) == 3
    assert "more than 3 history files" in record["errors"][0]


def test_exp_history_names_the_files(repo, exp):
    write(repo, {"logs/scores.csv": "epoch,step,f1\n1,0,0.5\n2,1,0.75\n",
                 "runs/plots/val/acc.tsv": "timestamp\tstep\tacc\n1\t0\t0.25\n1\t1\t0.5\n",
                 "metrics.jsonl": '{"ignored": 1}\n'})
    git(repo, "config", "--add", "exp.history", "logs/scores.csv")
    git(repo, "config", "--add", "exp.history", "runs/plots")
    exp("save", "-n", "cfg")
    record = json.loads(exp("history", "cfg", "--json").out)[0]
    assert record["metrics"] == {"epoch": [[0, 1], [1, 2]], "f1": [[0, 0.5], [1, 0.75]], "val.acc": [[0, 0.25], [1, 0.5]]}
    row = json.loads(exp("show", "--json", "cfg").out)[0]
    assert (row["metrics.f1"], row["metrics.val.acc"]) == (0.75, 0.5) and "metrics.ignored" not in row
    write(repo, {"logs/steps.json": "[]"})
    git(repo, "config", "--add", "exp.history", "logs/steps.json")
    exp("save", "-n", "wrong-kind")
    record = json.loads(exp("history", "wrong-kind", "--json").out)[0]
    assert record["errors"] == ["logs/steps.json is not a history file (exp.history takes a directory "
                                "or a .jsonl, .ndjson, .tsv or .csv file)"] and "f1" in record["metrics"]


def test_metrics_files_win_over_history_and_the_cache_gives_the_same(repo, exp):
    write(repo, {"metrics.json": '{"acc": 0.99}', "metrics.jsonl": '{"acc": 0.1}\n{"acc": 0.2}\n'})
    exp("save", "-n", "both")
    first = exp("show", "--json").out
    assert json.loads(first)[0]["metrics.acc"] == 0.99
    assert "history" in cache.sections(str(repo / ".git"))
    assert exp("show", "--json").out == first  # from the facts' history


def _history_repo(repo):
    """A baseline with history files of each kind, and experiments changing them every
    way git can: edits, deletions, additions, links, a file turned directory, files that
    are no history, directories past MAX_DEPTH, a merge and a root commit."""
    from tests.bench.fixtures import fast_import

    def data(text):
        raw = text.encode()
        return b"data %d\n" % len(raw) + raw + b"\n"

    ident = b"author A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\n"
    tsv = "step\tacc\n0\t0.1\n1\t0.2\n"
    base = {"params.yaml": "lr: 1\n", "metrics.jsonl": '{"loss": 1}\n{"loss": 0.5}\n',
            "dvclive/plots/metrics/acc.tsv": tsv, "dvclive/plots/metrics/loss.tsv": "step\tloss\n0\t3\n",
            "dvclive/plots/metrics/notes.txt": "no history"}
    deep = "dvclive/plots/metrics/" + "/".join(f"d{i}" for i in range(history.MAX_DEPTH)) + "/z.tsv"
    variants = [
        {"M dvclive/plots/metrics/acc.tsv": "step\tacc\n0\t0.7\n"},
        {"D dvclive/plots/metrics/loss.tsv": None},
        {"M dvclive/plots/metrics/sub/x.tsv": "step\tx\n0\t1\n"},
        {"L dvclive/plots/metrics/acc.tsv": "elsewhere.tsv"},
        {"D metrics.jsonl": None},
        {"M metrics.jsonl": '{"loss": 0.25}\n'},
        {"M dvclive/plots/metrics/readme.md": "hi"},
        {"D metrics.jsonl": None, "M metrics.jsonl/x.tsv": "step\tq\n0\t1\n"},
        {"M dvclive/metrics.json": '{"acc": 0.9, "step": 3}'},
        {f"M {deep}": "step\tz\n0\t1\n"},
        {"M params.yaml": "lr: 2\n"},
        {"D dvclive/plots/metrics/acc.tsv": None, "D dvclive/plots/metrics/loss.tsv": None,
         "D dvclive/plots/metrics/notes.txt": None},
        {"M dvclive/plots/metrics/deeper/a/b.csv": "step,b\n0,1\n", "M metrics.jsonl": "not json\n"},
    ]
    stream = [b"commit refs/heads/hist-base\nmark :1\n" + ident + data("baseline")]
    stream += [b"M 100644 inline " + p.encode() + b"\n" + data(t) for p, t in base.items()]
    for k in range(24):
        changes = variants[k % len(variants)]
        if k == 20:
            changes = {**variants[0], **variants[5]}
        stream.append(b"\ncommit refs/exp/h%02d\nmark :%d\n" % (k, k + 2) + ident + data(f"e{k}"))
        if k != 21:  # a root commit: every file its own
            stream.append(b"from :1\n")
        if k == 22:  # a merge: its first parent is the baseline
            stream.append(b"merge :3\n")
        for spec, text in changes.items():
            op, path = spec.split(" ", 1)
            if op == "D":
                stream.append(b"D " + path.encode() + b"\n")
            else:
                mode = b"120000" if op == "L" else b"100644"
                stream.append(b"M " + mode + b" inline " + path.encode() + b"\n" + data(text))
    stream.append(b"\ndone\n")
    fast_import(repo, os.environ, stream)
    return Repo(repo)


def test_history_found_from_one_diff_tree_is_what_looking_up_every_path_finds(repo, monkeypatch):
    """``show`` finds history files from the baselines' and one ``diff-tree`` of every
    experiment (``results.Changes``); what it finds, and so the series and the errors, is
    what ``_locate`` finds by looking every path up in every experiment."""
    from git_exp import results

    r = _history_repo(repo)
    exps = r.list()
    assert len(exps) == 24 > results.DIRECT_MAX
    shas = [e.sha for e in exps]
    files = results.configured_files(r)
    looked = history.paths(files, dvclive=True)
    changes = results.Changes(r, [*results.DEFAULT_PARAMS, *looked])
    changes.start(shas)
    changes.baselines = {e.sha: e.baseline for e in exps}
    assert changes.covers(shas)
    direct = history._locate(r, shas, looked)
    asked = []
    real = history._locate
    monkeypatch.setattr(history, "_locate", lambda repo_, some, paths: asked.append(len(some)) or real(repo_, some, paths))
    found = history._locate_changed(r, shas, looked, changes)
    monkeypatch.undo()
    assert asked[0] == 1 and sum(asked[1:]) <= 6  # the baseline, then the few it leaves to _locate
    assert {sha: [(p, o) for p, o, _ in got] for sha, got in found[0].items()} == \
        {sha: [(p, o) for p, o, _ in got] for sha, got in direct[0].items()}
    assert found[1] == direct[1] and any(direct[1].values())  # the deep directory's error, both ways
    assert any(len(got) >= 3 for got in direct[0].values())  # not vacuous
    assert history._load(r, shas, None, files, dvclive=True, changes=changes) == \
        history._load(r, shas, None, files, dvclive=True)
