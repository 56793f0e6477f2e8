"""One run of a sweep, in a process of its own: ``python -m git_exp.sweep_worker SPEC``.

``commands.sweep`` starts one worker per run (``git.Command``) and reads what it wrote.
Each worker is ``git exp run --isolated`` with the sweep's shared start (the baseline and
the snapshot tree taken once for the whole sweep) and that run's params file contents
(``overrides.Edit``): its own temporary worktree, run's signal handling (an interrupt is
recorded: status ``interrupted``, the command's real exit code; a save is never cut in
two) and run's save.  So parallel runs need no threads, and a Ctrl-C is handled by each
run exactly as by a single ``git exp run``.

SPEC is a JSON file the sweep wrote: ``argv``, ``name`` (or null: generated), ``files``
(path -> text), ``pairs`` (trailers), ``baseline``, ``tree``, ``message``, ``force``,
``append``, ``untracked``, ``report`` (where to write the result) and ``pythonpath`` (the
``PYTHONPATH`` the sweep was started with: the worker's own points at git-exp's package,
the user's command gets the original).  The result is JSON: ``{"name", "sha", "status",
"exit_code", "duration"}``, or ``{"error", "exit_code", "not_started"}``.  The worker
prints nothing of its own; the command's output goes where the sweep pointed it.
"""
from __future__ import annotations

import json
import os
import sys


def main(args: list[str]) -> int:
    with open(args[0], encoding="utf-8") as f:
        spec = json.load(f)
    if spec.get("pythonpath") is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = spec["pythonpath"]
    from git_exp.commands.run import NotStarted, Signals, run
    from git_exp.errors import ExpError
    from git_exp.git import guarded
    from git_exp.overrides import Edit
    from git_exp.repo import Repo

    edit = Edit({path: text.encode("utf-8") for path, text in spec["files"].items()},
                [tuple(pair) for pair in spec["pairs"]])
    with guarded(), Signals() as signals:
        try:
            ran = run(Repo(), spec["argv"], spec["name"], message=spec["message"], force=spec["force"],
                      append=spec["append"], untracked=spec["untracked"], isolated=True, signals=signals,
                      edit=edit, start=(spec["baseline"], spec["tree"]))
            result = {"name": ran.saved.name, "sha": ran.saved.sha, "status": ran.status,
                      "exit_code": ran.exit_code, "duration": ran.duration}
            code = ran.exit_code if ran.late_signal is None else 128 + ran.late_signal
        except ExpError as exc:
            result = {"error": str(exc), "exit_code": exc.exit_code, "not_started": isinstance(exc, NotStarted)}
            code = exc.exit_code
        _write(spec["report"], result)
        signals.done = True
    return code


def _write(path: str, result: dict) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(result, f)
    os.replace(temporary, path)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
