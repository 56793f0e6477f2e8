"""``git exp rerun``: what was saved, then the params and metrics that differ between the
original (left) and the rerun (right), or that none do."""
from __future__ import annotations

from git_exp.present.common import note, out


def rerun(result, json_: bool) -> int:
    """Show ``commands.rerun.Rerun``; the exit code, as ``present.run.ran`` gives it."""
    ran = result.ran
    verb = "appended to experiment" if ran.saved.old else "saved experiment"
    note(f"git-exp: {ran.status} (exit {ran.exit_code}, {ran.duration:.1f}s); {verb} {ran.saved.name} "
         f"({ran.saved.sha[:7]}), a rerun of {result.source} ({result.source_sha[:7]})")
    code = ran.exit_code
    if ran.late_signal is not None:
        import signal

        note(f"git-exp: {signal.Signals(ran.late_signal).name} arrived while saving; the save was finished first")
        code = 128 + ran.late_signal
    if json_:
        from git_exp import render

        out(render.json_text(as_json(result)))
        return code
    compared = result.compared
    if not compared.changes:
        note(f"git-exp: reproduced: no params or metrics differ between {compared.b} and {compared.a}")
        return code
    from git_exp import render

    rows = [{"key": c["key"], compared.b: c["b"], compared.a: c["a"]} for c in compared.changes]
    out(render.table(rows, ["key", compared.b, compared.a]))
    note(f"git-exp: not reproduced: {len(rows)} value{'s differ' if len(rows) != 1 else ' differs'} between "
         f"{compared.b} and {compared.a}")
    return code


def as_json(result) -> dict:
    compared = result.compared
    return {
        "name": result.ran.saved.name, "sha": result.ran.saved.sha, "rerun_of": result.source,
        "rerun_of_sha": result.source_sha, "status": result.ran.status, "exit_code": result.ran.exit_code,
        "duration": round(result.ran.duration, 3), "reproduced": not compared.changes,
        "changes": [{"key": c["key"], "before": c["b"], "after": c["a"]} for c in compared.changes],
        "errors": compared.errors,
    }
