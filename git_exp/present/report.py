"""The HTML report: one self-contained page that opens offline, from ``commands.report``'s data.

Plots are Vega-Lite's (the grammar DVC's plots use): ``report/vega.min.js``,
``vega-lite.min.js`` and ``vega-embed.min.js`` are the npm registry's builds, vendored as
they are (versions and licenses in ``report/LICENSES.txt``) and inlined into the page with
the page's own ``report/app.js`` and ``report/style.css``.  Nothing here is imported or
read unless ``git exp report`` runs.

Everything from the repository (names, notes, file contents) is data: it goes into one
``<script type="application/json">`` with ``<``, ``>`` and ``&`` written as JSON escapes,
so no text in it can end the element, and the page builds its DOM with ``textContent``
only.  A Content-Security-Policy meta tag lets no request leave the page (``default-src
'none'``) and runs only the page's own scripts (a fresh nonce per report); Vega's
expressions are interpreted (``ast``), never ``eval``-ed, so no ``unsafe-eval`` either.
"""
from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from array import array

from git_exp.present.rows import iso_created
from git_exp.rows import labels

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report")
VENDOR = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
ROW_KEYS = ("name", "remote", "sha", "baseline", "created", "status", "exit_code", "duration", "executor",
            "command", "run_url", "message", "tags", "note")
SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S*\s*$")


def _asset(name: str) -> str:
    with open(os.path.join(ASSETS, name), encoding="utf-8") as handle:
        return handle.read()


def _script(text: str) -> str:
    """JS to inline: without its source-map comment (a request DevTools would make), and
    with ``</script`` and ``<!--`` written so that they cannot end the element early
    (they stand in strings and regular expressions only, where ``\\/`` and ``\\!`` are the same)."""
    return _closing(SOURCE_MAP.sub("\n", text), "script")


