"""``git exp ls``: list experiments (local, and remote-tracking with ``-r``).

``ls`` reads only what it shows, in two steps, and prints rows as they come (``stream``):

1. one ``for-each-ref`` of names and commits only (0.1 s at 100k: no object is read),
   split as git prints it (``rows.Reading``) after the cache has loaded; the first rows
   go out as soon as git has listed them (``_streamed``: the table needs no other row
   to know its widths, ``present.ls``);
2. each commit's first parent, committer time and exit-code trailer: from the commit
   cache (``cache``, the facts' ``commits``) when an earlier ``ls`` read that commit, and
   for the others from ``git log --no-walk=unsorted --stdin``, each commit once however
   many refs name it.  log reads every commit it was given before it prints the first
   (50k commits: 0.25 s of its 0.4), so the commits are dealt in contiguous ranges to
   logs of their own (``_ranges``): a first of 256, printed within milliseconds, then
   larger ones, then smaller ones so that the last end together, ``PARTS`` side by side
   (``git.Streams`` reads them as they print); a chunk of rows goes out as soon as every
   commit before it is known.  log passes over blobs and trees and prints a tag's
   commit, so a ref whose own object it did not print is no commit, and ``ls`` leaves
   it out.  Reading the cache instead took ``ls`` at 1k from 48 to 27 ms here, at 10k
   from ~125 to 75 ms, at 100k from 1.07 s to 0.55 s (the log of 1k commits alone:
   12-15 ms, most of it inflating them).  The cache is written after the last row.

A single ``for-each-ref`` asking for ``%(parent)`` and the trailers took 1.4 s at 100k
and printed nothing until it had read every commit (it fills in every field while
sorting), so neither our parsing nor a second core could start earlier.  The data
stays in columns, split and sliced in C (``str.split`` once, then ``[i::k]``): at 100k
a tuple per row built in a loop cost ~0.3 s more.  At 100k, cold, git spends ~0.75 s
of CPU (the listing, the logs: 0.17 s of it is ``%(trailers)``) and Python ~0.3 s: on
two idle cores ``ls`` ends in ~0.6 s, where a ``for-each-ref`` of the same fields takes
0.87 s on one; on a loaded machine the sum counts.
"""
from __future__ import annotations

import os
from itertools import islice
from sys import intern

from git_exp import cache
from git_exp.git import Running, start, stopped_on_error
from git_exp.names import PREFIX
from git_exp.repo import SEP, Repo
from git_exp.rows import Reading, split_names, start_listing

FIELDS = ("name", "remote", "sha", "baseline", "created", "exit_code")
COMMIT_FORMAT = SEP.join(["%H", "%P", "%ct", "%(trailers:key=Exp-Exit-Code,valueonly,unfold,separator=%x2c)"])
PARTS = min(4, os.cpu_count() or 1)  # logs at once
PART_MIN = 100  # commits per log, at least (two logs of 50 each: no quicker than one of 100 here)
FIRST = 256  # commits in the first log: log prints once it has read all it was given (50k: 0.25 s)
GUIDED = 4096  # from this many commits on, logs of growing, then shrinking size (``_ranges``)
RANGE_MIN = 2048  # commits in each of those logs but the first, at least (a log costs ~1.5 ms to start)
CHUNK_ROWS = 4096  # rows per chunk read from the cache
PACE = 0.005  # seconds between reads of the logs' output once the first rows are out (``git.Streams``)
# the facts' "commits" section (``cache``): {commit: (first parent or None, committer time, exit code or
# None), or () for an object that is no commit}, keyed by the trailer settings


def ls(*, remotes: bool = False, where: str | None = None, streamed: bool = False) -> dict[str, list] | Listed:
    """``records`` of the repository here (``streamed``: ``stream``, as it is read); the ref
    listing starts before the repository is looked at (it needs nothing from it), so git
    lists while Python finds the repository.  ``where``: only the experiments that
    ``--where`` query matches (``records_where``), whole."""
    if where is not None:
        from git_exp import query

        query.parse(where)  # a bad query fails before anything is read
    listing = start_listing(remotes=remotes)
    trailers = start(*cache.TRAILER_CONFIG) if where is None else None
    with stopped_on_error(*(p for p in (listing, trailers) if p)):
        repo = Repo()
    if where is not None:
        return records_where(repo, where, remotes=remotes, listing=listing)
    if streamed:
        return stream(repo, remotes=remotes, listing=listing, trailers=trailers)
    return records(repo, remotes=remotes, listing=listing, trailers=trailers)


