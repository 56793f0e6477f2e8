"""``git exp rerun``: what was saved, then the params and metrics that differ between the
original (left) and the rerun (right), or that none do."""
from __future__ import annotations

from git_exp.present.common import note, out


def rerun(result, json_: bool) -> int:
    """Show ``commands.rerun.Rerun``; the exit code, as ``present.run.ran`` gives it."""
    from git_exp.present.run import ran

    code = ran(result.ran)
    note(f"git-exp: that was a rerun of {result.source} ({result.source_sha[:7]})")
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
    note(f"git-exp: not reproduced: {len(rows)} value{'' if len(rows) == 1 else 's'} differ between "
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
