"""Rendering rows (lists of dicts) as a text table, Markdown, CSV or JSON."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing imports re (~12 ms)
    from typing import Any, Sequence

# json and csv are imported where used: a plain table needs neither (~3.5 ms at start-up).


def cell(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, separators=(",", ":"))
    return str(value)


def table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """Left-aligned columns two spaces apart, trailing blanks trimmed."""
    values = []
    for column in columns:
        cells = [row.get(column) for row in rows]
        if not all(type(v) is str for v in cells):
            cells = [cell(v) for v in cells]
        values.append(cells)
    return grid(values, columns)


def grid(values: Sequence[Sequence[str]], columns: Sequence[str]) -> str:
    """``table`` for columns of strings (``values[i]`` under ``columns[i]``): widths from
    one pass per column, then one ``%`` format mapped over the rows in C (10k rows of
    ``ls REMOTE`` in ~4 ms; a transpose first took 8, a ``str.format`` per line 12)."""
    if not values or not values[0]:
        return ""
    widths = [max(len(c), max(map(len, v))) for c, v in zip(columns[:-1], values)]
    line = "".join(f"%-{w}s  " for w in widths) + "%s\n"
    text = line % tuple(columns) + "".join(map(line.__mod__, zip(*values)))
    if "" in values[-1]:  # an empty last cell leaves blanks at the end of its line
        text = "".join(one.rstrip() + "\n" for one in text.splitlines())
    return text


def markdown(rows: Sequence[dict], columns: Sequence[str]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(c) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(esc(cell(row.get(c))) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_text(rows: Sequence[dict], columns: Sequence[str]) -> str:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else cell(row.get(c)) for c in columns])
    return buf.getvalue()


def json_text(data: Any) -> str:
    """Indented JSON; a long list gets one compact object per line instead.

    Rows of plain values (ASCII text without quotes, backslashes or control characters,
    numbers, booleans, null) are written here, exactly as ``json.dumps(row,
    default=str)`` would write them; anything else goes to the ``json`` module, whose
    import alone costs ~12 ms (its decoder imports ``re``) of a ~100 ms ``show --json``."""
    if isinstance(data, list) and len(data) > 100:
        lines = list(map(_plain_row, data))
        if None in lines:
            import json

            encode = json.JSONEncoder(default=str).encode  # one encoder: dumps(default=...) builds one per call
            lines = [line if line is not None else encode(row) for line, row in zip(lines, data)]
        return "[\n" + ",\n".join(lines) + "\n]\n"
    import json

    return json.dumps(data, indent=2, default=str) + "\n"


_SPECIAL = frozenset('"\\')
_KEYS: dict = {}  # key -> '"key": ', for keys that need no escaping


def _plain(text: str) -> bool:
    return text.isascii() and text.isprintable() and _SPECIAL.isdisjoint(text)


def _plain_row(row: Any) -> str | None:
    """``json.dumps(row)`` for a dict of plain values, or None when it is not one."""
    if type(row) is not dict:
        return None
    parts = []
    add = parts.append
    for key, value in row.items():
        head = _KEYS.get(key)
        if head is None:
            if type(key) is not str or not _plain(key):
                return None
            head = _KEYS[key] = f'"{key}": '
        kind = type(value)
        if kind is str:
            if not _plain(value):
                return None
            add(f'{head}"{value}"')
        elif value is None:
            add(head + "null")
        elif kind is int:
            add(head + int.__repr__(value))
        elif kind is float:
            if value - value != 0.0:  # nan or infinity: json writes NaN/Infinity
                return None
            add(head + float.__repr__(value))
        elif kind is bool:
            add(head + ("true" if value else "false"))
        else:
            return None
    return "{" + ", ".join(parts) + "}"


def render(rows: Sequence[dict], columns: Sequence[str], fmt: str) -> str:
    if fmt == "json":
        return json_text([{c: row.get(c) for c in columns if c in row} for row in rows])
    if fmt == "md":
        return markdown(rows, columns)
    if fmt == "csv":
        return csv_text(rows, columns)
    return table(rows, columns)