class Listed:
    """What ``stream`` gives: iterated, the experiments' columns ``FIELDS`` chunk by chunk,
    in the listing's order, the first rows as soon as git has listed them; refs to objects
    that are no commit are left out of the chunks.  ``name`` and ``remote`` of every ref
    listed are known once the listing has been read (after the first chunk; None before)."""

    def __init__(self) -> None:
        self.name: list[str] | None = None
        self.remote: list | None = None
        self.chunks = iter(())

    def __iter__(self):
        return iter(self.chunks)


def records(repo: Repo, *, remotes: bool = False, listing: Running | None = None,
            trailers: Running | None = None) -> Records:
    """Columns ``FIELDS`` (``{field: [value per experiment]}``), sorted by name within
    each namespace, local first, then remote-tracking; ``listing`` is ``start_listing``'s,
    ``trailers`` the ``git config`` of the trailer settings (``cache.TRAILER_CONFIG``):
    ``stream``'s chunks joined; ``listed`` holds its ``name`` and ``remote``."""
    listed_ = stream(repo, remotes=remotes, listing=listing, trailers=trailers)
    columns = Records({field: [] for field in FIELDS})
    for chunk in listed_:
        for field in FIELDS:
            columns[field] += chunk[field]
    columns.listed = {"name": listed_.name, "remote": listed_.remote}
    return columns


def stream(repo: Repo, *, remotes: bool = False, listing: Running | None = None,
           trailers: Running | None = None) -> Listed:
    """``records`` as it is read (``Listed``): from the cache at once, the others as
    their logs print them (``_facts``); the cache is written after the last chunk."""
    listing = listing or start_listing(repo, remotes=remotes)
    key = cache.trailer_key((trailers or repo.start(*cache.TRAILER_CONFIG)).wait(check=False).out)
    where = cache.of_commits(repo, "commits")
    known = cache.load(where, key)  # while git lists the refs
    listed_ = Listed()
    listed_.chunks = _streamed(repo, Reading(listing), remotes, known, where, key, listed_)
    return listed_


def _streamed(repo: Repo, reading: Reading, remotes: bool, known: dict, where, key, into: Listed):
    """``Listed``'s chunks.  The first ``FIRST`` rows go out as soon as git has listed them,
    when they are local experiments (a listing is sorted: local ones come first), before
    git lists the rest (100k: its first ~100 ms of ~170), their facts from the cache or
    from a log of their own; then, the listing read whole, ``_chunks`` gives the others.
    Python's cyclic collector is off meanwhile: ls makes a few objects per experiment and
    no cycle, and its passes over them cost ~25 ms at 100k."""
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        blocks, done, learnt = iter(reading), 0, False
        for _ in blocks:
            if len(reading.shas) >= FIRST:
                break
        if FIRST and reading.all_local(FIRST):
            first = reading.shas[:FIRST]
            learnt = _read_head(_start_head(repo, first, known), known)
            names = [ref[len(PREFIX):] for ref in reading.refs[:FIRST]]
            yield _chunk(first, names, [None] * FIRST, known, 0, FIRST)
            done = FIRST
        for _ in blocks:
            pass
        shas = reading.shas
        into.name, into.remote = names, owners = split_names(reading.refs, remotes)
        head = None if done else _start_head(repo, shas[:FIRST], known)
        yield from _chunks(repo, shas, names, owners, known, where, key, head, done, learnt)
    finally:
        if collecting:
            gc.enable()


def _start_head(repo: Repo, first: list[str], known: dict) -> tuple[Running, list[str]] | None:
    """The log of the first rows' commits (``first``) the cache lacks, started at once and
    given them at once, with those commits; None when the cache has them all."""
    mine = list(dict.fromkeys(sha for sha in first if sha not in known))
    return (_log(repo, mine).feed(), mine) if mine else None


