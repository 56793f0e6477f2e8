"""``--where`` filters and ``--sort`` keys over table rows (dicts of column -> value).

Grammar: ``KEY OP VALUE [and KEY OP VALUE ...]`` with OP one of == = != < <= > >=.
VALUE is a number, or a string (bare or quoted).  Numbers compare as numbers,
anything else as strings; a row without KEY never matches.
"""
from __future__ import annotations

import operator
import re
import shlex
from typing import Any, Callable

from git_exp.errors import UsageError
from git_exp.names import shown

OPS = {"==": operator.eq, "=": operator.eq, "!=": operator.ne, "<": operator.lt,
       "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_CONDITION = re.compile(r"^\s*(?P<key>[^\s=!<>]+)\s*(?P<op>==|!=|<=|>=|=|<|>)\s*(?P<value>.+?)\s*$", re.S)


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _compare(op: Callable, left: Any, right: str) -> bool:
    lnum, rnum = number(left), number(right)
    if lnum is not None and rnum is not None:
        return op(lnum, rnum)
    text = str(left).lower() if isinstance(left, bool) else str(left)
    return op(text, right)


def parse_where(expr: str) -> Callable[[dict], bool]:
    parts = re.split(r"\s+and\s+", expr.strip(), flags=re.I)
    conditions = []
    for part in parts:
        match = _CONDITION.match(part)
        if not match:
            raise UsageError(f"cannot read --where condition {part!r} — write KEY OP VALUE, e.g. 'metrics.acc > 0.9'")
        value = match["value"]
        if value[:1] in "'\"":
            try:
                (value,) = shlex.split(value)
            except ValueError:
                raise UsageError(f"unbalanced quotes in --where value {match['value']!r} — close the quote") from None
        conditions.append((match["key"], OPS[match["op"]], value))

    def accept(row: dict) -> bool:
        return all(key in row and row[key] is not None and _compare(op, row[key], value)
                   for key, op, value in conditions)

    return accept


def sort_rows(rows: list[dict], key: str) -> list[dict]:
    """Sort by ``key`` (``-key`` descending): numbers first, then strings, missing last."""
    descending = key.startswith("-")
    key = key.lstrip("-")
    if rows and not any(key in row for row in rows):
        raise UsageError(f"no column named {shown(key)} to sort by — `git exp show` lists the columns")

    def rank(row):
        value = row.get(key)
        num = number(value)
        if num is not None:
            return (0, num, "")
        if value is None:
            return (2, 0.0, "")
        return (1, 0.0, str(value))

    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    present.sort(key=rank, reverse=descending)
    return present + missing
