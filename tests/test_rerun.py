"""`git exp rerun NAME`: the recorded command again on NAME's tree, saved, compared."""
import json
import sys

import pytest

from .conftest import assert_error, exp_refs, git, write

# Reads params.yaml (lr) and an ignored input, writes metrics.json; SEED (env) adds noise.
TRAIN = """
import json, os
lr = float(open("params.yaml").read().split(":")[1])
rows = len(open("data/train.csv").read().split())
noise = float(os.environ.get("NOISE", "0"))
json.dump({"acc": round(lr * 10 + rows + noise, 3)}, open("metrics.json", "w"))
"""


@pytest.fixture
def trained(repo, exp):
    """``repo`` with train.py committed, an ignored input, and experiment ``base`` run from it."""
    write(repo, {".gitignore": "data/\n", "train.py": TRAIN})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "train")
    write(repo, {"data/train.csv": "a\nb\nc\n"})
    ran = exp("run", "-n", "base", "--", sys.executable, "train.py")
    assert ran.code == 0, ran
    return repo


def meta(repo, ref):
    text = git(repo, "log", "-1", "--format=%B", ref)
    parsed = git(repo, "interpret-trailers", "--parse", input=text)
    return dict(line.split(": ", 1) for line in parsed.splitlines())


def metrics(repo, ref):
    return json.loads(git(repo, "show", f"{ref}:metrics.json"))


def test_rerun_reproduces_under_a_new_name(trained, exp):
    repo = trained
    write(repo, {"params.yaml": "lr: 0.9\n"})  # the user's work tree moved on; the rerun uses base's tree
    base = exp_refs(repo)["base"]
    ran = exp("rerun", "base")
    assert ran.code == 0, ran
    assert "saved experiment base-rerun-1" in ran.err and "rerun of base" in ran.err
    assert "reproduced: no params or metrics differ between base and base-rerun-1" in ran.err
    assert ran.out == ""
    refs = exp_refs(repo)
    assert refs["base"] == base  # the original is untouched
    assert metrics(repo, "refs/exp/base-rerun-1") == metrics(repo, "refs/exp/base") == {"acc": 4.0}
    assert git(repo, "rev-parse", "refs/exp/base-rerun-1^@").split() == [git(repo, "rev-parse", "HEAD").strip()]
    info = meta(repo, "refs/exp/base-rerun-1")
    assert info["Exp-Rerun-Of"] == base and info["Exp-Command"] == meta(repo, "refs/exp/base")["Exp-Command"]
    assert info["Exp-Status"] == "ok"
    assert (repo / "params.yaml").read_text() == "lr: 0.9\n"  # the user's edit is still there
    assert exp("rerun", "base").code == 0
    assert "base-rerun-2" in exp_refs(repo)  # the next free number


def test_rerun_append_adds_a_version_and_prints_differences(trained, exp, monkeypatch):
    repo = trained
    old = exp_refs(repo)["base"]
    monkeypatch.setenv("NOISE", "0.5")  # the rerun's result differs
    ran = exp("rerun", "base", "--append")
    assert ran.code == 0, ran
    new = exp_refs(repo)["base"]
    assert new != old
    assert git(repo, "rev-parse", f"{new}^1", f"{new}^2").split() == [git(repo, "rev-parse", "HEAD").strip(), old]
    lines = ran.out.splitlines()
    assert lines[0].split() == ["key", "base~1", "base"]
    assert lines[1].split() == ["metrics.acc", "4", "4.5"]
    assert "not reproduced: 1 value differs between base~1 and base" in ran.err
    assert "appended to experiment base" in ran.err
    monkeypatch.delenv("NOISE")
    ran = exp("rerun", "base~1", "-n", "first-again")  # a version, as `git exp log base` lists them
    assert ran.code == 0, ran
    assert "reproduced: no params or metrics differ between base~1 and first-again" in ran.err
    assert meta(repo, "refs/exp/first-again")["Exp-Rerun-Of"] == old