def _read_head(head: tuple[Running, list[str]] | None, known: dict) -> bool:
    """Read ``_start_head``'s log whole into ``known``; whether there was one."""
    if head is None:
        return False
    log, mine = head
    part = _Part(mine, 0)
    part.read(log.wait().stdout, known)
    part.end(known)
    return True


def _log(repo: Repo, shas: list[str]) -> Running:
    return repo.start("log", "--no-walk=unsorted", "--stdin", f"--format={COMMIT_FORMAT}", input="\n".join(shas) + "\n")


def _chunks(repo: Repo, shas: list[str], names: list[str], owners: list, known: dict, where, key,
            head: tuple[Running, list[str]] | None = None, done: int = 0, learnt: bool = False):
    """The columns of ``shas`` (with ``names`` and ``owners``) in order from row ``done``
    on (those before it are out), a chunk as soon as the facts of its commits are
    ``known``: all at once from the cache, else after each block a log prints (``head``:
    ``_start_head``'s, read first; ``learnt``: facts were read already, to be saved)."""
    total = len(shas)
    learnt = _read_head(head, known) or learnt  # the first rows' commits, before the others are looked up
    # The first rows at once (looking all 100k up first took ~20 ms), then larger chunks.
    if done or all(map(known.__contains__, islice(shas, FIRST))):
        if not done:
            done = min(FIRST, total)
            yield _chunk(shas, names, owners, known, 0, done)
        if all(map(known.__contains__, islice(shas, done, None))):
            bounds = [*range(done, total, CHUNK_ROWS), total]
            for start, end in zip(bounds, bounds[1:]):
                yield _chunk(shas, names, owners, known, start, end)
            if learnt:
                cache.save(where, known, key, listed=shas)
            return
    first = done  # several refs may name one commit: each is read once, in the order of the rows
    missing = list(dict.fromkeys(sha for sha in islice(shas, first, None) if sha not in known))
    every = len(missing) == total - first  # each row its own commit, none cached: row i is missing[i - first]
    for read in _facts(repo, missing, known):
        ready = first + read if every else done
        if not every:
            while ready < total and shas[ready] in known:
                ready += 1
        if ready > done:
            yield _chunk(shas, names, owners, known, done, ready)
            done = ready
    cache.save(where, known, key, listed=shas)


def _chunk(shas: list[str], names: list[str], owners: list, known: dict, start: int, end: int) -> dict[str, list]:
    """The columns of rows ``start:end``, whose commits are all ``known``."""
    from operator import itemgetter

    shas, names, owners = shas[start:end], names[start:end], owners[start:end]
    facts = list(map(known.__getitem__, shas))
    if () in facts:  # refs to blobs, trees or tags
        kept = [i for i, fact in enumerate(facts) if fact]
        shas, names, owners, facts = ([column[i] for i in kept] for column in (shas, names, owners, facts))
    baseline, created, exit_code = (list(map(itemgetter(i), facts)) for i in range(3))
    return {"name": names, "remote": owners, "sha": shas, "baseline": baseline, "created": created,
            "exit_code": exit_code}


