"""A recorded ``Exp-Command`` read back into the argv to run (``git exp rerun``).

``redact.command_line`` writes argv as one POSIX shell line: plain words, single-quoted
words (``shlex.quote``), and double-quoted words holding ``$NAME`` references where the
value of a secret-looking environment variable was; a secret it could not name is ``***``.
``argv`` reads exactly that form back, without a shell (no globbing, no other expansion):

- ``$NAME`` / ``${NAME}`` inside double quotes take the value of ``NAME`` in the
  environment now; an unset one is refused (``Unrunnable``), never replaced by nothing.
- ``***`` anywhere means a secret was masked and its value is gone: refused.
- Anything ``command_line`` never writes (an unquoted ``$``, ``;``, a backquote, an
  unbalanced quote) is refused: the line was not written by git-exp, and guessing how a
  shell would read it is how a rerun runs something else.
"""
from __future__ import annotations

import os

from git_exp.errors import UsageError
from git_exp.redact import MASK

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Mapping

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")
_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class Unrunnable(UsageError):
    """The recorded command cannot be run again as it was."""


def argv(line: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The arguments of the command line ``line``, ``$NAME`` references expanded from ``env``."""
    env = os.environ if env is None else env
    if MASK in line:
        raise Unrunnable("the recorded command holds *** where git-exp hid a secret when it was recorded, and "
                         "the value is gone — run it again yourself with `git exp run -- CMD`")
    words: list[str] = []
    word: list[str] | None = None
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == " ":
            if word is not None:
                words.append("".join(word))
                word = None
            i += 1
            continue
        word = [] if word is None else word
        if c == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise _foreign("an unbalanced single quote")
            word.append(line[i + 1:end])
            i = end + 1
        elif c == '"':
            i = _double(line, i + 1, word, env)
        elif c in _PLAIN or (not c.isascii() and c.isprintable()):
            word.append(c)
            i += 1
        else:
            raise _foreign(f"{c!r} outside quotes")
    if word is not None:
        words.append("".join(word))
    if not words:
        raise _foreign("no command")
    return words


def _double(line: str, i: int, word: list[str], env: Mapping[str, str]) -> int:
    """Read a double-quoted part from just after its quote; return the index after it."""
    n = len(line)
    while i < n:
        c = line[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < n and line[i + 1] in '"\\$`':
            word.append(line[i + 1])
            i += 2
        elif c == "$":
            i = _reference(line, i + 1, word, env)
        elif c == "`":
            raise _foreign("a backquote")
        else:
            word.append(c)
            i += 1
    raise _foreign("an unbalanced double quote")


def _reference(line: str, i: int, word: list[str], env: Mapping[str, str]) -> int:
    braced = line.startswith("{", i)
    start = i + braced
    end = start
    while end < len(line) and line[end] in _NAME:
        end += 1
    name = line[start:end]
    if not name or name[0].isdigit() or (braced and not line.startswith("}", end)):
        raise _foreign("a $ that is no variable reference")
    value = env.get(name)
    if value is None:
        raise Unrunnable(f"the recorded command uses ${name} (a secret git-exp did not record), and {name} is not "
                         f"set here — set {name} in the environment and rerun")
    word.append(value)
    return end + braced


def _foreign(what: str) -> Unrunnable:
    return Unrunnable(f"the recorded command is not one git-exp wrote ({what}) — run it yourself with "
                      "`git exp run -- CMD`")
