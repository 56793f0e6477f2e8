"""The plainest YAML, read without PyYAML: nested mappings of simple scalars, as most
``params.yaml`` files are.  PyYAML's C parser builds each value in Python (~150 µs for a
params file of six values here: 15 s of a cold ``show`` at 100k); this reads the same
file in ~5 µs.

``load(text)`` gives exactly what ``yaml.load(text, Loader=CSafeLoader)`` gives, or
``NOT_PLAIN`` for anything it does not know to read the same way — then the caller asks
PyYAML.  It reads only documents whose every line is blank, a comment, or ``KEY: VALUE``
/ ``KEY:`` indented by spaces under its parent, where

- ``KEY`` is a letter or ``_`` followed by letters, digits, ``_`` and ``-``, and not
  one of YAML 1.1's booleans or nulls (``yes``, ``Off``, ``null``, ...);
- ``VALUE`` (a trailing `` #comment`` dropped) is a decimal integer ``[-+]?(0|[1-9][0-9]*)``,
  a float ``[-+]?[0-9]+.[0-9]*`` with an optional ``[eE][-+][0-9]+`` (YAML 1.1 wants the
  dot and the exponent's sign: ``1e-05`` is text there, and so it is read by PyYAML),
  a boolean or null word, ``~``, a word of letters, digits, ``_``, ``.``, ``/`` and
  ``-`` starting with a letter, or a quoted string without escapes or inner quotes;
- ``KEY:`` alone opens a mapping when the next line is indented deeper, else is null.

Anything else (lists, flow style, anchors, tags, tabs, ``\\r``, document markers,
duplicate keys, multi-line scalars, timestamps, ``0x``/``0o``/``_`` numbers, ...) is
left to PyYAML.  ``tests/test_plainyaml.py`` compares the two on generated documents.
"""
from __future__ import annotations

NOT_PLAIN = object()

_BOOLS = {w: True for w in ("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")}
_BOOLS.update({w: False for w in ("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")})
_NULLS = frozenset(("null", "Null", "NULL", "~"))
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGITS = frozenset("0123456789")
_KEY_CHARS = _LETTERS | _DIGITS | frozenset("-")
_WORD_CHARS = _KEY_CHARS | frozenset("./")
_QUOTE_BAD = {'"': frozenset('"\\'), "'": frozenset("'")}


def load(text: str):
    """The value of the YAML document ``text``, or NOT_PLAIN (see the module docstring)."""
    if "\r" in text or "\t" in text or text.startswith("\ufeff"):
        return NOT_PLAIN
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        lines.append((len(line) - len(stripped), stripped))
    if not lines or lines[0][0] != 0:
        return NOT_PLAIN
    root: dict = {}
    stack = [(0, root)]  # (indent of the mapping's keys, the mapping); -1: its first line's
    for at, (indent, body) in enumerate(lines):
        key, colon, rest = body.partition(":")
        if not colon or not _is_key(key):
            return NOT_PLAIN
        while indent < stack[-1][0]:
            stack.pop()  # the root's indent is 0: never empty
        level, mapping = stack[-1]
        if level == -1:  # a mapping's first key: deeper than its parent's (``KEY:`` checked)
            stack[-1] = (indent, mapping)
        elif indent != level:
            return NOT_PLAIN  # deeper than its siblings, or between two levels
        if key in mapping:
            return NOT_PLAIN
        if rest and rest[0] != " ":
            return NOT_PLAIN  # "a:b" is one plain scalar
        rest = _uncommented(rest.strip(" "))
        if rest is None:
            return NOT_PLAIN
        if rest == "":
            if at + 1 < len(lines) and lines[at + 1][0] > indent:
                child: dict = {}
                mapping[key] = child
                stack.append((-1, child))
            else:
                mapping[key] = None
            continue
        value = _scalar(rest)
        if value is NOT_PLAIN:
            return NOT_PLAIN
        mapping[key] = value
    return root


def _is_key(key: str) -> bool:
    return bool(key) and key[0] in _LETTERS and _KEY_CHARS.issuperset(key) and key not in _BOOLS \
        and key not in _NULLS


def _uncommented(value: str) -> str | None:
    """``value`` without a trailing comment (`` #`` starts one); None when a ``#`` is
    anywhere else (inside quotes or a word: left to PyYAML)."""
    at = value.find(" #")
    if at >= 0:
        value = value[:at].rstrip(" ")
    return None if "#" in value else value