def _ranges(count: int):
    """``(start, end)`` of each log's commits, in order, sized as the logs start.  A log
    prints only once it has read every commit it was given, so from ``GUIDED`` commits
    on the first is small (``FIRST``), the next ones double, then each takes a share of
    what is left (guided scheduling: the last logs end together), ``RANGE_MIN`` at
    least; fewer commits are split in ``PARTS`` equal ranges (of ``PART_MIN`` at least)."""
    if count < GUIDED:
        parts = max(1, min(PARTS, count // PART_MIN))
        bounds = [count * i // parts for i in range(parts + 1)]
        yield from zip(bounds, bounds[1:])
        return
    start, size = 0, FIRST
    while start < count:
        end = start + max(RANGE_MIN if start else 1, min(size, (count - start) // (2 * PARTS)))
        end = count if count - end < RANGE_MIN // 2 else end  # no small log left for the end
        yield start, end
        start, size = end, size * 2


def _facts(repo: Repo, shas: list[str], known: dict):
    """Fill ``known`` with the facts of the distinct ``shas`` (first parent or None,
    committer time, exit code or None; () for an object that is no commit), reading each
    contiguous range (``_ranges``) in a ``git log --no-walk=unsorted --stdin`` of its
    own, ``PARTS`` at a time; yields after each block of output parsed: how many of
    ``shas``, from the first, are known now (those of the logs ended, and what the first
    log still running has printed before any odd line)."""
    from git_exp.git import Streams

    ranges, streams, parts = _ranges(len(shas)), Streams(), {}  # parts: running, in order

    def start_next() -> None:
        for first, end in ranges:
            mine = shas[first:end]
            log = _log(repo, mine)
            parts[log] = _Part(mine, first)
            streams.add(log)
            return

    for _ in range(PARTS):
        start_next()
    for log, block in streams:
        part = parts[log]
        if block:
            part.read(block, known)
            streams.pace = PACE  # the first rows are out: read the rest in larger blocks
        else:
            part.end(known)
            del parts[log]
            start_next()
        if not parts:
            yield len(shas)
            continue
        first = next(iter(parts.values()))
        yield first.start + first.at


class _Part:
    """One log's commits (``mine``) and what it has printed of them so far: log prints a
    line per commit in the order given, passes over blobs and trees and prints a tag's
    commit instead, once; from the first line that is not the next of ``mine`` on, the
    rest of its output is matched by commit at its end (``end``)."""

    __slots__ = ("mine", "start", "at", "rest", "odd")

    def __init__(self, mine: list[str], start: int) -> None:
        self.mine, self.start, self.at, self.rest, self.odd = mine, start, 0, b"", None

    def read(self, block: bytes, known: dict) -> None:
        block = self.rest + block
        cut = block.rfind(b"\n") + 1
        self.rest = block[cut:]
        if not cut:
            return
        if self.odd is not None:
            self.odd.append(block[:cut])
            return
        got, bases, times, exits = _parse(block[:cut])
        at, mine = self.at, self.mine
        if got != mine[at:at + len(got)]:
            same = next((i for i, sha in enumerate(mine[at:at + len(got)]) if sha != got[i]), len(mine) - at)
            self.odd = [b"\n".join(block[:cut].split(b"\n")[same:])]
            got, bases, times, exits = got[:same], bases[:same], times[:same], exits[:same]
        known.update(zip(got, zip(bases, times, exits)))
        self.at = at + len(got)

    def end(self, known: dict) -> None:
        """Log is done: what it left out is no commit; past an odd line, match by commit."""
        left = self.mine[self.at:]
        if not left:
            return
        if self.odd is None:
            known.update((sha, ()) for sha in left)
            return
        got, bases, times, exits = _parse(b"".join(self.odd) + self.rest)
        found = dict(zip(got, zip(bases, times, exits)))
        known.update((sha, found.get(sha, ())) for sha in left)


def _parse(data: bytes) -> tuple[list, list, list, list]:
    """Columns (commit, first parent or None, committer time, exit code or None) of
    whole lines of log's ``COMMIT_FORMAT``: one split in C, then slices."""
    text = data.decode("utf-8", "surrogateescape")
    flat = text.replace("\n", SEP).split(SEP)  # four fields per commit, one line each
    flat.pop()  # what followed the last newline
    if len(flat) != 4 * text.count("\n"):  # a trailer value that holds SEP: line by line
        flat = [field for line in text.split("\n")[:-1] for field in (line.split(SEP, 3) + ["", "", ""])[:4]]
    bases = flat[1::4]
    if " " in text or "" in bases:  # merges, root commits (else each is one parent)
        bases = [p.partition(" ")[0] or None for p in bases]
    bases = [base and intern(base) for base in bases]  # one string per baseline: the facts load 25% quicker
    codes = {code: _exit_code(code) for code in set(flat[3::4])}
    return flat[0::4], bases, list(map(int, flat[2::4])), list(map(codes.__getitem__, flat[3::4]))


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
    listed: dict | None = None  # ``stream``'s name and remote of every ref listed


def records_where(repo: Repo, where: str, *, remotes: bool = False, listing: Running | None = None) -> Records:
    """``records`` of the experiments the ``--where`` query matches (their rows read as
    ``show`` reads them, params and metrics too)."""
    from git_exp.commands.show import matching

    matched = matching(repo, where, remotes=remotes, listing=listing)
    found = Records({field: [row[field] for row in matched] for field in FIELDS})
    found.undecided = matched.undecided
    return found
