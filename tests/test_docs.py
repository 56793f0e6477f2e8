"""What users read stays true: the built man page is current and names every command."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from git_exp.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]


def test_man_page_is_built_from_its_source():
    built = subprocess.run([sys.executable, str(ROOT / "man" / "build.py"), str(ROOT / "man" / "git-exp.1.md")],
                           capture_output=True, check=True).stdout
    assert built == (ROOT / "man" / "git-exp.1").read_bytes(), "man/git-exp.1 is stale: run `make man`"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_documented(command):
    page = (ROOT / "man" / "git-exp.1.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert f"git exp {command}" in page
    assert f"git exp {command}" in readme


def test_every_option_is_in_the_man_page():
    import typer

    from git_exp.cli import build_app

    page = (ROOT / "man" / "git-exp.1.md").read_text()
    group = typer.main.get_command(build_app())
    missing = []
    for name, command in group.commands.items():
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option":
                for opt in param.opts:
                    if opt.startswith("--") and opt not in ("--help",) and opt not in page:
                        missing.append(f"{name} {opt}")
    assert not missing, missing


def test_readme_and_ci_agree_on_the_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make test" in readme and "make demo" in readme


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed: `make test` installs it")
def test_lint_clean():
    proc = subprocess.run(["ruff", "check", "git_exp", "tests", "man", "demo"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
