"""How ``git exp history`` and ``git exp log`` show their results: text, JSON, CSV.

``history``: the text is one table per metric, a row per step and a column per
experiment (a step logged twice shows its last value; blank: not logged, ``nan``: NaN or
infinity logged); ``--csv`` is long, one line per point (``experiment, remote, sha,
metric, step, value``), what plotting tools read; ``--json`` a list of experiments, each
with ``metrics: {metric: [[step, value], ...]}``.
"""
from __future__ import annotations

from git_exp import render
from git_exp.present.common import note, out, warn

CSV_COLUMNS = ("experiment", "remote", "sha", "metric", "step", "value")


def _value(value) -> str:
    return "nan" if value is None else render.cell(value)


def history_text(result) -> str:
    blocks = []
    for metric in result.metrics:
        steps: dict = {}
        columns = []
        for target in result.targets:
            points = result.series[target.sha].get(metric)
            if points is None:
                continue
            columns.append(target.label)
            for step, value in points:
                steps.setdefault(step, {})[target.label] = _value(value)
        order = sorted(steps, key=lambda s: (isinstance(s, str), s))
        values = [[render.cell(s) for s in order]] + [[steps[s].get(label, "") for s in order] for label in columns]
        blocks.append(f"metrics.{metric}\n" + render.grid(values, ["step", *columns]))
    return "\n".join(blocks)


def history_records(result) -> list[dict]:
    records = []
    for target in result.targets:
        record = {"name": target.label, "remote": target.remote, "sha": target.sha,
                  "metrics": {m: [[s, v] for s, v in points] for m, points in sorted(result.series[target.sha].items())}}
        if target.label in result.errors:
            record["errors"] = result.errors[target.label]
        records.append(record)
    return records


def history_json(result) -> str:
    return render.json_text(history_records(result))


def history_csv(result) -> str:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for target in result.targets:
        for metric, points in sorted(result.series[target.sha].items()):
            for step, value in points:
                writer.writerow([target.label, target.remote or "", target.sha, metric, step, "" if value is None else value])
    return buf.getvalue()


def history(result, fmt: str) -> None:
    """``history``'s result in ``fmt`` (``table``, ``json`` or ``csv``), then the warnings."""
    out({"json": history_json, "csv": history_csv}.get(fmt, history_text)(result))
    warn(unreadable(result))
    missing = empty(result)
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        note(f"no metric history in {', '.join(missing[:5])}{more} — training code writes one as "
             "dvclive/plots/metrics/*.tsv or metrics.jsonl (or set exp.history)")


def empty(result) -> list[str]:
    """The experiments that have no history to show, by label."""
    return [t.label for t in result.targets if not result.series[t.sha]]


def unreadable(result) -> str | None:
    if not result.errors:
        return None
    from git_exp.names import shown

    said = "; ".join(f"{shown(label)}: {'; '.join(why)}" for label, why in list(result.errors.items())[:3])
    return f"git-exp: warning: unreadable history files, left out: {said}"


LOG_COLUMNS = ("name", "sha", "created", "status", "exit_code", "duration")


def log(table: list[dict], metrics: list[str], json_: bool) -> None:
    out(log_json(table) if json_ else log_text(table, metrics))


def log_text(table: list[dict], metrics: list[str]) -> str:
    from git_exp.present.rows import for_display

    shown_rows = [for_display(row) for row in table]
    for row, original in zip(shown_rows, table):
        row["name"] = original["name"]  # for_display would put the remote in front again
    return render.table(shown_rows, [*LOG_COLUMNS, *metrics])


def log_json(table: list[dict]) -> str:
    from git_exp.present.rows import iso_created

    return render.json_text(iso_created(table))
