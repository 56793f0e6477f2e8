"""How ``git exp rerun`` shows its result: what was saved, then the params and metrics
that differ between the original (left) and the rerun (right), or that none do."""
from __future__ import annotations

from git_exp import render


def saved_line(result) -> str:
    """The stderr line about the run and what was saved (as ``run`` says it)."""
    ran = result.ran
    verb = "appended to experiment" if ran.saved.old else "saved experiment"
    return (f"git-exp: {ran.status} (exit {ran.exit_code}, {ran.duration:.1f}s); {verb} "
            f"{ran.saved.name} ({ran.saved.sha[:7]}), a rerun of {result.source} ({result.source_sha[:7]})")


def differences(result) -> tuple[str, str | None]:
    """``(stdout text, stderr note)``: a table key / original / rerun, or a note that
    nothing differs."""
    compared = result.compared
    if not compared.changes:
        return "", (f"git-exp: reproduced: no params or metrics differ between {compared.b} and {compared.a}")
    rows = [{"key": c["key"], compared.b: c["b"], compared.a: c["a"]} for c in compared.changes]
    return render.table(rows, ["key", compared.b, compared.a]), \
        f"git-exp: {len(rows)} value{'' if len(rows) == 1 else 's'} differ between {compared.b} and {compared.a}"


def as_json(result) -> dict:
    compared = result.compared
    return {
        "name": result.ran.saved.name, "sha": result.ran.saved.sha, "rerun_of": result.source,
        "rerun_of_sha": result.source_sha, "status": result.ran.status, "exit_code": result.ran.exit_code,
        "duration": round(result.ran.duration, 3),
        "changes": [{"key": c["key"], "before": c["b"], "after": c["a"]} for c in compared.changes],
        "errors": compared.errors,
    }
