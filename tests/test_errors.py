"""The error boundary: one line, the right exit code, git's message indented, no traceback."""
import pytest

from git_exp.cli import main

from .conftest import assert_error, exp_refs


def test_failing_git_shows_its_message_indented(repo, exp):
    (repo / ".git" / "index").write_bytes(b"garbage, not an index")
    ran = exp("save", "-n", "x")
    assert ran.code == 1
    first, *rest = ran.err.splitlines()
    # the first git to read the index: the size check's listing of untracked files (cautions)
    assert first.startswith("git-exp: error: `git ls-files -z --others --exclude-standard` failed (exit 128)")
    assert rest and all(line.startswith("    ") for line in rest)
    assert "index" in rest[0]
    assert "Traceback" not in ran.err
    assert exp_refs(repo) == {}


def test_debug_shows_the_traceback(repo, monkeypatch):
    monkeypatch.setenv("GIT_EXP_DEBUG", "1")
    with pytest.raises(Exception, match="invalid experiment name"):
        main(["save", "-n", "a..b"])
    monkeypatch.setenv("GIT_EXP_DEBUG", "0")
    assert main(["save", "-n", "a..b"]) == 2


def test_usage_errors(repo, exp):
    assert_error(exp("save", "--bogus"), 2, "no such option: --bogus", "git exp save -h")
    assert_error(exp("frobnicate"), 2, "no such command")
    assert_error(exp("diff"), 2, "missing argument 'A' — see")
    assert_error(exp("gc", "--keep", "many"), 2, "--keep")


def test_unknown_experiment_everywhere(repo, exp):
    for args in (("diff", "ghost"), ("apply", "ghost"), ("branch", "ghost"), ("rename", "ghost", "x"),
                 ("rm", "ghost"), ("show", "ghost")):
        assert_error(exp(*args), 2, "ghost")


def test_not_a_repository_everywhere(tmp_path, exp):
    for args in (("ls",), ("show",), ("rm", "x"), ("gc",), ("push", "--all"), ("pull", "--all"),
                 ("install",), ("doctor",), ("diff", "a")):
        assert_error(exp(*args, cwd=tmp_path), 2, "not a git repository")


def test_no_args_prints_a_short_usage_as_bare_git_does(exp):
    """Not the whole help as an error: one line per command on stdout, exit 1 as bare git."""
    from git_exp.cli import COMMANDS

    ran = exp()
    assert (ran.code, ran.err) == (1, "")
    lines = ran.out.splitlines()
    assert lines[0].startswith("usage: git exp ") and "git help exp" in lines[-1]
    listed = [line.split()[0] for line in lines if line.startswith("   ")]
    assert listed == list(COMMANDS)
    assert "Options:" not in ran.out and len(lines) < len(COMMANDS) + 8


def test_version(exp):
    from git_exp import __version__

    assert exp("--version").out == f"git-exp {__version__}\n"
