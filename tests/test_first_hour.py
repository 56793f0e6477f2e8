"""A new user's first hour: the README's five-minute tour, run as written, and the seams
between commands built separately that a new user walks into.

The tour test takes the README's tour block (and the versions block after it) line by line
and runs each line through ``sh`` in a small project of the kind the tour assumes: a
``train.py`` that reads ``params.yaml`` and writes ``metrics.json`` and ``metrics.jsonl``.
Every line must succeed, print no traceback and no error; the sweep must really run.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import assert_error, bare_remote, exp_refs, git, init_repo, write

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = shutil.which("git-exp")
needs_install = pytest.mark.skipif(INSTALLED is None, reason="git-exp is not installed on PATH: run with `make test`")

PARAMS = "# training parameters\nlr: 0.1\nepochs: 3\nmodel:\n  depth: 3\n"
TRAIN_PY = '''\
"""A tiny trainer: params.yaml in, metrics.json and metrics.jsonl (one line a step) out."""
import json

params, section = {}, ""
for line in open("params.yaml"):
    if not line.strip() or line.lstrip().startswith("#"):
        continue
    key, _, value = line.strip().partition(":")
    if not line.startswith(" "):
        section = key if not value.strip() else ""
    if value.strip():
        params[f"{section}.{key}" if line.startswith(" ") else key] = float(value)
lr, depth = params["lr"], params["model.depth"]
with open("metrics.jsonl", "w") as steps:
    for step in range(int(params["epochs"])):
        loss = round(1 / (1 + (step + 1) * lr * 10), 4)
        acc = round((0.95 - 40 * (lr - 0.03) ** 2 + depth / 1000) * (step + 1) / params["epochs"], 4)
        steps.write(json.dumps({"step": step, "acc": acc, "loss": loss}) + "\\n")
        print(f"epoch {step + 1} loss={loss}")
json.dump({"acc": acc, "loss": loss}, open("metrics.json", "w"))
'''


def readme_block(after: str) -> list[str]:
    """The shell lines of the first ``sh`` block after the heading or text ``after``,
    comment-only lines dropped (``sh`` drops the trailing comments itself)."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index(after):].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@needs_install
