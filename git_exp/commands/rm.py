"""``git exp rm NAME|GLOB... [--where QUERY]``: delete experiments in one transaction."""
from __future__ import annotations

from git_exp import names
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.repo import Exp, Repo


def select(repo: Repo, patterns: list[str], where: str | None = None) -> list[Exp]:
    """The experiments matching ``patterns`` (all, when only ``where`` is given) and the
    ``--where`` query; an unmatched pattern is a usage error.  With ``where`` the list
    is a ``query.Matched`` (``undecided``: the rows the query could not decide), and
    each experiment is the commit the query was decided on."""
    if not patterns and where is None:
        raise UsageError("name the experiments to delete — e.g. `git exp rm old-run 'sweep/*'` "
                         "or `git exp rm --where 'metrics.acc < 0.5'`")
    parsed = None
    if where is not None:
        from git_exp import query

        parsed = query.parse(where)  # a bad query fails before anything is read
    for pattern in patterns:
        if not names.is_glob(pattern):
            names.ExpName(pattern)
    by_name = repo.by_name()
    chosen, unmatched = names.select(list(by_name), patterns) if patterns else (list(by_name), [])
    if unmatched:
        raise UsageError(f"no experiment matches {shown(unmatched[0])} — nothing was deleted; `git exp ls` lists them")
    if parsed is None:
        return [by_name[n] for n in chosen]
    from git_exp import rows

    wanted = set(chosen)
    matched = rows.matching(repo, parsed, keep=lambda row: row["name"] in wanted)
    found = type(matched)(Exp(row["name"], row["sha"], [], 0, "", ref=names.PREFIX + row["name"]) for row in matched)
    found.undecided = matched.undecided
    return found


def rm(repo: Repo, patterns: list[str], *, dry_run: bool = False, where: str | None = None) -> list[Exp]:
    doomed = select(repo, patterns, where)
    if not dry_run:
        repo.transaction([(e.ref, repo.zero, e.sha) for e in doomed], "git exp rm")
        if len(doomed) >= 100:
            repo.pack_refs()
    return doomed
