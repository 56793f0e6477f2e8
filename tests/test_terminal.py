"""``show`` on a terminal: width, cut text, grouped headers, hidden columns, colour, pager.

Terminal tests run the installed ``git exp`` (``python -m git_exp``, or ``git exp`` through
git itself) on a real pseudo-terminal of a known size; pagers are small scripts that
write what they received, and their environment, to files.
"""
from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import struct
import sys
import time

import pytest

from .conftest import assert_error, git, write

ANSI = re.compile(r"\x1b\[[0-9;]*m")
INSTALLED = shutil.which("git-exp")
needs_install = pytest.mark.skipif(INSTALLED is None, reason="git-exp is not installed on PATH: run with `make test`")
PARAMS = {f"p{i:02d}": 0.1 for i in range(14)}


def in_pty(argv: list[str], cwd, env: dict | None = None, cols: int = 100, rows: int = 40,
           timeout: float = 30) -> tuple[int, str]:
    """Run ``argv`` in ``cwd`` on a new pseudo-terminal of ``cols`` x ``rows``; its exit code
    and everything it (and its pager) wrote on the terminal, newlines as ``\\n``."""
    import fcntl
    import termios

    full = {**os.environ, "TERM": "xterm", **(env or {})}
    for key in [k for k, v in full.items() if v is None]:
        del full[key]
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.chdir(cwd)
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvpe(argv[0], argv, full)
        finally:
            os._exit(127)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            block = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not block:
            break
        chunks.append(block)
    else:
        os.kill(pid, 9)
    os.close(fd)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def git_exp(*args: str) -> list[str]:
    return [sys.executable, "-m", "git_exp", *args]


def visible(text: str) -> list[str]:
    return ANSI.sub("", text).splitlines()


@pytest.fixture
def wide(repo, exp, monkeypatch):
    """Four experiments a minute apart (e1 oldest), 14 params (one changing) and 4 metrics."""
    for i in range(1, 5):
        monkeypatch.setenv("GIT_COMMITTER_DATE", f"2026-01-0{i}T10:00:00Z")
        params = {**PARAMS, "p03": i, "optimizer": "adam-with-a-very-long-name-indeed"}
        write(repo, {"params.yaml": "".join(f"{k}: {v}\n" for k, v in params.items()),
                     "metrics.json": json.dumps({"acc": 0.5 + i / 10 if i != 4 else 0.1, "loss": 1 - i / 10,
                                                 "f1": 0.7, "val_loss": 0.3})})
        assert exp("save", "-n", f"e{i}").code == 0
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    return repo


@pytest.fixture
def pager(tmp_path):
    """A pager script: appends its environment to ``.env`` and what it read to ``.out``."""
    path = tmp_path / "pager.sh"
    path.write_text('#!/bin/sh\necho "LESS=${LESS-unset} LV=${LV-unset} IN_USE=${GIT_PAGER_IN_USE-unset}" '
                    f'>> {path}.env\ncat >> {path}.out\n')
    path.chmod(0o755)
    return path


def paged(pager) -> tuple[str, str]:
    out = pager.with_suffix(".sh.out")
    env = pager.with_suffix(".sh.env")
    return (out.read_text() if out.exists() else "", env.read_text() if env.exists() else "")


# -- width, cutting, grouping: on a terminal -------------------------------------------


