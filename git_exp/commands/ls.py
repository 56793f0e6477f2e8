"""``git exp ls``: list experiments (local, and remote-tracking with ``-r``).

``ls`` reads only what it shows, in two steps:

1. one ``for-each-ref`` of names and commits only (0.1 s at 100k: no object is read),
2. each commit's first parent, committer time and exit-code trailer: from the commit
   cache (``cache``, the facts' ``commits``) when an earlier ``ls`` read that commit, and
   for the others from ``git log --no-walk=unsorted --stdin``, split over one log per
   core (100k commits: 1.23 s in one log, 0.70 s in two side by side; 1k: 20 against
   12 ms, 200: 6.7 against 4.4 ms), each commit once however many refs name it.  log passes over blobs and trees and prints a tag's
   commit, so a ref whose own object it did not print is no commit, and ``ls`` leaves
   it out.  Reading the cache instead took ``ls`` at 1k from 48 to 27 ms here, at 10k
   from ~125 to 75 ms, at 100k from 1.07 s to 0.55 s (the log of 1k commits alone:
   12-15 ms, most of it inflating them).

A single ``for-each-ref`` asking for ``%(parent)`` and the trailers took 1.4 s at 100k
and printed nothing until it had read every commit (it fills in every field while
sorting), so neither our parsing nor a second core could start earlier.  The data
stays in columns, split and sliced in C (``str.split`` once, then ``[i::k]``): at 100k
a tuple per row built in a loop cost ~0.3 s more.
"""
from __future__ import annotations

import os

from git_exp import cache
from git_exp.git import Running, start, stopped_on_error, wait_all
from git_exp.repo import SEP, Repo
from git_exp.rows import listed, split_names, start_listing

FIELDS = ("name", "remote", "sha", "baseline", "created", "exit_code")
COMMIT_FORMAT = SEP.join(["%H", "%P", "%ct", "%(trailers:key=Exp-Exit-Code,valueonly,unfold,separator=%x2c)"])
PARTS = min(4, os.cpu_count() or 1)
PART_MIN = 100  # commits per log, at least (two logs of 50 each: no quicker than one of 100 here)
# the facts' "commits" section (``cache``): {commit: (first parent or None, committer time, exit code or
# None), or () for an object that is no commit}, keyed by the trailer settings


def ls(*, remotes: bool = False, where: str | None = None) -> dict[str, list]:
    """``records`` of the repository here; the ref listing starts before the repository is
    looked at (it needs nothing from it), so git lists while Python finds the repository.
    ``where``: only the experiments that ``--where`` query matches (``records_where``)."""
    if where is not None:
        from git_exp import query

        query.parse(where)  # a bad query fails before anything is read
    listing = start_listing(remotes=remotes)
    trailers = start(*cache.TRAILER_CONFIG) if where is None else None
    with stopped_on_error(*(p for p in (listing, trailers) if p)):
        repo = Repo()
    if where is not None:
        return records_where(repo, where, remotes=remotes, listing=listing)
    return records(repo, remotes=remotes, listing=listing, trailers=trailers)


def ls_remote(remote: str, where: str | None = None) -> tuple[list[str], list[str], list[str | None], list[str | None]]:
    """``compare`` with ``remote``; its listing starts before the repository is looked at.
    ``where`` is refused: the remote's metrics are not here."""
    if where is not None:
        from git_exp.errors import UsageError

        raise UsageError(f"--where needs the experiments' metrics, which `git exp ls {remote}` does not fetch — "
                         f"`git fetch {remote}` or `git exp pull {remote} --where ...` first, then "
                         "`git exp ls -r --where ...`")
    from git_exp import remotes as remotes_
    from git_exp.commands.remote_ops import compare

    early = remotes_.start_early(remote)
    with stopped_on_error(early):
        repo = Repo(remotes=True)
        chosen = remotes_.resolve(repo, remote)
    return compare(repo, chosen, early)


