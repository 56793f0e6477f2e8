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


def option_lines(function):
    """Every declared option of ``function`` in each spelling a user may write, with its
    required arguments before and after: ``(line, canonical)``; canonical lines (``--opt
    value``, ``--opt=value``, ``-o value``, a flag) are the ones the fast path must take."""
    params = signature(function)
    required = [f"a{i}" for i, (_, _, p) in enumerate(params) if p.kind == "Argument" and p.default is ...]
    for _, annotation, p in params:
        if p.kind != "Option":
            continue
        value = "5" if annotation.startswith("int") else "v-1"
        for decl in p.decls:
            if annotation == "bool":
                spelled = [([decl], True), ([f"{decl}=1"], False)]
            elif decl.startswith("--"):
                spelled = [([decl, value], True), ([f"{decl}={value}"], True), ([decl], False)]
            else:
                spelled = [([decl, value], True), ([decl + value], False), ([f"{decl}={value}"], False)]
            for words, canonical in spelled:
                yield required + words, canonical
                yield words + required, canonical


def test_every_declared_option_parses_as_typer_parses_it():
    """Generated from COMMANDS: a command added later is covered without a new test."""
    from git_exp.params import refused

    checked = 0
    for name, (function, options) in cli.COMMANDS.items():
        if options:  # context settings (run): main never takes the fast path for it
            continue
        assert refused(function) is None, (name, refused(function))  # or its lines all go to typer
        for line, canonical in option_lines(function):
            fast = parse(function, line)
            if canonical:
                assert fast is not None, (name, line)
            if fast is not None:
                assert_same(fast, typer_kwargs(name, line), name, line)
                checked += 1
    assert checked > 100


def one_param(kind: str, default=None, *decls, annotation: str = "str | None", **settings):
    """A command of one parameter, declared as cli.py declares them."""
    from git_exp import params

    def command(x=getattr(params, kind)(default, *decls, **settings)):
        pass
    command.__annotations__ = {"x": annotation}
    return command


def test_a_setting_the_fast_path_does_not_implement_sends_the_command_to_typer(monkeypatch):
    """Every typer.Option/typer.Argument setting outside NEUTRAL (asked of typer itself, so
    a setting a later typer adds is covered too) makes parse decline."""
    import inspect

    import typer

    from git_exp.params import NEUTRAL, refused

    for kind, decls, line in (("Option", ("--x",), ["--x", "1"]), ("Argument", (), ["1"])):
        assert parse(one_param(kind, None, *decls), line) == {"x": "1"}
        settings_ = set(inspect.signature(getattr(typer, kind)).parameters) - {"default", "param_decls"}
        for setting in sorted(settings_ - NEUTRAL):
            command = one_param(kind, None, *decls, **{setting: object()})
            assert refused(command) is not None and parse(command, line) is None, setting
    for command in (one_param("Option", True, "--f", annotation="bool"),  # typer: --f would give False
                    one_param("Option", False, "--f/--no-f", annotation="bool"),
                    one_param("Option", None, "--x", annotation="float | None"),
                    one_param("Option", None, "--x", annotation="list[str]")):
        assert refused(command) is not None and parse(command, []) is None


def test_envvar_is_why_settings_are_refused(monkeypatch):
    """typer reads an envvar= option from the environment: a fast path that ignored the
    setting would pass None where typer passes the variable's value."""
    import typer

    from git_exp.params import to_typer

    command = one_param("Option", None, "--x", envvar="GIT_EXP_TEST_X")
    app = typer.Typer()
    app.command()(to_typer(command))
    monkeypatch.setenv("GIT_EXP_TEST_X", "from-env")
    assert typer.main.get_command(app).make_context("x", []).params == {"x": "from-env"}
    assert parse(command, []) is None
