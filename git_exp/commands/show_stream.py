"""``git exp show`` on a terminal: the rows in chunks, newest first, so the first screen
comes at once (``present.show.StreamedTable`` writes them, ``present.table.Stream`` lays them out).

The order (newest first, as ``commands.show.show`` sorts) needs only each experiment's
commit time, which ``show.Heads`` gives from the listing (and the facts, warm) without
building a row each; the params, metrics and metric histories (``show.read``) are then
read for one chunk at a time: the first ``first_size()`` rows and the next (``GROWTH`` times as many each) straight
from git without the caches, as a selection is read; then every other row in one read
through the caches (``complete=False``: the caches keep what other experiments had),
handed on in chunks still growing.  Memory and the whole run's time stay those of the
whole table.

Only ``show`` with no option that needs every row first streams (``streams``): not
``--sort``, ``--where``, ``--best``, ``--reverse``, ``--columns``, ``--drop``,
``--only-changed``, patterns, ``--archived``, ``show REMOTE``/``--remote``, ``--vs``, nor
``--json``, ``--md``, ``--csv`` or a table that is not written to a terminal; those
build the whole table as before.  ``-n N`` streams (the newest N).
"""
from __future__ import annotations

import os

from git_exp import rows
from git_exp.commands import show

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing imports re (~12 ms)
    from typing import Iterator

FIRST = 100  # rows of the first chunk: a screen or two, read in ~25 ms
GROWTH = 4  # each chunk this many times the one before
UNCACHED = 10  # chunks of up to this many times FIRST rows are read without the caches; then the rest at once
FIRST_ENV = "GIT_EXP_SHOW_CHUNK"  # internal, for the tests: another first chunk size


def first_size() -> int:
    """The first chunk's size: ``FIRST``, or ``$GIT_EXP_SHOW_CHUNK`` when a positive number."""
    text = os.environ.get(FIRST_ENV, "")
    return int(text) if text.isdigit() and int(text) > 0 else FIRST


def streams(*, terminal: bool, fmt: str, patterns: list[str], sort: str | None, where: str | None,
            best: str | None, reverse: bool, picked: bool, archived: bool, remote: str | None,
            vs: str | None) -> bool:
    """Whether ``show`` streams its table (see the module): a table on a terminal, and no
    option that needs every row before the first is written."""
    return (terminal and fmt == "table" and not patterns and not sort and where is None and not best
            and not reverse and not picked and not archived and remote is None and vs is None)


def chunks(source: show.Source, *, remotes: bool = False, limit: int | None = None,
           first: int | None = None) -> Iterator[tuple[list[dict], list[str]]]:
    """``(rows, columns)`` chunk by chunk: ``commands.show.show``'s rows, newest first, at
    most ``limit`` of them, each chunk's rows read whole; ``columns`` every column seen so
    far, in ``show``'s order (base columns, tags and note when some experiment has them,
    params.*, metrics.*).  Nothing is yielded when there is no row."""
    repo = source.repo
    first = first or first_size()
    heads = show.Heads(repo, remotes=remotes, listing=source.listing, trailers=source.trailer_key())
    order = rows.limited(heads.order, limit, False)
    said = show.NOTE_COLUMNS if heads.said() else ()
    files = source.files  # ``results.start_files``'s git, read once (``_configured``)
    known: dict[str, None] = {}
    at, size = 0, first
    while at < len(order):
        cached = size > UNCACHED * first
        chunk = heads.rows(order[at:] if cached else order[at:at + size])
        files = _configured(repo, files)
        known.update(show.read(repo, chunk, files, complete=False, cached=cached))
        columns = _columns(said, known)
        if not cached:
            yield chunk, columns
            at, size = at + len(chunk), size * GROWTH
            continue
        start = 0
        while start < len(chunk):
            yield chunk[start:start + size], columns
            start, size = start + size, size * GROWTH
        return


def _configured(repo, files):
    """The configured files (a dict) from ``start_files``'s git, read once for every chunk."""
    from git_exp import results

    return files if isinstance(files, dict) else results.configured_files(repo, files)


def _columns(said: tuple, extra: dict) -> list[str]:
    params = sorted(k for k in extra if k == "params" or k.startswith("params."))
    metrics = sorted(k for k in extra if k == "metrics" or k.startswith("metrics."))
    return [*show.COLUMNS, *said, *params, *metrics]

