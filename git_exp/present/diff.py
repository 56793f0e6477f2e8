"""``git exp diff``: the params and metrics that differ, as a table or JSON."""
from __future__ import annotations

from git_exp import names, render
from git_exp.present.common import note, out, warn


def diff(result, json_: bool) -> None:
    """``commands.diff.Diff`` as a table of changed keys (and ``--stat``), or JSON."""
    warn(unreadable(result))
    if json_:
        out(render.json_text({"a": result.a, "b": result.b, "a_sha": result.a_sha, "b_sha": result.b_sha,
                              "changes": result.changes, "stat": result.stat, "errors": result.errors}))
        return
    rows = [{"key": c["key"], result.a: c["a"], result.b: c["b"]} for c in result.changes]
    if rows:
        out(render.table(rows, ["key", result.a, result.b]))
    else:
        note(f"no params or metrics differ between {result.a} and {result.b}")
    if result.stat:
        out(result.stat)


def unreadable(result) -> str | None:
    """The one-line warning for a side whose files could not be read, or None."""
    sides = [f"{names.shown(label)}: {'; '.join(result.errors[side])}"
             for side, label in (("a", result.a), ("b", result.b)) if side in result.errors]
    if not sides:
        return None
    return f"git-exp: warning: unreadable files, shown as error cells: {'; '.join(sides)}"