def test_the_readme_tour_runs_as_written_with_a_real_sweep(tmp_path):
    project = init_repo(tmp_path / "project", files={"params.yaml": PARAMS, "train.py": TRAIN_PY,
                                                     ".gitignore": "__pycache__/\ndata/\n", "data/train.csv": "x\n"})
    git(project, "remote", "add", "origin", str(bare_remote(tmp_path / "remote.git")))
    git(project, "push", "-q", "-u", "origin", "main")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "python").symlink_to(sys.executable)  # the tour says `python train.py`
    summary = tmp_path / "summary.md"
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "GITHUB_STEP_SUMMARY": str(summary)}
    tour = readme_block("## A five-minute tour")
    versions = [line for line in readme_block("Versions and metrics over time") if "origin/" not in line]
    assert any(" --jobs 2 --name-prefix sweep/ " in line for line in tour), "the tour has no sweep"
    said = {}
    for line in tour + versions:
        proc = subprocess.run(["sh", "-c", line], cwd=project, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "error" not in proc.stderr and "Traceback" not in proc.stderr, \
            f"{line}\n-> exit {proc.returncode}\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
        said[line.split("  #")[0].strip()] = proc.stdout + proc.stderr

    refs = exp_refs(project)
    rows = {row["name"]: row for row in json.loads(git(project, "exp", "show", "--json", env=env))}
    sweep = {name: row for name, row in rows.items() if name.startswith("sweep/")}
    assert sorted(sweep) == ["sweep/lr-0.01", "sweep/lr-0.03", "sweep/lr-0.1"]
    for name, row in sweep.items():  # each run saw its own value, and its metrics are its own
        assert row["status"] == "ok" and row["params.lr"] == float(name.rsplit("-", 1)[1])
    assert sweep["sweep/lr-0.03"]["metrics.acc"] > sweep["sweep/lr-0.1"]["metrics.acc"]
    sweep_said = said["git exp run -S lr=0.01,0.03,0.1 --jobs 2 --name-prefix sweep/ -- python train.py"]
    assert "sweep done: 3 runs saved" in sweep_said and sweep_said.count("[") >= 3  # a line per run
    assert "lr: 0.03" in (project / "params.yaml").read_text()  # apply -f sweep/lr-0.03
    assert "| sweep/lr-0.03 |" in summary.read_text()
    assert git(project, "rev-parse", "try-lr").strip() == refs["sweep/lr-0.03"]
    assert not [name for name in refs if name.startswith("alice/") or name == "lr-0.1-rerun-1"]  # renamed, removed
    assert "nothing to delete" in said["git exp rm 'sweep/*' --keep 3"]
    assert re.search(r"lr-0\.1~1 ", said["git exp log lr-0.1"])  # run --append made a version
    assert "appended to experiment lr-0.1" in said["git exp run -n lr-0.1 --append -- python train.py"]


def test_run_says_appended_and_replaced_as_save_does(repo, exp):
    write(repo, {"m.sh": "echo '{\"acc\": 1}' > metrics.json\n"})
    assert "; saved experiment r (" in exp("run", "-n", "r", "--", "sh", "m.sh").err
    assert "; appended to experiment r (" in exp("run", "-n", "r", "--append", "--", "sh", "m.sh").err
    assert "; replaced experiment r (" in exp("run", "-n", "r", "--force", "--", "sh", "m.sh").err


def test_apply_names_the_changes_it_refuses_to_overwrite(repo, exp):
    assert exp("save", "-n", "e").code == 0
    write(repo, {"metrics.json": '{"acc": 1}\n', "params.yaml": "lr: 0.5\n"})
    before = git(repo, "status", "--porcelain")
    assert_error(exp("apply", "e"), 1, "not committed (metrics.json, params.yaml)", "git stash -u", "--force")
    assert git(repo, "status", "--porcelain") == before and (repo / "params.yaml").read_text() == "lr: 0.5\n"


def test_rm_says_when_keep_leaves_nothing_to_delete(repo, exp):
    for name in ("s/a", "s/b"):
        assert exp("save", "-n", name).code == 0
    ran = exp("rm", "s/*", "--keep", "3")
    assert ran.code == 0 and ran.out == "" and "nothing to delete" in ran.err, ran
    assert sorted(exp_refs(repo)) == ["s/a", "s/b"]
    assert "would delete 0 experiments" in exp("gc", "s/*", "--keep", "3", "--dry-run").err


def test_empty_states_give_the_same_advice_everywhere(repo, exp, tmp_path):
    git(repo, "remote", "add", "origin", str(bare_remote(tmp_path / "empty.git")))
    said = [exp(*args) for args in (("ls",), ("show",), ("report", "-o", str(tmp_path / "r.html")))]
    assert all(ran.code == 0 for ran in said), said
    advice = "`git exp save` or `git exp run -- CMD` makes one; `git exp ls origin` lists a remote's"
    assert all(advice in ran.err for ran in said), said
    pulled = exp("pull", "origin", "--all")  # an empty remote: said, not silence
    assert (pulled.code, pulled.out) == (0, "") and "nothing to pull: origin has no experiments" in pulled.err
    assert exp("pull", "origin", "--all", "-q").err == ""


def test_usage_errors_from_the_parser_read_as_ours(repo, exp):
    """Messages click writes are reworded as every other error: lower case, no full stop,
    the argument named as --help names it."""
    assert_error(exp("apply"), 2, "git-exp: error: missing argument 'NAME' — see `git exp apply -h`")
    assert_error(exp("rename", "a"), 2, "missing argument 'NEW' — see `git exp rename -h`")
    assert_error(exp("show", "-n", "x"), 2, "invalid value for '-n' / '--max-count': 'x' is not a valid int — see")


@pytest.mark.parametrize("columns", [None, "100"])
def test_bare_usage_fits_the_terminal_one_sentence_a_command(exp, monkeypatch, columns):
    if columns:
        monkeypatch.setenv("COLUMNS", columns)
    ran = exp()
    listed = [line for line in ran.out.splitlines() if line.startswith("   ")]
    assert len(listed) > 15 and all(len(line) <= int(columns or 80) for line in listed), listed
    assert all(line.endswith((".", "…")) for line in listed), listed  # a sentence, or visibly cut
    assert "   ls" in ran.out and "List experiments: sha, baseline, age, exit code, name.\n" in ran.out


def test_history_hints_metrics_dot_for_a_bare_metric_after_the_experiments(repo, exp):
    assert exp("save", "-n", "e").code == 0
    assert_error(exp("history", "e", "loss"), 2, "no experiment named 'loss'", "metrics.loss")
    ran = exp("history", "ghost")  # the first word is an experiment: no metric hint
    assert_error(ran, 2, "no experiment named 'ghost'")
    assert "metrics." not in ran.err


def test_a_group_name_wider_than_its_columns_is_cut_visibly():
    from git_exp.present.table import render

    rows = [{"name": "sweep/lr-0.01", "params.lr": 0.01, "metrics.acc": 0.937, "metrics.loss": 0.77}]
    text = render(rows, ["name", "params.lr", "metrics.acc", "metrics.loss"], width=100).text
    group_row = text.splitlines()[0]
    assert "par… " in group_row and "metrics ─" in group_row, text


def test_archives_read_as_english_and_their_empty_states_say_what_to_do(repo, exp, tmp_path):
    git(repo, "remote", "add", "origin", str(bare_remote(tmp_path / "remote.git")))
    ran = exp("show", "--archived")
    assert (ran.code, ran.out) == (0, "") and "no archived experiments — `git exp archive" in ran.err, ran
    ran = exp("push", "origin", "--archived")
    assert ran.code == 0 and ran.err == "nothing to push: origin has every archive\n", ran
    assert exp("save", "-n", "old").code == 0 and exp("archive", "old").code == 0
    ran = exp("push", "origin", "--archived")
    assert ran.code == 0 and ran.err == "origin: send 1 archive ref\n", ran
    assert "(s)" not in ran.err and "nothing to push" in exp("push", "origin", "--archived").err


def test_a_sweeps_table_fits_the_terminal_like_show(repo, exp, monkeypatch):
    write(repo, {"params.yaml": "optimizer_learning_rate: 0.1\nregularization_weight_decay: 0.01\n",
                 "t.sh": "echo '{\"validation_accuracy\": 0.91234, \"validation_loss_mean\": 0.3321}' > metrics.json\n"})
    sweep = ["run", "-S", "optimizer_learning_rate=0.1,0.01", "-S", "regularization_weight_decay=0.01,0.001",
             "--name-prefix", "s/", "--", "sh", "t.sh"]
    monkeypatch.setenv("COLUMNS", "60")
    ran = exp(*sweep)
    assert ran.code == 0 and ran.out.count("\n") >= 6, ran  # the group header, the header, 4 runs
    assert all(len(line) <= 60 for line in ran.out.splitlines()), ran.out
    assert "params ─" in ran.out.splitlines()[0] and "sweep done: 4 runs saved" in ran.err
    monkeypatch.delenv("COLUMNS")  # piped, no $COLUMNS: whole, as scripts read it
    ran = exp(*sweep[:-4], "t/", "--", "sh", "t.sh")
    assert ran.code == 0 and "regularization_weight_decay" in ran.out.splitlines()[0] and "…" not in ran.out, ran


def test_every_required_argument_is_named_as_help_names_it():
    """A missing one is reported by that name (``missing argument 'NAME'``): no lower-case
    parameter names of the code in messages."""
    import typer

    from git_exp.cli import build_app

    group = typer.main.get_command(build_app())
    unnamed = [f"{name} {param.name}" for name, command in group.commands.items() for param in command.params
               if param.param_type_name == "argument" and param.required and not param.metavar]
    assert not unnamed, unnamed
