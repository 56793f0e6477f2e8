"""``git exp show``: one table of experiments with their run metadata, params and metrics."""
from __future__ import annotations

from git_exp import names, results, rows
from git_exp.errors import UsageError
from git_exp.repo import Repo

COLUMNS = ("name", "created", "baseline", "status", "exit_code", "duration", "executor")


def show(repo: Repo, patterns: list[str] | None = None, *, sort: str | None = None,
         where: str | None = None, remotes: bool = False, listing=None, files=None) -> tuple[list[dict], list[str]]:
    """Rows and the ordered column list (base columns, then params.*, then metrics.*);
    ``listing`` is ``rows.start_listing``'s, ``files`` ``results.start_files``'s git."""
    if where or sort:
        from git_exp import query  # re and shlex: ~13 ms, only when asked to filter or sort
    accept = query.parse_where(where) if where else None
    found = rows.load(repo, remotes=remotes, listing=listing)
    if patterns:
        labels = [f"{row['remote']}/{row['name']}" if row["remote"] else row["name"] for row in found]
        chosen, unmatched = names.select(labels, patterns)
        if unmatched:
            raise UsageError(f"no experiment matches {unmatched[0]!r} — `git exp ls` lists them")
        keep = set(chosen)
        found = [row for row, label in zip(found, labels) if label in keep]
    data = results.read(repo, {row["sha"]: row["baseline"] for row in found}, results.configured_files(repo, files))
    extra: dict[str, None] = {}
    for row in found:
        values = data.get(row["sha"])
        if values:
            row.update(values)
            extra.update(dict.fromkeys(values))
    table = found
    if accept:
        table = [row for row in table if accept(row)]
    if sort:
        table = query.sort_rows(table, sort)
    params = sorted(k for k in extra if k == "params" or k.startswith("params."))
    metrics = sorted(k for k in extra if k == "metrics" or k.startswith("metrics."))
    return table, [*COLUMNS, *params, *metrics]