def test_rerun_json(trained, exp, monkeypatch):
    monkeypatch.setenv("NOISE", "1")
    ran = exp("rerun", "base", "-n", "again", "--json")
    assert ran.code == 0, ran
    data = json.loads(ran.out)
    assert data["name"] == "again" and data["rerun_of"] == "base" and data["reproduced"] is False
    assert data["changes"] == [{"key": "metrics.acc", "before": 4.0, "after": 5.0}]
    assert data["sha"] == exp_refs(trained)["again"]


def test_rerun_removes_old_metrics_first(trained, exp, monkeypatch):
    """A rerun whose command writes no metrics must not inherit the original's."""
    repo = trained
    ran = exp("run", "-n", "once", "--", sys.executable, "-c",
              "import os, json; os.environ.get('FIRST') and json.dump({'acc': 1}, open('metrics.json', 'w'))")
    assert ran.code == 0
    monkeypatch.setenv("FIRST", "1")
    assert exp("run", "-n", "first", "--force", "--", sys.executable, "-c",
               "import os, json; os.environ.get('FIRST') and json.dump({'acc': 1}, open('metrics.json', 'w'))").code == 0
    monkeypatch.delenv("FIRST")
    ran = exp("rerun", "first", "-n", "second")
    assert ran.code == 0, ran
    assert "no metrics file was found" in ran.err
    assert "metrics.json" not in git(repo, "ls-tree", "--name-only", "refs/exp/second")
    assert ran.out.splitlines()[1].split() == ["metrics.acc", "1", "-"]


def test_rerun_of_a_failed_command_exits_with_its_code(trained, exp):
    repo = trained
    assert exp("run", "-n", "bad", "--", "sh", "-c", "exit 4").code == 4
    ran = exp("rerun", "bad")
    assert ran.code == 4 and "failed (exit 4" in ran.err, ran
    assert meta(repo, "refs/exp/bad-rerun-1")["Exp-Exit-Code"] == "4"


def test_rerun_without_a_recorded_command_is_refused(trained, exp):
    repo = trained
    assert exp("save", "-n", "snap").code == 0
    before = exp_refs(repo)
    assert_error(exp("rerun", "snap"), 2, "experiment 'snap' has no recorded command", "git exp run -- CMD")
    assert exp_refs(repo) == before
    assert_error(exp("rerun", "nope"), 2, "no experiment named 'nope'")
    assert git(repo, "worktree", "list").count("\n") == 1


def test_rerun_takes_a_hidden_secret_from_the_environment(trained, exp, monkeypatch):
    repo = trained
    monkeypatch.setenv("DEPLOY_TOKEN", "s3cr3t-value-1")
    script = "import sys; open('got.txt', 'w').write(str(len(sys.argv[1])))"
    assert exp("run", "-n", "secret", "--", sys.executable, "-c", script, "s3cr3t-value-1").code == 0
    assert "$DEPLOY_TOKEN" in meta(repo, "refs/exp/secret")["Exp-Command"]
    monkeypatch.delenv("DEPLOY_TOKEN")
    before = exp_refs(repo)
    assert_error(exp("rerun", "secret"), 2, "uses $DEPLOY_TOKEN", "DEPLOY_TOKEN is not set here")
    assert exp_refs(repo) == before
    monkeypatch.setenv("DEPLOY_TOKEN", "other-value-22")
    ran = exp("rerun", "secret")
    assert ran.code == 0, ran
    assert git(repo, "show", "refs/exp/secret-rerun-1:got.txt") == "14"


def test_rerun_refuses_a_masked_secret(trained, exp):
    repo = trained
    assert exp("run", "-n", "masked", "--", "sh", "-c", "true", "--password=hunter22").code == 0
    assert "***" in meta(repo, "refs/exp/masked")["Exp-Command"]
    before = exp_refs(repo)
    assert_error(exp("rerun", "masked"), 2, "holds *** where git-exp hid a secret")
    assert exp_refs(repo) == before


