"""``show`` on a terminal streams its table (``commands.show_stream``, ``present.table.Stream``):
the rows in chunks, newest first, the layout of the first chunk, a new header where a later
one widens it; every other output is the whole table as before.

Real git, a real pseudo-terminal (``test_terminal.in_pty``); the first chunk's size is
lowered with ``GIT_EXP_SHOW_CHUNK`` so that a few experiments make many chunks.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from .conftest import git
from .test_terminal import ANSI, git_exp, in_pty

CHUNK = "GIT_EXP_SHOW_CHUNK"


def _experiments(repo, count: int, extra_from: int | None = None) -> None:
    """``count`` experiments a minute apart (e00 oldest), of the same widths: the newest
    has the best acc and loss; with ``extra_from``, the experiments older than that one
    have one more param, ``zz_extra``, with a long value."""
    from tests.bench.fixtures import import_commits

    def commits(_base):
        for i in range(count):
            params = f"lr: 0.{i + 10}\nseed: {i + 10}\n"
            if extra_from is not None and i < extra_from:
                params += "zz_extra: a-value-wider-than-any-header\n"
            metrics = json.dumps({"acc": float(f"0.{i + 10}"), "loss": float(f"0.{99 - i}")})
            message = f"git exp run: train\n\nExp-Command: train\nExp-Exit-Code: 0\nExp-Status: ok\nExp-Duration: 1{i % 10}.5s\n"
            yield f"refs/exp/e{i:02d}", message, {"params.yaml": params.encode(), "metrics.json": metrics.encode()}

    head = git(repo, "rev-parse", "HEAD").strip()
    import_commits(repo, os.environ, head, commits(head))


def _redirected(repo, *args: str, columns: str = "120") -> str:
    """``show ARGS`` written to a pipe: the whole table, as before streaming."""
    env = {**os.environ, "COLUMNS": columns, CHUNK: "2"}
    proc = subprocess.run(git_exp("show", *args), cwd=repo, env=env, capture_output=True, text=True, check=True)
    return proc.stdout


@pytest.mark.parametrize("chunk", ["2", "7", None])
def test_streamed_table_is_the_whole_table_when_widths_do_not_change(repo, chunk):
    _experiments(repo, 40)  # at "2": chunks of 2, 8 (read directly), then 30 read at once, handed on as 32
    env = {"GIT_PAGER": "cat", "COLUMNS": "120", CHUNK: chunk}
    code, text = in_pty(git_exp("show"), repo, env)
    assert code == 0, text
    whole = _redirected(repo, "--color=always")
    assert text == whole
    assert len(whole.splitlines()) == 42 and "\x1b[1m0.49\x1b[m" in whole  # two header lines; the best acc marked
    assert in_pty(git_exp("show", "--no-color"), repo, env) == (0, _redirected(repo))


def test_a_later_column_or_wider_cell_is_written_under_a_new_header(repo):
    _experiments(repo, 12, extra_from=3)  # e00..e02, the oldest, have zz_extra
    code, text = in_pty(git_exp("show", "--no-color"), repo, {"GIT_PAGER": "cat", "COLUMNS": "200", CHUNK: "2"})
    assert code == 0, text
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("name ")]
    assert headers[0] == 1 and len(headers) == 2  # the first chunk's header, and one where zz_extra comes
    assert "zz_extra" not in lines[headers[0]] and "zz_extra" in lines[headers[1]]
    assert lines[headers[1] - 1].lstrip().startswith("metrics ─")  # its group row too
    names = [line.split()[0] for line in lines if line.startswith("e")]
    assert names == [f"e{i:02d}" for i in range(11, -1, -1)]  # every row once, newest first
    older = [line for line in lines if line.split()[:1] in (["e00"], ["e01"], ["e02"])]
    assert all("a-value-wider-than-any-header" in line for line in older)  # nothing dropped or cut
    whole = _redirected(repo, "--no-color", columns="200")
    assert whole.count("\nname ") == 1 and "zz_extra" in whole.splitlines()[1]  # one header there, from every row
    assert [line for line in lines if line.startswith("e")] != [line for line in whole.splitlines() if line.startswith("e")]


@pytest.mark.parametrize("args", [["--sort", "name"], ["--where", "metrics.acc > 0.1"], ["--reverse"],
                                  ["--only-changed"], ["--columns", "name,zz_extra,acc"], ["e0*"]])
def test_options_that_need_every_row_show_the_whole_table(repo, args):
    _experiments(repo, 12, extra_from=3)
    code, text = in_pty(git_exp("show", "--no-color", *args), repo, {"GIT_PAGER": "cat", "COLUMNS": "200", CHUNK: "2"})
    assert code == 0, text
    assert text == _redirected(repo, "--no-color", *args, columns="200")
    assert text.count("\nname ") + text.startswith("name ") <= 1


def test_max_count_streams_the_newest(repo):
    _experiments(repo, 12)
    code, text = in_pty(git_exp("show", "--no-color", "-n", "5"), repo, {"GIT_PAGER": "cat", "COLUMNS": "200", CHUNK: "2"})
    assert code == 0, text
    assert [line.split()[0] for line in text.splitlines()[2:]] == ["e11", "e10", "e09", "e08", "e07"]
    assert text == _redirected(repo, "--no-color", "-n", "5", columns="200")
    assert in_pty(git_exp("show", "-n", "0"), repo, {"GIT_PAGER": "cat", CHUNK: "2"}) == (0, "")
    code, text = in_pty(git_exp("show", "-n", "-1"), repo, {"GIT_PAGER": "cat", CHUNK: "2"})
    assert code == 2 and text.startswith("git-exp: error: -n takes a count") and "Traceback" not in text


@pytest.mark.parametrize("fmt", ["--json", "--csv", "--md"])
def test_other_formats_on_a_terminal_are_not_streamed(repo, fmt):
    _experiments(repo, 12, extra_from=3)
    code, text = in_pty(git_exp("show", fmt), repo, {"GIT_PAGER": "cat", CHUNK: "2"})
    assert code == 0, text
    assert text == _redirected(repo, fmt)


def test_nothing_to_show_says_so_without_a_pager(repo, tmp_path):
    pager = tmp_path / "pager.sh"
    pager.write_text(f"#!/bin/sh\ntouch {tmp_path}/started\ncat\n")
    pager.chmod(0o755)
    code, text = in_pty(git_exp("show"), repo, {"GIT_PAGER": str(pager), CHUNK: "2"})
    assert code == 0 and text.startswith("no experiments yet") and not (tmp_path / "started").exists()


def _many(repo) -> None:
    from tests.bench.fixtures import git_exp_commits, import_commits

    head = git(repo, "rev-parse", "HEAD").strip()
    import_commits(repo, os.environ, head, git_exp_commits(1500)(head))  # far more than a pipe holds


def test_quitting_the_pager_mid_stream_is_quiet(repo, tmp_path):
    _many(repo)
    quitter = tmp_path / "quit.sh"
    quitter.write_text(f"#!/bin/sh\nhead -c 300 > {tmp_path}/got; echo QUIT\n")
    quitter.chmod(0o755)
    code, text = in_pty(git_exp("show"), repo, {"GIT_PAGER": str(quitter), CHUNK: "5"})
    assert (code, text) == (0, "QUIT\n")
    assert len((tmp_path / "got").read_bytes()) == 300


def test_ctrl_c_mid_stream_is_one_line_and_130(repo, tmp_path):
    """Ctrl-C while the table streams: the pager (ignoring it, as ``less`` does) sends its
    process group — git-exp and its gits — the SIGINT a terminal sends, once the first
    rows came; git-exp says so in one line and exits 130, as before streaming."""
    _many(repo)
    pager = tmp_path / "interrupt.sh"
    pager.write_text(f"#!/bin/sh\ntrap '' INT\nhead -c 300 > {tmp_path}/got\nkill -INT 0\ncat > {tmp_path}/rest\n")
    pager.chmod(0o755)
    code, text = in_pty(git_exp("show"), repo, {"GIT_PAGER": str(pager), CHUNK: "5"})
    assert (code, text) == (130, "git-exp: interrupted\n")
    got = ANSI.sub("", (tmp_path / "got").read_text())
    assert got.splitlines()[1].startswith("name ")
    rest = (tmp_path / "rest").read_bytes()
    assert len(rest) < 1500 * 100  # cut short: not the whole table


def test_chunk_size_comes_from_the_environment_only_when_a_positive_number(monkeypatch):
    from git_exp.commands import show_stream

    for value, size in (("3", 3), ("0", show_stream.FIRST), ("x", show_stream.FIRST), ("", show_stream.FIRST)):
        monkeypatch.setenv(CHUNK, value)
        assert show_stream.first_size() == size
