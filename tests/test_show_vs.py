"""``show --md --vs REF``: each experiment against a baseline, with deltas, for a CI comment."""
import json

import pytest

from .conftest import assert_error, git, write


@pytest.fixture
def runs(repo, exp, monkeypatch):
    """main: lr 0.1, batch 32, opt sgd, acc 0.5; three experiments on top of it, saved in
    one second (rows of one second come in name order; a slow machine once split them)."""
    write(repo, {"params.yaml": "lr: 0.1\nbatch: 32\nopt: sgd\n", "metrics.json": '{"acc": 0.5, "loss": 2}'})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "1700000000 +0000")
    for name, lr, opt, acc, loss in (("a", 0.01, "sgd", 0.91, 1), ("b", 0.5, "adam", 0.4, 3), ("c", 0.1, "sgd", 0.5, 2)):
        write(repo, {"params.yaml": f"lr: {lr}\nbatch: 32\nopt: {opt}\n",
                     "metrics.json": json.dumps({"acc": acc, "loss": loss})})
        assert exp("save", "-n", name).code == 0
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    git(repo, "checkout", "-q", "--", ".")
    return repo


def table(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in text.splitlines() if line.startswith("| ")]


def test_vs_branch_metrics_first_with_deltas(runs, exp):
    ran = exp("show", "--md", "--vs", "main")
    assert ran.code == 0 and ran.err == "", ran
    head = git(runs, "rev-parse", "--short=7", "main").strip()
    assert ran.out.splitlines()[0].startswith(f"Compared with **main** (branch, {head})")
    rows = table(ran.out)
    assert rows[0] == ["experiment", "status", "metrics.acc", "metrics.loss", "params.lr", "params.opt"]  # batch: same everywhere
    assert rows[1] == ["**main** (baseline)", "", "0.5", "2", "0.1", "sgd"]
    assert rows[2] == ["a", "saved", "0.91 (+0.41)", "1 (-1)", "0.01 (-0.09)", "sgd"]
    assert rows[3] == ["b", "saved", "0.4 (-0.1)", "3 (+1)", "0.5 (+0.4)", "adam (was sgd)"]
    assert rows[4] == ["c", "saved", "0.5", "2", "0.1", "sgd"]


def test_vs_experiment_remote_tracking_tag_and_commit(runs, exp):
    rows = table(exp("show", "--md", "--vs", "a", "b").out)
    assert rows[1][0] == "**a** (baseline)" and rows[2][:3] == ["b", "saved", "0.4 (-0.51)"]
    sha = git(runs, "rev-parse", "refs/exp/b").strip()
    git(runs, "update-ref", "refs/remote-exp/origin/best", sha)
    said = exp("show", "--md", "--vs", "origin/best", "a")
    assert "(remote-tracking experiment," in said.out and table(said.out)[2][2] == "0.91 (+0.51)"
    git(runs, "tag", "v1", "main")
    assert "(commit," in exp("show", "--md", "--vs", "v1", "a").out
    assert table(exp("show", "--md", "--vs", sha, "a").out)[2][2] == "0.91 (+0.51)"
    assert exp("save", "-n", "a", "--append").code == 0  # a~1: the version before this one
    assert "**a\\~1** (experiment," in exp("show", "--md", "--vs", "a~1", "a").out


def test_an_experiment_comes_before_a_branch_of_its_name(runs, exp):
    git(runs, "branch", "b", "main")
    assert "**b** (experiment," in exp("show", "--md", "--vs", "b").out


@pytest.mark.parametrize("ref", ["-h", "--output=x", "main^{tree}", "nothing", "main:params.yaml", ""])
def test_vs_refuses_what_names_no_commit(runs, exp, ref):
    ran = exp("show", "--md", f"--vs={ref}")
    assert_error(ran, 2, "to compare with")
    assert ran.out == ""
    assert not (runs / "x").exists()


def test_vs_needs_md(runs, exp):
    assert_error(exp("show", "--vs", "main"), 2, "--vs compares in Markdown — add --md")
    assert_error(exp("show", "--json", "--vs", "main"), 2, "add --md")


def test_vs_escapes_what_could_become_markup(repo, exp):
    write(repo, {"params.yaml": 'opt: "[x](https://e.example) <img src=x> *b* | `c`"\n'})
    assert exp("save", "-n", "odd_name").code == 0
    out = exp("show", "--md", "--vs", "main").out
    assert "odd\\_name" in out
    assert "\\[x\\](https://e.example) &lt;img src=x&gt; \\*b\\* \\| \\`c\\`" in out
    assert "<img" not in out


def test_vs_compares_history_metrics_too(repo, exp):
    """The latest value of a step metric is a metric of REF as of each experiment."""
    write(repo, {"metrics.jsonl": '{"step": 0, "loss": 2.0}\n{"step": 1, "loss": 1.5}\n'})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "with curves")
    write(repo, {"metrics.jsonl": '{"step": 0, "loss": 2.0}\n{"step": 1, "loss": 0.5}\n'})
    assert exp("save", "-n", "better").code == 0
    rows = table(exp("show", "--md", "--vs", "main").out)
    assert rows[0][2] == "metrics.loss" and rows[1][2] == "1.5" and rows[2][2] == "0.5 (-1)"