def test_rerun_option_errors(trained, exp):
    repo = trained
    before = exp_refs(repo)
    assert_error(exp("rerun", "base", "--append", "-n", "x"), 2, "--append and -n contradict")
    assert_error(exp("rerun", "base", "-S", "lr=0.2,0.3"), 2, "a rerun is one run, so one value per key")
    assert_error(exp("rerun", "base", "-S", "nosuch=1"), 2, "nosuch")
    assert git(repo, "worktree", "list").count("\n") == 1
    assert_error(exp("rerun", "base", "-n", "base"), 2, "already exists")
    assert exp_refs(repo) == before


@pytest.mark.parametrize("argv", [
    ["python", "train.py"],
    ["sh", "-c", "echo 'it''s' \"$HOME\" `x` $(y); exit 3"],
    ["a b", "", "-", "--x=1", "naïve", "tab\there", "new\nline", "'", '"', "\\", "$", "*?[]"],
])
def test_recorded_command_reads_back_exactly(argv):
    from git_exp import cmdline, redact

    line = redact.command_line(argv, env={})
    assert cmdline.argv(line, env={}) == argv


def test_recorded_command_with_references_reads_back():
    from git_exp import cmdline, redact

    env = {"API_TOKEN": "tok-123456", "OTHER_SECRET": "xyz-987654"}
    argv = ["curl", "-H", "Authorization: Bearer tok-123456", "--data", "a=xyz-987654&b=$literal"]
    line = redact.command_line(argv, env=env)
    assert "tok-123456" not in line and "$API_TOKEN" in line
    assert cmdline.argv(line, env=env) == argv


@pytest.mark.parametrize("line,why", [
    ("echo hi; rm -rf x", "';' outside quotes"),
    ("echo $HOME", "'$' outside quotes"),
    ("echo 'open", "unbalanced single quote"),
    ('echo "open', "unbalanced double quote"),
    ('echo "`id`"', "backquote"),
    ("", "no command"),
])
def test_lines_git_exp_never_writes_are_refused(line, why):
    from git_exp import cmdline

    with pytest.raises(cmdline.Unrunnable, match=why.replace("$", r"\$")):
        cmdline.argv(line, env={})


def test_rerun_with_an_override_shows_the_param_and_its_effect(trained, exp):
    repo = trained
    ran = exp("rerun", "base", "-S", "lr=0.2", "-n", "lr-0.2")
    assert ran.code == 0, ran
    rows = [line.split() for line in ran.out.splitlines()]
    assert rows == [["key", "base", "lr-0.2"], ["metrics.acc", "4", "5"], ["params.lr", "0.1", "0.2"]]
    assert meta(repo, "refs/exp/lr-0.2")["Exp-Params-Set"] == "lr=0.2"
    assert (repo / "params.yaml").read_text() == "lr: 0.1\n"  # your own params file is untouched


def test_rerun_removes_old_metric_histories_first(trained, exp, monkeypatch):
    repo = trained
    script = ("import os, json; os.environ.get('FIRST') and open('metrics.jsonl', 'w').write("
              "'{\"step\": 0, \"loss\": 1.0}\\n{\"step\": 1, \"loss\": 0.5}\\n')")
    monkeypatch.setenv("FIRST", "1")
    assert exp("run", "-n", "hist", "--", sys.executable, "-c", script).code == 0
    assert "metrics.jsonl" in git(repo, "ls-tree", "--name-only", "refs/exp/hist")
    monkeypatch.delenv("FIRST")
    ran = exp("rerun", "hist")
    assert ran.code == 0, ran
    assert "metrics.jsonl" not in git(repo, "ls-tree", "--name-only", "refs/exp/hist-rerun-1")
    assert "metrics.loss" in ran.out  # the history's last value, gone in the rerun
