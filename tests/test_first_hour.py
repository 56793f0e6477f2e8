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
