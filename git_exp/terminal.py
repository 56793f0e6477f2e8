"""What goes to the terminal: its width, colour or not, and the pager — decided as git decides.

Read once per command from the environment, whether stdout is a terminal, and one
``git config`` (started early, beside the listing: ``start_config``):

- **Width**: ``$COLUMNS`` when set to a number, else the width of the terminal stdout is
  (git's ``term_columns``); when stdout is no terminal and ``$COLUMNS`` is unset, no
  limit: a file or a pipe gets every column whole.  git itself sets ``$COLUMNS`` when it
  starts a pager for ``git -p exp`` or ``pager.exp``, so those fit too.
- **Pager**, only when stdout is a terminal (git's ``git_pager``): ``$GIT_PAGER``, else
  ``pager.exp`` when it is a command, else ``core.pager``, else ``$PAGER``, else ``less``
  (none where ``less`` is not on ``PATH``); empty or ``cat`` means none.
  ``pager.exp=false`` (or ``--no-pager``) turns paging off.
  When ``git exp`` runs under git, git has applied ``pager.exp`` and ``git --no-pager`` /
  ``git -p`` already: with ``--no-pager`` git sets ``GIT_PAGER=cat``; when git pages, our
  stdout is its pager's pipe (not a terminal) and ``GIT_PAGER_IN_USE=true``; so nothing
  is paged twice.  ``git.Pager`` runs the pager.
- **Colour** (git's ``want_color``): ``--color[=WHEN]``/``--no-color``, else
  ``color.exp``, else ``color.ui`` (``always``, ``never``, ``auto``; git's booleans:
  true means auto, false never), else auto.  Auto means on when stdout is a terminal,
  or a pager (ours, or git's: ``GIT_PAGER_IN_USE``), unless ``color.pager=false``, and
  ``$TERM`` is set and not ``dumb``, and ``$NO_COLOR`` is unset or empty
  (no-color.org: an explicit ``always`` in config or on the command line wins over it).
  ``color.exp.<slot>`` sets a slot's colour in git's syntax (``bold green``, ``#ff8800
  ul``): slots ``ok``, ``failed``, ``running``, ``interrupted``, ``best``, ``rejected``,
  ``diverged``.
"""
from __future__ import annotations

import os
import sys

from git_exp import git

CONFIG = ("config", "-z", "--get-regexp", r"^(core\.pager|pager\.exp|color\.(ui|pager|exp)(\..+)?)$")
COLOR_SLOTS = ("ok", "failed", "running", "interrupted", "best", "rejected", "diverged")
PALETTE = {  # git's escape codes (``\033[m`` resets)
    "ok": "\033[32m", "failed": "\033[31m", "running": "\033[33m", "interrupted": "\033[33m",
    "best": "\033[1m", "rejected": "\033[31m", "diverged": "\033[33m",
}
RESET = "\033[m"
WHEN = ("always", "never", "auto")
_TRUE = ("true", "yes", "on", "1", "")
_FALSE = ("false", "no", "off", "0")


class Terminal:
    """The decisions for one command's output: ``width`` (None: no limit), ``palette``
    (slot -> escape code; None: no colour), ``pager`` (a command, or None), and the
    ``encoding`` stdout writes."""

    __slots__ = ("width", "palette", "pager", "encoding")

    def __init__(self, width: int | None = None, palette: dict | None = None, pager: str | None = None,
                 encoding: str | None = None) -> None:
        self.width, self.palette, self.pager = width, palette, pager
        self.encoding = encoding or getattr(sys.stdout, "encoding", None) or "utf-8"

    def __repr__(self) -> str:
        return f"Terminal(width={self.width}, colour={self.palette is not None}, pager={self.pager!r})"


def needs_config(colour_undecided: bool, paging: bool) -> bool:
    """Whether ``settings`` has anything to read in the config: colour not given on the
    command line for output that may be coloured, or a pager that may start."""
    return colour_undecided or paging and stdout_is_tty()


def colours() -> dict | None:
    """The palette for stdout, or None for no colour (no ``--color`` to consider)."""
    return settings(start_config(), paging=False).palette


def start_config() -> git.Running:
    """Start the ``git config`` read that ``settings`` uses, here, before the repository has
    been looked at (unpinned: ``color.ui`` is the user's, not our ``-c color.ui=false``)."""
    return git.start(*CONFIG, pinned=False)


def read_config(running: git.Running | None) -> dict[str, str]:
    """``{key: last value}`` from ``start_config``'s git (keys lower-cased as git gives them)."""
    if running is None:
        return {}
    found: dict[str, str] = {}
    for entry in running.wait(check=False).out.split("\0"):
        key, newline, value = entry.partition("\n")
        if key:
            found[key] = value if newline else "true"  # `[color] ui` alone is a true boolean
    return found