@pytest.mark.once  # the terminal, not the object or ref format
def test_terminal_width_cut_grouped_and_hidden_named(wide):
    code, text = in_pty(git_exp("show"), wide, {"GIT_PAGER": "cat"}, cols=100)
    assert code == 0, text
    lines = visible(text)
    table, note = lines[:6], lines[6]
    assert all(len(line) <= 100 for line in table) and max(map(len, table)) > 90, table
    assert table[0].startswith(" " * 20) and "metrics ──" in table[0] and "params ──" in table[0]
    header = table[1].split()
    assert header[:8] == ["name", "created", "status", "acc", "f1", "loss", "val_loss", "optimizer"]
    assert [line.split()[0] for line in table[2:6]] == ["e4", "e3", "e2", "e1"]  # newest first
    assert "adam-with-a…" in table[2] and "adam-with-a-very-long-name-indeed" not in text
    hidden = 7 + 4 + 15 - len(header)  # base columns, metrics, params
    assert note.startswith(f"{hidden} columns hidden to fit 100 characters: params.p{len(header) - 8:02d}, ")
    assert "--columns" in note and "--json" in note and "\x1b[" in text  # a terminal: colour


@pytest.mark.once  # the terminal, not the object or ref format
def test_columns_variable_wins_over_the_terminal(wide):
    code, text = in_pty(git_exp("show"), wide, {"GIT_PAGER": "cat", "COLUMNS": "60"}, cols=200)
    lines = visible(text)
    assert code == 0 and all(len(line) <= 60 for line in lines[:6]) and "hidden to fit 60" in lines[6]


def test_not_a_terminal_no_limit_no_colour(wide, exp):
    ran = exp("show")
    assert ran.code == 0 and ran.err == "" and "\x1b" not in ran.out
    assert "adam-with-a-very-long-name-indeed" in ran.out and "p13" in ran.out.splitlines()[1]


def test_columns_variable_without_terminal(wide, exp, monkeypatch):
    monkeypatch.setenv("COLUMNS", "70")
    ran = exp("show")
    lines = ran.out.splitlines()
    assert all(len(line) <= 70 for line in lines) and max(map(len, lines)) > 60
    assert ran.err.startswith(f"{7 + 4 + 15 - len(lines[1].split())} columns hidden to fit 70 characters: ")


def test_narrow_terminal_keeps_the_name():
    from git_exp.present.table import render

    rows = [{"name": "a-rather-long-experiment-name", "status": "ok", "metrics.acc": 0.25}]
    shown = render(rows, ["name", "status", "metrics.acc"], width=12)
    assert shown.text == "name\na-rather-lo…\n" and shown.hidden == ["status", "metrics.acc"]


def test_wide_characters_and_control_characters_are_measured_and_cleaned():
    from git_exp.present.table import cut, display_width, render

    assert display_width("実験") == 4 and display_width("e\u0301") == 1
    assert cut("実験データ", 6) == "実験…" and display_width(cut("実験データ", 6)) == 5
    rows = [{"name": "x", "params.note": "実験データの説明です"}, {"name": "\x1b[31mred\nline", "params.note": "ok"}]
    shown = render(rows, ["name", "params.note"], width=26)
    assert shown.text.splitlines() == [
        "               params ────",
        "name           note",
        "x              実験データ…",
        "?[31mred?line  ok",
    ]
    assert shown.hidden == []


# -- picking columns and rows ------------------------------------------------------------


def test_only_changed_columns_drop_and_globs(wide, exp):
    lines = exp("show", "--only-changed").out.splitlines()
    assert lines[1].split() == ["name", "created", "acc", "loss", "p03"]
    ran = exp("show", "--columns", "metrics.*,p03", "--csv")
    assert ran.out.splitlines()[0] == "name,metrics.acc,metrics.f1,metrics.loss,metrics.val_loss,params.p03"
    ran = exp("show", "--columns", "acc,name", "--drop", "name", "--csv")  # name stays: it says which row
    assert ran.out.splitlines()[0] == "metrics.acc,name"
    ran = exp("show", "--drop", "params.*,created,executor,baseline,exit_code,duration,status", "--csv")
    assert ran.out.splitlines()[0] == "name,metrics.acc,metrics.f1,metrics.loss,metrics.val_loss"
    rows = json.loads(exp("show", "--json", "--columns", "acc,sha").out)
    assert list(rows[0]) == ["name", "remote", "metrics.acc", "sha"] and rows[0]["name"] == "e4"