def _closing(text: str, element: str) -> str:
    return re.sub(f"</({element})", r"<\\/\1", text, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def payload(report, version: str) -> dict:
    """The page's data: rows (``show``'s, created in ISO 8601), columns, and per commit its
    step metrics (``step_points``) and its changes against its baseline."""
    return {**_without_changes(report, version), "changes": _changes(report)}


def _without_changes(report, version: str) -> dict:
    table = []
    for row in iso_created([dict(row) for row in report.rows]):
        item = {key: row.get(key) for key in ROW_KEYS if key in row}
        item["label"] = labels([row["name"]], [row.get("remote")])[0]
        for key, value in row.items():
            if key.startswith(("params", "metrics")) or key == "errors":
                item[key] = value
        table.append(item)
    params = [c for c in report.columns if c == "params" or c.startswith("params.")]
    metrics = [c for c in report.columns if c == "metrics" or c.startswith("metrics.")]
    histories, points = step_points(report.histories)
    return {"title": report.title, "version": version,
            "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(report.generated)),
            "params": params, "metrics": metrics, "rows": table, "histories": histories, "points": points}


def _changes(report) -> dict:
    return {sha: {"values": c.values, "files": c.files, "more_files": c.more_files, "patch": c.patch,
                  "patch_note": c.patch_note} for sha, c in report.changes.items()}


def prepare(report, version: str) -> dict[str, str]:
    """The page's data but its changes, encoded (``embedded_json``): ``html`` takes it, so
    that all but the changes can be encoded while git still diffs (``commands.report.gather``)."""
    return {key: embedded_json(value) for key, value in _without_changes(report, version).items()}


def _data(report, version: str, prepared: dict[str, str] | None) -> str:
    """``embedded_json(payload(report, version))``, the parts ``prepared`` has taken from it
    (a JSON object is its members' JSON, joined: the same text)."""
    if prepared is None:
        return embedded_json(payload(report, version))
    parts = {**prepared, "changes": embedded_json(_changes(report))}
    return "{" + ",".join(f"{embedded_json(key)}:{text}" for key, text in parts.items()) + "}"


def step_points(histories: dict[str, dict[str, list]]) -> tuple[dict[str, dict[str, list]], str]:
    """The step metrics as the page holds them: ``({commit: {metric: [at, count] or [at,
    count, steps_at]}}, points)``, ``points`` the base64 of one array of little-endian
    float64, where a series' values are ``count`` numbers from index ``at`` (NaN: no
    value) and its steps ``count`` numbers from ``steps_at``, or 0, 1, 2... when there is
    no ``steps_at``.  Numbers as JSON text cost a ``repr`` each: at 10k experiments of 2
    metrics over 50 steps, 0.6 s of the 2 s the report took (their bytes: 0.02 s); the
    page reads back the same doubles it would have parsed from the text."""
    import base64

    flat = array("d")
    counting: dict[int, tuple] = {}  # count -> (0, 1, ... count - 1)
    out: dict[str, dict[str, list]] = {}
    for sha, series in histories.items():
        mine = {}
        for metric, points in series.items():
            if not points:
                continue
            steps, values = zip(*points)
            count, at = len(points), len(flat)
            _extend(flat, values)
            known = counting.get(count)
            if known is None:
                known = counting[count] = tuple(range(count))
            if steps == known:
                mine[metric] = [at, count]
            else:
                mine[metric] = [at, count, len(flat)]
                _extend(flat, steps)
        if mine:
            out[sha] = mine
    if sys.byteorder == "big":
        flat.byteswap()
    return out, base64.b64encode(flat.tobytes()).decode("ascii")


def _extend(flat, numbers: tuple) -> None:
    try:
        flat.extend(array("d", numbers))
    except (TypeError, OverflowError):  # a value of None (NaN), or an int past a double's range
        flat.extend(array("d", [_double(number) for number in numbers]))


def _double(number) -> float:
    """``number`` as the page's array holds it: None as NaN, an int too large for a
    double as the infinity ``JSON.parse`` would make of it."""
    if number is None:
        return math.nan
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


def _finite(value):
    """``value`` with NaN and infinities as text (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def embedded_json(data) -> str:
    """JSON for a ``<script type="application/json">``: ``<``, ``>`` and ``&`` as escapes
    (only strings can hold them, where ``\\u003c`` is the same text)."""
    try:
        text = json.dumps(data, separators=(",", ":"), default=str, allow_nan=False, ensure_ascii=False)
    except ValueError:
        text = json.dumps(_finite(data), separators=(",", ":"), default=str, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def html(report, version: str, prepared: dict[str, str] | None = None) -> str:
    """The whole page; ``prepared``: ``prepare``'s for this report, if made."""
    nonce = os.urandom(18).hex()
    values = {
        "nonce": nonce,
        "title": _html_text(f"{report.title} — git exp report"),
        "style": _closing(_asset("style.css"), "style"),
        "vendor": "".join(f'<script nonce="{nonce}">{_script(_asset(name))}</script>\n' for name in VENDOR),
        "app": _script(_asset("app.js")),
        "data": _data(report, version, prepared),
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda match: values[match.group(1)], _asset("template.html"))


def write(path: str, page: str) -> None:
    """Write ``page`` to ``path`` whole or not at all: a temporary file beside it, renamed
    over it once complete."""
    from git_exp.errors import ExpError, UsageError
    from git_exp.names import shown

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {shown(path)}: no folder {shown(folder)} — create it or choose another -o")
    if os.path.isdir(path):
        raise UsageError(f"cannot write {shown(path)}: it is a folder — give a file name with -o")
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.replace(temporary, path)
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise ExpError(f"cannot write {shown(path)}: {exc.strerror or exc} — check the path and its permissions") from None


def written(report, output: str, version: str, *, recorded: bool = False,
            prepared: dict[str, str] | None = None) -> None:
    """``git exp report``'s output: the page to ``output`` (``-``: stdout), its name on
    stdout and a count on stderr, and the unreadable-files warning; ``recorded``: the
    file is in the work tree and not ignored, which is worth a hint; ``prepared``:
    ``prepare``'s for this report, if made."""
    import sys

    from git_exp.present.common import count, note, out, warn
    from git_exp.present.show import unreadable

    if not report.rows:
        from git_exp.present.common import NO_EXPERIMENTS

        note("git-exp: the report holds " + NO_EXPERIMENTS.replace("no experiments yet", "no experiments", 1))
    page = html(report, version, prepared)
    if output == "-":
        sys.stdout.write(page)
        sys.stdout.flush()
    else:
        write(output, page)
        note(f"wrote {output}: {count(len(report.rows))}")
        if recorded:
            note(f"hint: {output} is in the work tree and not ignored, so the next save or run records it — "
                 "add it to .gitignore, or write the report elsewhere")
        out(output)
    warn(unreadable(report.rows))
    from git_exp.present.query import warn_undecided

    warn_undecided(report.rows)  # rows --where could not decide, when it was given
