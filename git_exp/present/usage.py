"""Bare ``git exp``: a short usage on stdout, as bare ``git`` gives (exit 1)."""
from __future__ import annotations

from git_exp.present.common import out


def line(text: str, room: int) -> str:
    """A command's summary in one line of ``room`` characters: its first sentence, else
    cut after a word with ``…``."""
    end = text.find(". ")
    text = text[:end + 1] if end > 0 else text
    if len(text) <= room:
        return text
    cut = text[:room - 1].rsplit(" ", 1)[0].rstrip(",;:(")
    return cut + "…"


def usage(summary: str, commands: list[tuple[str, str]]) -> int:
    """The command list, one line each (fitted to the terminal, else 80 columns), and where
    the rest is; the exit code, 1 as git's."""
    import shutil

    width = max((len(name) for name, _ in commands), default=0)
    room = max(shutil.get_terminal_size((80, 24)).columns - width - 7, 30)
    out(f"usage: git exp [--version] [-h | --help] <command> [<args>]\n\n{summary}\n\n"
        + "".join(f"   {name:<{width}}   {line(text, room)}\n" for name, text in commands)
        + "\n'git exp <command> -h' shows a command's options; 'git help exp' (man git-exp) is the manual.")
    return 1
