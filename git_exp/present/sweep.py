"""How ``run -S`` and sweeps are shown: a line when a sweep starts, one per run as it
finishes (stderr), a table of the runs (stdout), and the closing line (what was saved,
saved as interrupted, not started)."""
from __future__ import annotations

from git_exp.present.common import note, out
from git_exp.render import cell


def _runs(n: int) -> str:
    return f"{n} run" + ("" if n == 1 else "s")


def edit_notes(edit) -> None:
    """What restoring the files of a ``run -S`` had to say."""
    for text in edit.notes or ():
        note(f"git-exp: warning: {text}")


def opening(sweep) -> None:
    sampled = f" sampled from a grid of {sweep.grid} (--seed {sweep.seed})" if sweep.seed is not None else ""
    at_once = f", {sweep.jobs} at once, each in its own worktree" if sweep.jobs > 1 else ""
    note(f"git-exp: sweep of {_runs(len(sweep.runs))}{sampled}{at_once}")


def started(sweep, index: int, planned, log: str | None) -> None:
    """With one job the command's output follows: say which run it is."""
    if log is None:
        values = " ".join(f"{k}={v}" for k, v in planned.values.items())
        note(f"git-exp: [{index + 1}/{len(sweep.runs)}] {planned.name or 'run'}: {values}")


def finished(sweep, index: int, outcome) -> None:
    """``git-exp: [2/6] ok  sweep/lr-0.1-depth-3  exit 0, 1.3s  acc=0.91  loss=0.3``."""
    note(line(sweep, index, outcome))


def line(sweep, index: int, outcome) -> str:
    parts = [f"git-exp: [{index + 1}/{len(sweep.runs)}] {outcome.status}", outcome.name or "-"]
    if outcome.error:
        parts.append(outcome.error)
    else:
        parts.append(f"exit {outcome.exit_code}, {outcome.duration:.1f}s")
        parts += [f"{key}={cell(value)}" for key, value in (outcome.metrics or {}).items()]
    if outcome.log and outcome.status != "ok":
        parts.append(f"(output: {outcome.log})")
    return "  ".join(parts)


def summary(sweep) -> None:
    text, hidden = fitted(sweep)
    out(text)
    if hidden:
        note(hidden)
    note(closing(sweep))


def table(sweep) -> str:
    return fitted(sweep)[0]


def fitted(sweep) -> tuple[str, str | None]:
    """``(table, note on the columns left out, or None)``: the sweep's runs (name, status,
    duration, the params that vary, the metrics); on a terminal (or with ``$COLUMNS``)
    fitted to its width as ``show`` fits its table, the params under a ``params`` header."""
    from git_exp import terminal

    width = terminal.width(terminal.stdout_is_tty())
    rows, columns = _rows(sweep)
    if width is None:
        from git_exp.render import table as render

        return render(rows, columns), None
    from git_exp.present import table as terminal_table

    grouped = {key: key if key.startswith(("params.", "metrics.")) or ":" in key else "params." + key
               for key in sweep.varying}
    done = terminal_table.render([{grouped.get(k, k): v for k, v in row.items()} for row in rows],
                                 [grouped.get(c, c) for c in columns], width=width)
    if not done.hidden:
        return done.text, None
    names = ", ".join(done.hidden[:5]) + (f" and {len(done.hidden) - 5} more" if len(done.hidden) > 5 else "")
    count = f"{len(done.hidden)} column{'' if len(done.hidden) == 1 else 's'}"
    return done.text, (f"{count} hidden to fit {width} characters: {names} — `git exp show` with the runs' "
                       "names shows them")


def _rows(sweep) -> tuple[list[dict], list[str]]:
    varying = sweep.varying
    metrics: dict[str, None] = {}
    rows = []
    for outcome in sweep.outcomes:
        row = {"name": outcome.name or "-", "status": outcome.status,
               "duration": f"{outcome.duration:.1f}s" if outcome.duration is not None else None}
        row.update({key: outcome.values.get(key) for key in varying})
        for key, value in (outcome.metrics or {}).items():
            metrics.setdefault(f"metrics.{key}", None)
            row[f"metrics.{key}"] = value
        rows.append(row)
    return rows, ["name", "status", "duration", *varying, *metrics]


def closing(sweep) -> str:
    counts: dict[str, int] = {}
    for outcome in sweep.outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    saved = counts.get("ok", 0) + counts.get("failed", 0)
    parts = [f"{_runs(saved)} saved" + (f" ({counts['failed']} failed)" if counts.get("failed") else "")]
    if counts.get("interrupted"):
        parts.append(f"{counts['interrupted']} saved as interrupted")
    if counts.get("error"):
        parts.append(f"{counts['error']} not saved (error)")
    if counts.get("not started"):
        parts.append(f"{counts['not started']} not started")
    if sweep.signal is not None:
        import signal

        return f"git-exp: sweep interrupted ({signal.Signals(sweep.signal).name}): " + ", ".join(parts)
    return "git-exp: sweep done: " + ", ".join(parts)
