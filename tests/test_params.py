"""The start-up fast path parses exactly as typer does, or leaves the line to typer."""
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_exp import cli
from git_exp.params import Param, parse, signature

from .conftest import commit_all, git, write

FAST = {name: fn for name, (fn, options) in cli.COMMANDS.items() if not options}
WORDS = ["e1", "sweep/a", "sweep/*", "origin", "", "5", "-3", "x y", "-", "--", "-h", "--help",
         "--bogus", "-z", "-rf", "-n5", "--name=", "--name=n", "--json=1", "--sort=-acc", "acc", "30d"]


def typer_kwargs(name: str, args: list):
    """The keyword arguments typer passes to command ``name``, or None if it refuses the line."""
    import typer

    group = typer.main.get_command(cli.build_app(name))
    try:
        ctx = group.context_class(group, info_name="git exp")
        sub = group.get_command(ctx, name).make_context(name, list(args), parent=ctx)
    except Exception as exc:  # click's usage errors and --help's exit
        assert type(exc).__name__ in ("NoSuchOption", "BadParameter", "MissingParameter", "UsageError",
                                      "BadOptionUsage", "BadArgumentUsage", "Exit"), exc
        return None
    # typer's own conversion: a list argument arrives as a list, an empty one as its default (None)
    return {k: (list(v) or None) if isinstance(v, tuple) else v for k, v in sub.params.items()}


def options_of(name: str) -> list:
    return [decl for _, _, p in signature(FAST[name]) if isinstance(p, Param) for decl in p.decls]


@st.composite
def command_lines(draw):
    name = draw(st.sampled_from(sorted(FAST)))
    tokens = st.sampled_from(WORDS + options_of(name)) | st.text(min_size=0, max_size=6)
    return name, draw(st.lists(tokens, max_size=6))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
def test_fast_path_agrees_with_typer(line):
    name, args = line
    fast = parse(FAST[name], args)
    if fast is not None:
        assert_same(fast, typer_kwargs(name, args), name, args)


def assert_same(fast: dict, typer: dict, *line) -> None:
    assert fast == typer, line
    assert {k: type(v) for k, v in fast.items()} == {k: type(v) for k, v in typer.items()}, line


def test_plain_lines_take_the_fast_path():
    accepted = [
        ("ls", []), ("ls", ["origin", "--json"]), ("ls", ["-r"]), ("show", ["--json"]),
        ("show", ["sweep/*", "--sort=-acc"]), ("show", ["sweep/*", "--sort", "acc"]),
        ("show", ["--where", "metrics.acc > 0.9", "--md"]), ("save", ["-n", "e1", "-m", "msg"]),
        ("push", ["origin", "--all"]), ("push", ["origin", "sweep/*", "-f"]), ("pull", ["--all"]),
        ("rm", ["e1", "e2", "--dry-run"]), ("gc", ["--keep", "5"]), ("diff", ["a", "b", "--stat"]),
        ("rename", ["a", "b"]), ("branch", ["a"]), ("install", ["origin"]), ("doctor", ["--json"]),
    ]
    for name, args in accepted:
        fast = parse(FAST[name], args)
        assert fast is not None, (name, args)
        assert_same(fast, typer_kwargs(name, args), name, args)
    declined = [("ls", ["-h"]), ("ls", ["a", "b"]), ("save", ["-rf"]), ("save", ["-n"]),
                ("save", ["-n", "--json"]), ("gc", ["--keep", "many"]), ("diff", []), ("ls", ["--json", "--json"]),
                ("show", ["--", "x"]), ("ls", ["--json=1"])]
    for name, args in declined:
        assert parse(FAST[name], args) is None, (name, args)
    assert "run" not in FAST  # run passes unknown options through to its program: typer's job


def test_fast_path_does_not_import_typer(repo):
    """``git exp ls`` and friends start without typer; ``-h`` still gets typer's help."""
    code = ("import sys; from git_exp.cli import main; code = main(sys.argv[1:]); "
            "sys.stdout.write('\\ntyper loaded: %s\\n' % ('typer' in sys.modules)); sys.exit(code)")

    def run(*args):
        env = {**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[1])}  # this checkout's package
        return subprocess.run([sys.executable, "-c", code, *args], cwd=repo, capture_output=True, text=True, env=env)

    for args in (["ls"], ["show", "--json"], ["ls", "-r", "--json"]):
        ran = run(*args)
        assert ran.returncode == 0 and ran.stdout.endswith("typer loaded: False\n"), (args, ran)
    helped = run("ls", "-h")
    assert "Usage: git exp ls" in helped.stdout and helped.stdout.endswith("typer loaded: True\n")


def test_both_paths_give_the_same_output(repo, exp, monkeypatch):
    import time

    stamp = f"@{int(time.time()) - 3 * 86400} +0000"  # ages in days: the same on both paths, whenever each runs
    monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)
    monkeypatch.setenv("GIT_AUTHOR_DATE", stamp)
    write(repo, {"params.yaml": "lr: 0.1\n", "metrics.json": '{"acc": 0.5}'})
    commit_all(repo)
    for i in range(3):
        write(repo, {"params.yaml": f"lr: 0.{i}\n", "metrics.json": f'{{"acc": 0.{i + 5}}}'})
        assert exp("save", "-n", f"sweep/{i}").code == 0
    git(repo, "init", "-q", "--bare", str(repo.parent / "remote.git"))
    git(repo, "remote", "add", "origin", str(repo.parent / "remote.git"))
    lines = [("ls",), ("ls", "--json"), ("show", "--json"), ("show", "sweep/*", "--sort", "-metrics.acc", "--md"),
             ("diff", "sweep/0", "sweep/1"), ("ls", "origin"), ("push", "origin", "--dry-run", "--all"),
             ("rm", "sweep/2", "-n"), ("gc", "--keep", "1", "--dry-run"), ("doctor", "--json"), ("ls", "nowhere"),
             ("diff", "ghost")]
    for line in lines:
        monkeypatch.delenv("GIT_EXP_TYPER", raising=False)
        fast = exp(*line)
        monkeypatch.setenv("GIT_EXP_TYPER", "1")
        slow = exp(*line)
        assert (fast.code, fast.out, fast.err) == (slow.code, slow.out, slow.err), line
