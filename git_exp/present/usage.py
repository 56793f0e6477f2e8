"""Bare ``git exp``: a short usage on stdout, as bare ``git`` gives (exit 1)."""
from __future__ import annotations

from git_exp.present.common import out


def usage(summary: str, commands: list[tuple[str, str]]) -> int:
    """The command list, one line each, and where the rest is; the exit code, 1 as git's."""
    width = max((len(name) for name, _ in commands), default=0)
    out(f"usage: git exp [--version] [-h | --help] <command> [<args>]\n\n{summary}\n\n"
        + "".join(f"   {name:<{width}}   {text}\n" for name, text in commands)
        + "\n'git exp <command> -h' shows a command's options; 'git help exp' (man git-exp) is the manual.")
    return 1