def test_unknown_or_ambiguous_column_is_a_usage_error(wide, exp):
    assert_error(exp("show", "--columns", "acc,nope"), 2, "--columns: no column named 'nope' — known columns: ",
                 "name, created, baseline", "params.p03")
    assert_error(exp("show", "--drop", "metrics.z*"), 2, "no column matches 'metrics.z*' for --drop")
    write(wide, {"params.yaml": "acc: 1\n", "metrics.json": '{"acc": 2}'})
    assert exp("save", "-n", "both").code == 0
    assert_error(exp("show", "--columns", "acc"), 2, "--columns: 'acc' could be 'params.acc' or 'metrics.acc'")


def test_newest_first_max_count_reverse_and_sort(wide, exp):
    def names(*args):
        return [row["name"] for row in json.loads(exp("show", "--json", *args).out)]

    assert names() == ["e4", "e3", "e2", "e1"]
    assert names("-n", "2") == ["e4", "e3"] and names("--max-count=2", "--reverse") == ["e3", "e4"]
    assert names("--reverse") == ["e1", "e2", "e3", "e4"]
    assert names("--sort", "-metrics.acc", "-n", "1") == ["e3"]
    assert names("-n", "0") == []
    assert [line.split()[0] for line in exp("show", "-n", "3", "--md").out.splitlines()[2:]] == ["|"] * 3
    assert_error(exp("show", "-n", "-1"), 2, "-n takes a count of 0 or more, not -1")


def test_many_rows_newest_first_from_the_lines_cache(repo, exp):
    """From 101 rows on, show --json comes from the lines cache: the same order, -n and --reverse."""
    from tests.bench.fixtures import git_exp_commits, import_commits

    head = git(repo, "rev-parse", "HEAD").strip()
    import_commits(repo, os.environ, head, git_exp_commits(120)(head))
    cold = exp("show", "--json", "-n", "110", "--reverse").out
    warm = exp("show", "--json", "-n", "110", "--reverse").out
    assert cold == warm
    rows = json.loads(warm)
    assert len(rows) == 110 and [r["created"] for r in rows] == sorted(r["created"] for r in rows)


# -- colour ------------------------------------------------------------------------------


@pytest.mark.once  # the terminal, not the object or ref format
def test_colour_status_and_best_values_on_a_terminal(wide, exp):
    code, text = in_pty(git_exp("show", "--columns", "status,acc,loss,f1"), wide, {"GIT_PAGER": "cat"})
    rows = {line.split()[0]: line for line in text.splitlines()[2:6]}
    assert "\x1b[32mok\x1b[m" not in text  # saved, not run: no status colour
    assert "\x1b[1m0.8\x1b[m" in rows["e3"] and "\x1b[1m0.6\x1b[m" in rows["e4"]  # best acc (max), loss (min)
    assert "\x1b[1m" not in rows["e1"] and "0.7" in rows["e1"] and "\x1b[1m0.7" not in text  # f1 the same: none


def test_colour_settings_as_git_reads_them(wide, exp, monkeypatch):
    assert "\x1b[" in exp("show", "--color").out and "\x1b[" in exp("show", "--color=always").out
    assert "\x1b[" not in exp("show", "--color=auto").out  # not a terminal
    git(wide, "config", "color.ui", "always")
    assert "\x1b[" in exp("show").out and "\x1b[" not in exp("show", "--no-color").out
    assert "\x1b[" not in exp("show", "--json").out
    git(wide, "config", "color.exp", "false")  # color.exp wins over color.ui
    assert "\x1b[" not in exp("show").out and "\x1b[" in exp("show", "--color").out
    git(wide, "config", "color.exp", "always")
    git(wide, "config", "color.exp.best", "red ul")
    assert "\x1b[4;31m0.8\x1b[m" in exp("show").out
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" in exp("show").out  # an explicit always wins over NO_COLOR
    assert_error(exp("show", "--color=sometimes"), 2, "--color takes always, never or auto, not 'sometimes'")