def _scalar(text: str):
    first = text[0]
    if first in "\"'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != first or not _QUOTE_BAD[first].isdisjoint(inner):
            return NOT_PLAIN
        return inner
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _NULLS:
        return None
    if first in _LETTERS:
        return text if _WORD_CHARS.issuperset(text) else NOT_PLAIN
    return _number(text)


def _number(text: str):
    digits = text[1:] if text[0] in "+-" else text
    if not digits:
        return NOT_PLAIN
    if len(digits) > 100:
        return NOT_PLAIN  # Python's limit on digits and its message: PyYAML's way
    if digits.isdigit() and digits.isascii():
        if digits[0] == "0" and len(digits) > 1:
            return NOT_PLAIN  # octal in YAML 1.1
        return int(text)
    mantissa, e, exponent = digits.partition("e") if "e" in digits else digits.partition("E")
    whole, dot, fraction = mantissa.partition(".")
    if not dot or not whole or not (whole.isdigit() and whole.isascii()):
        return NOT_PLAIN
    if fraction and not (fraction.isdigit() and fraction.isascii()):
        return NOT_PLAIN
    if e and not (len(exponent) > 1 and exponent[0] in "+-" and exponent[1:].isdigit() and exponent.isascii()):
        return NOT_PLAIN
    return float(text)


_LINE_MEMO_MAX = 1 << 14  # lines remembered by ``load_flat``: a sweep's files share most of theirs (the memo is
#                         cleared when full: 16k lines, ~5 MB, where 128k held ~30 MB of mostly unique values)
_lines: dict[str, tuple | None] = {}  # a line -> (indent, key, value or _OPENS) or None (blank, comment)
_OPENS = object()  # ``KEY:`` alone: a mapping opens when the next line is deeper, else null


def _line(line: str):
    """What one line of a plain document says (``load_flat``), or NOT_PLAIN."""
    stripped = line.lstrip(" ")
    if not stripped or stripped[0] == "#":
        return None
    key, colon, rest = stripped.partition(":")
    if not colon or not _is_key(key) or (rest and rest[0] != " "):
        return NOT_PLAIN
    rest = _uncommented(rest.strip(" "))
    if rest is None:
        return NOT_PLAIN
    value = _OPENS if rest == "" else _scalar(rest)
    if value is NOT_PLAIN:
        return NOT_PLAIN
    return len(line) - len(stripped), key, value


def load_flat(text: str, prefix: str, max_values: int, max_depth: int):
    """``load(text)`` flattened as ``results.flatten`` flattens it under ``prefix``
    (``{"params.model.depth": 3}``), or NOT_PLAIN for what ``load`` leaves to PyYAML and
    for a document past ``max_values`` keys or ``max_depth`` levels (PyYAML's way then
    says why).  Lines are parsed once per process (a sweep's files differ in a line or
    two: at 100k files, 0.3 s instead of 3 s), and dotted keys are interned, so 100k rows
    share one string per column."""
    if "\r" in text or "\t" in text or text.startswith("\ufeff"):
        return NOT_PLAIN
    memo = _lines
    if len(memo) > _LINE_MEMO_MAX:
        memo.clear()
    said = []
    for line in text.split("\n"):
        got = memo.get(line, NOT_PLAIN)
        if got is NOT_PLAIN:
            got = memo[line] = _line(line)
            if got is NOT_PLAIN:
                return NOT_PLAIN
        if got is not None:
            said.append(got)
    if not said or said[0][0] != 0 or len(said) > max_values:
        return NOT_PLAIN
    from sys import intern

    flat: dict = {}
    seen: set = set()  # every dotted path, of leaves and mappings: a duplicate key is left to PyYAML
    stack = [(0, f"{prefix}.")]  # (indent of the mapping's keys, its dotted prefix); -1: its first line's
    for at, (indent, key, value) in enumerate(said):
        while indent < stack[-1][0]:
            stack.pop()
        level, above = stack[-1]
        if level == -1:
            stack[-1] = (indent, above)
        elif indent != level:
            return NOT_PLAIN
        dotted = above + key
        if dotted in seen:
            return NOT_PLAIN
        seen.add(dotted)
        if value is _OPENS:
            if at + 1 < len(said) and said[at + 1][0] > indent:
                if len(stack) >= max_depth:
                    return NOT_PLAIN
                stack.append((-1, dotted + "."))
                continue
            value = None
        flat[intern(dotted)] = value
    return flat
