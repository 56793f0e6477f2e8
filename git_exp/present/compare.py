"""``show --md --vs REF``: the Markdown a CI job posts on a pull request — each experiment
against the baseline REF, metrics first, with deltas (``0.91 (+0.03)``).

Columns: name, status, every metric, then the params that differ from REF's in at least
one experiment (those equal everywhere say nothing).  Text from the repository is
escaped so that a name or value cannot become a link, an image or HTML in the comment.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

_MARKDOWN = {c: "\\" + c for c in "\\`*_[]|~"}
_MARKDOWN.update({"<": "&lt;", ">": "&gt;", "&": "&amp;", "\n": " ", "\r": " "})


def escape(text: str) -> str:
    return "".join(_MARKDOWN.get(c, c) for c in text)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value(value: Any) -> str:
    from git_exp.render import cell

    return cell(value)


def delta(value: Any, base: Any) -> str:
    """``value`` as shown next to ``base``: ``0.91 (+0.03)``, ``adam (was sgd)``, or the
    value alone when equal or when the baseline has none."""
    shown = _value(value)
    if value is None or base is None or value == base:
        return shown
    if _number(value) and _number(base):
        change = value - base
        if isinstance(value, int) and isinstance(base, int):
            return f"{shown} ({change:+d})"
        return f"{shown} ({change:+.4g})"
    return f"{shown} (was {_value(base)})"


def markdown_vs(rows: list[dict], columns: list[str], base) -> str:
    """The table and one line above it saying what it is compared with."""
    metrics = [c for c in columns if c == "metrics" or c.startswith("metrics.")]
    params = [c for c in columns if (c == "params" or c.startswith("params."))
              and any(row.get(c) != base.values.get(c) for row in rows)]
    keys = [*metrics, *params]
    header = ["experiment", "status", *keys]
    lines = [f"Compared with **{escape(base.ref)}** ({base.kind}, {base.sha[:7]}): metrics, then the params "
             "that differ from it; (±x) is the change from it.", "",
             "| " + " | ".join(escape(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.append("| " + " | ".join([f"**{escape(base.ref)}** (baseline)", "",
                                     *(escape(_value(base.values.get(k))) for k in keys)]) + " |")
    for row in rows:
        label = row["name"] if not row.get("remote") else f"{row['remote']}/{row['name']}"
        cells = [escape(label), escape(_value(row.get("status"))),
                 *(escape(delta(row.get(k), base.values.get(k))) for k in keys)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def show_vs(table: list[dict], columns: list[str], base) -> None:
    """``show --md --vs``: the table on stdout, the unreadable-files warning on stderr."""
    from git_exp.present.common import out, warn
    from git_exp.present.show import unreadable

    out(markdown_vs(table, columns, base))
    warn(unreadable(table))