def test_status_colours(repo, exp):
    assert exp("run", "-n", "fine", "--", "true").code == 0
    assert exp("run", "-n", "broke", "--", "false").code == 1
    lines = {line.split()[0]: line for line in exp("show", "--color", "--columns", "status").out.splitlines()[1:]}
    assert lines == {"fine": "fine   \x1b[32mok\x1b[m", "broke": "broke  \x1b[31mfailed\x1b[m"}


@pytest.mark.once  # the terminal, not the object or ref format
@pytest.mark.parametrize("env, config, coloured", [
    ({}, None, True),
    ({"NO_COLOR": "1"}, None, False),
    ({"NO_COLOR": ""}, None, True),
    ({"TERM": "dumb"}, None, False),
    ({}, ("color.ui", "never"), False),
    ({}, ("color.ui", "true"), True),  # git's true is auto
    ({}, ("color.exp", "auto"), True),
])
def test_colour_on_a_terminal(wide, env, config, coloured):
    if config:
        git(wide, "config", *config)
    code, text = in_pty(git_exp("show", "-n", "2"), wide, {"GIT_PAGER": "cat", **env})
    assert code == 0 and ("\x1b[" in text) == coloured, text


# -- the pager ---------------------------------------------------------------------------


@pytest.mark.once  # the terminal, not the object or ref format
def test_pager_from_core_pager_gets_table_stderr_and_less_defaults(wide, pager):
    git(wide, "config", "core.pager", str(pager))
    code, text = in_pty(git_exp("show"), wide, {"COLUMNS": None})
    received, env = paged(pager)
    assert code == 0 and text == "", text
    assert received.splitlines()[1].split()[0] == "name" and "\x1b[" in received  # colour, for less -R
    assert re.match(r"\d+ columns hidden to fit 100 ", received.splitlines()[-1])  # stderr is a terminal: into the pager
    assert env == "LESS=FRX LV=-c IN_USE=unset\n"
    git(wide, "config", "color.pager", "false")  # as git's: no colour into a pager
    pager.with_suffix(".sh.out").unlink()
    assert in_pty(git_exp("show"), wide, {"COLUMNS": None}) == (0, "")
    assert "e4" in paged(pager)[0] and "\x1b[" not in paged(pager)[0]


@pytest.mark.once  # the terminal, not the object or ref format
@pytest.mark.parametrize("env, config, used", [
    ({"GIT_PAGER": "PAGER"}, {"core.pager": "false", "pager.exp": "false-too"}, True),  # GIT_PAGER first
    ({}, {"pager.exp": "PAGER", "core.pager": "false"}, True),  # pager.exp before core.pager
    ({"PAGER": "PAGER"}, {}, True),
    ({"PAGER": "PAGER", "LESS": "-S"}, {}, "LESS=-S LV=-c IN_USE=unset\n"),
    ({"PAGER": "PAGER"}, {"pager.exp": "false"}, False),
    ({"PAGER": "PAGER", "GIT_PAGER": "cat"}, {}, False),  # what `git --no-pager` sets
    ({"PAGER": "PAGER", "GIT_PAGER": ""}, {}, False),
    ({}, {"core.pager": "cat"}, False),
])
def test_pager_choice(wide, pager, env, config, used):
    for key, value in config.items():
        git(wide, "config", key, value.replace("PAGER", str(pager)))
    env = {k: v.replace("PAGER", str(pager)) for k, v in env.items()}
    code, text = in_pty(git_exp("show", "-n", "1"), wide, env)
    received, seen = paged(pager)
    assert code == 0, text
    assert bool(received) == bool(used) and ("e4" in text) != bool(used), (text, received)
    if isinstance(used, str):
        assert seen == used