def records(repo: Repo, *, remotes: bool = False, listing: Running | None = None,
            trailers: Running | None = None) -> dict[str, list]:
    """Columns ``FIELDS`` (``{field: [value per experiment]}``), sorted by name within
    each namespace, local first, then remote-tracking; ``listing`` is ``start_listing``'s,
    ``trailers`` the ``git config`` of the trailer settings (``cache.TRAILER_CONFIG``)."""
    listing = listing or start_listing(repo, remotes=remotes)
    key = cache.trailer_key((trailers or repo.start(*cache.TRAILER_CONFIG)).wait(check=False).out)
    where = cache.of_commits(repo, "commits")
    known = cache.load(where, key)  # while git lists the refs
    shas, refs = listed(listing)
    missing = [sha for sha in shas if sha not in known]
    if missing:
        missing = list(dict.fromkeys(missing))  # several refs may name one commit
        baseline, created, exit_code = _commits(repo, missing)
        known.update((sha, (base, when, code) if when is not None else ())  # (): no commit, for ever
                     for sha, base, when, code in zip(missing, baseline, created, exit_code))
        cache.save(where, known, key, listed=shas)
    facts = list(map(known.__getitem__, shas))
    if () in facts:  # refs to blobs, trees or tags
        kept = [i for i, fact in enumerate(facts) if fact]
        shas, refs, facts = ([column[i] for i in kept] for column in (shas, refs, facts))
    baseline, created, exit_code = (list(column) for column in zip(*facts)) if facts else ([], [], [])
    names, owners = split_names(refs, remotes)
    return {"name": names, "remote": owners, "sha": shas, "baseline": baseline, "created": created,
            "exit_code": exit_code}


def _commits(repo: Repo, shas: list[str]) -> tuple[list, list, list]:
    """Columns (first parent or None, committer time, exit code or None) for the
    distinct ``shas``; all three None for an object that is no commit."""
    count = len(shas)
    baseline, created, exit_code = [None] * count, [None] * count, [None] * count
    if not shas:
        return baseline, created, exit_code
    parts = max(1, min(PARTS, count // PART_MIN))
    logs = [repo.start("log", "--no-walk=unsorted", "--stdin", f"--format={COMMIT_FORMAT}",
                       input="\n".join(shas[i::parts]) + "\n")  # dealt out in turn: equal work
            for i in range(parts)]
    wait_all(logs)
    for i, log in enumerate(logs):
        flat = log.wait().out.replace("\n", SEP).split(SEP)  # four fields per commit, one line each
        flat.pop()  # what followed the last newline
        got, mine = flat[0::4], shas[i::parts]
        bases = [p.partition(" ")[0] or None for p in flat[1::4]]
        times = list(map(int, flat[2::4]))
        codes = {code: _exit_code(code) for code in set(flat[3::4])}
        exits = list(map(codes.__getitem__, flat[3::4]))
        if got != mine:  # log passed over some (no commits) or printed a tag's commit instead
            at = dict(zip(got, range(len(got))))
            where = [at.get(sha) for sha in mine]
            bases, times, exits = ([None if j is None else column[j] for j in where] for column in (bases, times, exits))
        baseline[i::parts], created[i::parts], exit_code[i::parts] = bases, times, exits
    return baseline, created, exit_code


def _exit_code(values: str) -> int | None:
    """The last of the comma-separated Exp-Exit-Code values, if it is a number."""
    last = values.rpartition(",")[2].strip()
    return int(last) if last.lstrip("-").isdigit() else None


def rows(columns: dict[str, list]) -> list[tuple]:
    """``records`` as one tuple per experiment, in FIELDS order."""
    return list(zip(*(columns[field] for field in FIELDS)))


class Records(dict):
    """``records``' columns, and the rows ``--where`` could not decide (``query.Matched``)."""

    undecided: list = []


def records_where(repo: Repo, where: str, *, remotes: bool = False, listing: Running | None = None) -> Records:
    """``records`` of the experiments the ``--where`` query matches (their rows read as
    ``show`` reads them, params and metrics too)."""
    from git_exp.commands.show import matching

    matched = matching(repo, where, remotes=remotes, listing=listing)
    found = Records({field: [row[field] for row in matched] for field in FIELDS})
    found.undecided = matched.undecided
    return found
