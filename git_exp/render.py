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


LINES_MIN = 101  # from this many rows on, json_text writes one compact object per line


def json_text(data: Any) -> str:
    """Indented JSON; a long list gets one compact object per line instead, each exactly
    as ``json.dumps(row, default=str)`` writes it."""
    if isinstance(data, list) and len(data) >= LINES_MIN:
        return json_lines(list(map(row_encoder(), data)))
    import json

    return json.dumps(data, indent=2, default=str) + "\n"


def json_lines(lines: list[str]) -> str:
    """A JSON list of the already encoded ``lines``, one per line (as ``json_text``)."""
    return "[\n" + ",\n".join(lines) + "\n]\n"


def string_encoder():
    """``json.dumps`` of one string (``_json``'s C function, as ``row_encoder``)."""
    try:
        from _json import encode_basestring_ascii
    except ImportError:
        from json.encoder import encode_basestring_ascii
    return encode_basestring_ascii


def row_encoder():
    """``json.dumps(row, default=str)`` by the C encoder ``json.dumps`` itself uses
    (``_json.make_encoder``, called as ``json.encoder`` calls it), without importing
    ``json``: its import costs ~10-14 ms here (the decoder imports ``re``), and the C
    encoder writes a row of twenty values in ~10 us where the hand-written encoder that
    stood here took ~19 us (1k rows of ``show --json``: 10 against 19 ms).  Where
    ``_json`` is missing or its signature differs, the ``json`` module does the work."""
    try:
        from _json import encode_basestring_ascii, make_encoder

        encoder = make_encoder(None, str, encode_basestring_ascii, None, ": ", ", ", False, False, True)
        if "".join(encoder({"a": [1.5, None, True]}, 0)) == '{"a": [1.5, null, true]}':
            return lambda row: "".join(encoder(row, 0))
    except (ImportError, TypeError):
        pass
    import json

    return json.JSONEncoder(default=str).encode


def render(rows: Sequence[dict], columns: Sequence[str], fmt: str) -> str:
    if fmt == "json":
        return json_text([{c: row.get(c) for c in columns if c in row} for row in rows])
    if fmt == "md":
        return markdown(rows, columns)
    if fmt == "csv":
        return csv_text(rows, columns)
    return table(rows, columns)