@pytest.mark.once  # the terminal, not the object or ref format
def test_no_pager_option_and_not_a_terminal(wide, pager, exp, monkeypatch):
    code, text = in_pty(git_exp("show", "--no-pager", "-n", "1"), wide, {"GIT_PAGER": str(pager)})
    assert code == 0 and "e4" in text and paged(pager) == ("", "")
    monkeypatch.setenv("GIT_PAGER", str(pager))
    assert "e4" in exp("show").out and paged(pager) == ("", "")


@pytest.mark.once  # the terminal, not the object or ref format
@needs_install
def test_git_pages_for_us_once(wide, pager):
    """``git -p exp show`` and ``pager.exp=true``: git starts the pager, sets $COLUMNS and
    GIT_PAGER_IN_USE; git-exp fits that width, colours, and starts no second pager."""
    code, text = in_pty(["git", "-p", "exp", "show"], wide, {"GIT_PAGER": str(pager)}, cols=90)
    received, env = paged(pager)
    assert code == 0 and env.count("\n") == 1, env
    assert "\x1b[" in received and all(len(line) <= 90 for line in visible(received)[:6])
    assert "hidden to fit 90" in received
    git(wide, "config", "pager.exp", "true")
    in_pty(["git", "exp", "show"], wide, {"GIT_PAGER": str(pager)})
    assert paged(pager)[1].count("\n") == 2


@pytest.mark.once  # the terminal, not the object or ref format
@needs_install
def test_git_no_pager_reaches_git_exp(wide, pager):
    code, text = in_pty(["git", "--no-pager", "exp", "show", "-n", "1"], wide, {"GIT_PAGER": str(pager)})
    assert code == 0 and "e4" in text and paged(pager) == ("", "")


@pytest.mark.once  # the terminal, not the object or ref format
def test_quitting_the_pager_early_is_quiet(repo, exp, tmp_path):
    from tests.bench.fixtures import git_exp_commits, import_commits

    head = git(repo, "rev-parse", "HEAD").strip()
    import_commits(repo, os.environ, head, git_exp_commits(1500)(head))  # far more than a pipe holds
    quitter = tmp_path / "quit.sh"
    quitter.write_text(f"#!/bin/sh\nhead -c 300 > {tmp_path}/got; echo QUIT\n")
    quitter.chmod(0o755)
    code, text = in_pty(git_exp("show"), repo, {"GIT_PAGER": str(quitter)})
    assert (code, text) == (0, "QUIT\n")
    assert len((tmp_path / "got").read_bytes()) == 300


@pytest.mark.once  # the terminal, not the object or ref format
def test_a_pager_that_cannot_run_is_one_error(wide):
    code, text = in_pty(git_exp("show", "-n", "1"), wide, {"GIT_PAGER": "/nonexistent/pager"})
    lines = text.strip().splitlines()
    assert code == 1 and lines[-1] == ("git-exp: error: the pager '/nonexistent/pager' could not run (exit 127); "
                                       "its output is lost — fix GIT_PAGER, pager.exp or core.pager, or use --no-pager")
    assert "Traceback" not in text


def test_rejected_and_diverged_in_colour(wide, exp, tmp_path):
    from .conftest import bare_remote

    bare_remote(tmp_path / "remote.git")
    git(wide, "remote", "add", "origin", str(tmp_path / "remote.git"))
    assert exp("push", "origin", "e1").code == 0
    write(wide, {"metrics.json": '{"acc": 0.01}'})
    assert exp("save", "-n", "e1", "--force").code == 0
    plain = exp("push", "origin", "e1")
    assert plain.code == 1 and plain.out.startswith("rejected     e1") and "\x1b" not in plain.out + plain.err
    git(wide, "config", "color.exp", "always")
    assert exp("push", "origin", "e1").out.startswith("\x1b[31mrejected\x1b[m     e1")
    assert exp("pull", "origin", "e1").out.startswith("\x1b[33mdiverged\x1b[m       e1")
    git(wide, "config", "color.exp.diverged", "blue")
    assert exp("pull", "origin", "e1").out.startswith("\x1b[34mdiverged\x1b[m       e1")