def color_when(option: str | None) -> str | None:
    """``--color=WHEN`` checked: always, never, auto (or None, not given)."""
    if option is None:
        return None
    when = option.lower()
    if when not in WHEN:
        from git_exp.errors import UsageError
        from git_exp.names import shown

        raise UsageError(f"--color takes always, never or auto, not {shown(option)} — e.g. --color=never")
    return when


def _colorbool(value: str | None) -> str | None:
    """git's ``git_config_colorbool``: always, never, auto (true is auto), None for unset."""
    if value is None:
        return None
    value = value.lower()
    if value in WHEN:
        return value
    if value in _TRUE:
        return "auto"
    if value in _FALSE:
        return "never"
    return None  # not a colour setting: as git, treated as unset here (git itself dies)


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    value = value.lower()
    return True if value in _TRUE else False if value in _FALSE else None


def stdout_is_tty() -> bool:
    try:
        return os.isatty(sys.stdout.fileno())
    except (OSError, ValueError):
        return False


def width(is_tty: bool) -> int | None:
    """``$COLUMNS``, else the terminal's width, else None (see the module)."""
    text = os.environ.get("COLUMNS", "")
    if text.isdigit() and int(text) > 0:
        return int(text)
    if is_tty:
        try:
            return os.get_terminal_size(sys.stdout.fileno()).columns or None
        except (OSError, ValueError):
            return None
    return None


def wants_color(config: dict[str, str], option: str | None, is_tty: bool, paged: bool = False) -> bool:
    """Colour or not (see the module); ``paged``: stdout goes to a pager we start, which
    ``color.pager=false`` leaves without colour as git's do."""
    when = option or _colorbool(config.get("color.exp")) or _colorbool(config.get("color.ui")) or "auto"
    if when != "auto":
        return when == "always"
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("TERM", "dumb") == "dumb":
        return False
    if is_tty and not paged:
        return True
    in_pager = paged or os.environ.get("GIT_PAGER_IN_USE", "").lower() in _TRUE[:-1]
    return in_pager and _bool(config.get("color.pager")) is not False


def pager(config: dict[str, str], is_tty: bool) -> str | None:
    """The pager command for this output, or None (see the module)."""
    if not is_tty:
        return None
    per_command = config.get("pager.exp")
    flag = _bool(per_command)
    if flag is False:
        return None
    command = os.environ.get("GIT_PAGER")
    if command is None:
        command = per_command if per_command is not None and flag is None else config.get("core.pager")
    if command is None:
        command = os.environ.get("PAGER")
    if command is None:
        command = "less" if _on_path("less") else "cat"  # git's default, where there is one
    return None if not command.strip() or command.strip() == "cat" else command


def _on_path(program: str) -> bool:
    return any(os.access(os.path.join(folder or ".", program), os.X_OK)
               for folder in os.environ.get("PATH", "").split(os.pathsep))


def palette(config: dict[str, str], colors: str | None = None) -> dict[str, str]:
    """The slot colours: ours, with ``color.exp.<slot>`` settings as git's ``--type=color``
    gave them (``colors``: that git's output, read only when a slot is set)."""
    chosen = dict(PALETTE)
    if colors:
        for line in colors.splitlines():
            key, _, code = line.partition(" ")
            slot = key[len("color.exp."):]
            if slot in chosen:
                chosen[slot] = code
    return chosen


def settings(running: git.Running | None, *, color: str | None = None, paging: bool = True,
             colored: bool = True) -> Terminal:
    """The ``Terminal`` for stdout: ``running`` is ``start_config``'s git; ``color`` the
    ``--color`` option (always/never/auto or None); ``paging`` False for ``--no-pager``;
    ``colored`` False where the output has no colour to give (JSON, CSV)."""
    config = read_config(running)
    tty = stdout_is_tty()
    command = pager(config, tty) if paging else None
    chosen = None
    if colored and wants_color(config, color, tty, paged=command is not None):
        slots = [key for key in config if key.startswith("color.exp.") and key[len("color.exp."):] in COLOR_SLOTS]
        colors = git.run(*CONFIG[:1], "--type=color", "--get-regexp", r"^color\.exp\.", pinned=False,
                         check=False).out if slots else None
        chosen = palette(config, colors)
    return Terminal(width(tty), chosen, command)


def paint(text: str, palette: dict | None, slot: str) -> str:
    """``text`` in ``slot``'s colour, or as it is without colour or for an unknown slot."""
    code = palette.get(slot) if palette else None
    return code + text + RESET if code else text


class paged:
    """``with paged(terminal):`` stdout goes through ``terminal.pager`` when there is one
    (``git.Pager``; None: no pager); ``quit`` is True after the user quit the pager early."""

    def __init__(self, terminal: Terminal | None) -> None:
        self.terminal, self.running, self.quit = terminal, None, False

    def __enter__(self) -> paged:
        if self.terminal is not None and self.terminal.pager:
            self.running = git.Pager(self.terminal.pager)
        return self

    def __exit__(self, *exc) -> bool:
        if self.running is None:
            return False
        swallowed = self.running.__exit__(*exc)
        self.quit = self.running.quit
        return swallowed