@pytest.mark.once  # the terminal, not the object or ref format
def test_nothing_to_show_starts_no_pager_and_json_is_paged_too(repo, exp, pager):
    code, text = in_pty(git_exp("show"), repo, {"GIT_PAGER": str(pager)})
    assert code == 0 and paged(pager) == ("", "")
    assert exp("save", "-n", "only").code == 0
    code, text = in_pty(git_exp("show", "--json"), repo, {"GIT_PAGER": str(pager)})
    assert code == 0 and json.loads(paged(pager)[0])[0]["name"] == "only" and "\x1b" not in paged(pager)[0]


@pytest.mark.once  # the terminal, not the object or ref format
def test_default_pager_is_less_with_git_defaults_or_none_without_it(wide, tmp_path):
    only = tmp_path / "bin"
    only.mkdir()
    (only / "git").symlink_to(shutil.which("git"))
    code, text = in_pty(git_exp("show", "-n", "1"), wide, {"PATH": str(only)})
    assert code == 0 and "e4" in text  # no less on PATH: no pager
    (only / "less").write_text(f'#!/bin/sh\necho "less $* LESS=$LESS" > {tmp_path}/less.env\ncat > /dev/null\n')
    (only / "less").chmod(0o755)
    code, text = in_pty(git_exp("show", "-n", "1"), wide, {"PATH": f"{only}:/bin:/usr/bin"})
    assert code == 0 and "e4" not in text and (tmp_path / "less.env").read_text() == "less  LESS=FRX\n"


def test_empty_states_say_what_to_do(repo, exp):
    ran = exp("show")
    assert (ran.code, ran.out, ran.err) == (0, "", "no experiments yet — `git exp save` or `git exp run -- CMD` makes one; "
                                                "`git exp ls origin` lists a remote's\n")
    assert exp("show", "--md").err == ran.err
    assert (exp("show", "--json").out, exp("show", "--json").err) == ("[]\n", "")
    assert exp("save", "-n", "one").code == 0
    ran = exp("show", "--where", "params.lr > 2")
    assert (ran.code, ran.out) == (0, "")
    assert ran.err == "no experiment matches --where 'params.lr > 2' — `git exp show` without it lists them all\n"
    assert exp("show", "-n", "0").err == ""


def test_every_status_and_the_best_in_their_slots():
    from git_exp.present.table import render
    from git_exp.terminal import PALETTE

    rows = [{"name": s, "status": s, "metrics.val_loss": i, "metrics.acc": i} for i, s in
            enumerate(("ok", "failed", "running", "interrupted", "saved"))]
    lines = render(rows, ["name", "status", "metrics.val_loss", "metrics.acc"], palette=PALETTE).text.splitlines()[2:]
    assert [line.split()[1] for line in lines] == ["\x1b[32mok\x1b[m", "\x1b[31mfailed\x1b[m", "\x1b[33mrunning\x1b[m",
                                                    "\x1b[33minterrupted\x1b[m", "saved"]
    assert "\x1b[1m0\x1b[m" in lines[0] and lines[0].endswith("0")  # lowest loss; acc 0 is not the best
    assert lines[4].endswith("\x1b[1m4\x1b[m") and "\x1b[1m" not in lines[2]


@pytest.mark.parametrize("column, lower", [
    ("metrics.loss", True), ("metrics.loss.train", True), ("metrics.val_loss", True), ("metrics.valLoss", True),
    ("metrics.error_rate", True), ("metrics.rmse", True), ("metrics.eval/wer", True), ("metrics.test-mae", True),
    ("metrics.acc", False), ("metrics.f1", False), ("metrics.auc", False), ("metrics.terrain", False),
])
def test_which_way_a_metric_is_better(column, lower):
    from git_exp.better import lower_is_better

    assert lower_is_better(column) is lower
