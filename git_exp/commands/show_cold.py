"""``git exp show --json`` when the facts know none of the rows: newest first, a part at
a time, on two processes.

The long way (``commands.show.show``) holds every row, and what the facts are to keep of
each, until the end: at 100k experiments ~600 MB.  Here (``applies``: ``show --json``
with no option that needs every row first, ``usable``: COLD_FROM experiments or more
and no params and metrics in the facts) only each experiment's commit facts are held
(``rows.heads``: the order, newest first, needs every creation time); the rest of a
row (params, metrics, metric histories: ``show.read``, without the caches) is read
PART rows at a time, encoded and written, and what was learnt goes to the facts as
pieces in part files (``cache.Pieces``), so that neither the rows nor the facts are
ever held whole.

A forked worker reads every other part (git and Python work on both cores) and hands
its text back through a pipe; the parent writes the parts in order, so the output is
byte for byte the long way's.  The worker writes its own part files; if it fails (or
dies), the parent reads its parts itself, from the first it did not hand back, and so
meets the same error, or none.  No fork where threads run or ``os.fork`` is missing:
the parent reads every part.
"""
from __future__ import annotations

import os

from git_exp import cache, render, results
from git_exp.commands import show

COLD_FROM = 10_000  # experiments from which a cold ``show --json`` reads a part at a time
PART = 2500  # rows read, encoded and written together (~5 MB held for each; at 100k, 5000 held 15-25 MB more, no quicker)
PARTS_ENV = "GIT_EXP_SHOW_PART"  # internal, for the tests: another PART (and COLD_FROM: 2 parts)


def part_size() -> int:
    text = os.environ.get(PARTS_ENV, "")
    return int(text) if text.isdigit() and int(text) > 0 else PART


def applies(*, fmt: str, patterns: list[str], sort: str | None, where: str | None, best: str | None,
            picked: bool, limit: int | None, reverse: bool, archived: bool, remote: str | None,
            vs: str | None) -> bool:
    """Whether ``show`` may take this way: every experiment as JSON, in ``show``'s order."""
    return (fmt == "json" and not patterns and not sort and where is None and not best and not picked
            and limit is None and not reverse and not archived and remote is None and vs is None)


def usable(source: show.Source, lines: tuple) -> tuple | None:
    """``(files, keys)`` when the listing holds enough experiments and the facts hold no
    params and metrics under the configured files (else the long way, with its caches,
    is quicker), or None: ``files`` the configured files, ``keys`` the facts' keys of
    files, history and lines (``lines``: ``show.lines_cache``'s)."""
    from git_exp import history

    listed = source.listing.wait().out.count("\n")
    if listed < max(render.LINES_MIN, 2 * part_size() if os.environ.get(PARTS_ENV) else COLD_FROM):
        return None
    files = results.configured_files(source.repo, source.files)
    names = [path for kind in results.KINDS for path in files[kind]]
    row_key = names if files["max_size"] == results.MAX_SIZE else [*names, files["max_size"]]
    if cache.header(results.where(source.repo)).get("files", (None,))[0] == row_key:
        return None
    return files, (row_key, (history.entries(files), files["max_size"]), lines[1])


def json_text(source: show.Source, files: dict, keys: tuple, *, remotes: bool, encode, bad: list):
    """``show --json``'s text a piece at a time (a generator), read a part at a time;
    ``encode(rows)`` gives a part's ``(text, {sha: line after name and remote}, rows with
    unreadable files)`` (``present.show.json_part``), and ``bad`` gets those rows once
    the text is written.  None when fewer than ``render.LINES_MIN`` rows are listed
    (written indented: the long way)."""
    from git_exp import leftovers

    repo = source.repo
    leftovers.remove_files(leftovers.stale_parts(repo.common_dir))  # a killed run's
    heads = show.Heads(repo, remotes=remotes, listing=source.listing, trailers=source.trailer_key())
    if len(heads.shas) < render.LINES_MIN:
        return None
    source.listing.wait().stdout = b""  # read: not held meanwhile (at 100k, 6 MB)
    cache.flush()  # the heads written now: their dump is not held to the end
    size = part_size()
    parts = [heads.order[at:at + size] for at in range(0, len(heads.order), size)]
    return _pieces(_Reader(repo, files, keys, heads, encode), parts, bad)


class _Reader:
    """Reads parts (lists of indexes into the listing) into their JSON text, and keeps
    what the facts are to hold of them in ``Pieces``."""

    def __init__(self, repo, files, keys, heads: show.Heads, encode) -> None:
        self.repo, self.files, self.keys, self.heads, self.encode = repo, files, keys, heads, encode
        self.wheres = (results.where(repo), cache.at(repo.common_dir, "history"), cache.of_commits(repo, "lines"))
        self.pieces = [cache.Pieces(where) for where in self.wheres]

    def read(self, part: list[int]) -> tuple[str, list[dict]]:
        """``(text, bad)``: the part's JSON lines, and its rows with unreadable files."""
        chunk = self.heads.rows(part)
        kept: dict = {"files": {}, "history": {}}
        changes = results.Changes(self.repo, show.read_paths(self.files))  # one diff-tree for the part
        changes.start([row["sha"] for row in chunk])
        try:
            show.read(self.repo, chunk, self.files, cached=False, kept=kept, changes=changes)
        finally:
            changes.close()
        text, tails, bad = self.encode(chunk)
        for pieces, piece in zip(self.pieces, (kept["files"], kept["history"], tails)):
            pieces.add(piece)
        return text, bad

    def close(self) -> list[str | None]:
        return [pieces.close() for pieces in self.pieces]

    def discard(self) -> None:
        for pieces in self.pieces:
            pieces.close()
            pieces.discard()

    def save(self, *others: list[str | None]) -> None:
        """Hand this reader's part files and ``others`` (a worker's) to the facts."""
        mine = self.close()
        for at, where in enumerate(self.wheres):
            cache.save_parts(where, self.keys[at], [mine[at], *(theirs[at] for theirs in others)])


def _pieces(reader: _Reader, parts: list[list[int]], bad: list):
    """The JSON text a part at a time; the worker, if one could be forked, reads the odd parts."""
    worker = _Worker.start(reader, parts[1::2]) if len(parts) > 1 else None
    found: list[dict] = []
    done = False
    try:
        yield "[\n"
        for at, part in enumerate(parts):
            got = worker.next() if worker is not None and at % 2 else None
            if got is None and worker is not None and at % 2:
                worker = worker.stop()  # failed or gone: the parent reads the rest itself
            text, part_bad = got if got is not None else reader.read(part)
            found += part_bad
            yield ("" if not at else ",\n") + text
        yield "\n]\n"
        theirs, worker = (worker.finish() if worker is not None else None), None  # reaped: never signalled again
        reader.save(*([theirs] if theirs is not None else []))
        bad += found
        done = True
    finally:
        if not done:
            reader.discard()
            if worker is not None:
                worker.stop()


class _Worker:
    """A forked process reading ``parts`` with ``reader`` (its copy), handing each one's
    ``(text, bad)`` back through a pipe, then the paths of its part files."""

    def __init__(self, pid: int, pipe, wheres) -> None:
        self.pid, self.pipe, self.wheres = pid, pipe, wheres

    @classmethod
    def start(cls, reader: _Reader, parts: list[list[int]]) -> _Worker | None:
        import sys
        import threading

        if not hasattr(os, "fork") or threading.active_count() > 1:
            return None  # a fork copies no thread: one holding a lock would hold it for ever
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return None
        if pid:
            os.close(w)
            return cls(pid, os.fdopen(r, "rb"), reader.wheres)
        os.close(r)  # the worker, from here to os._exit
        code = 1
        try:
            reader.pieces = [cache.Pieces(where) for where in reader.wheres]  # its own part files
            with os.fdopen(w, "wb") as pipe:
                for part in parts:
                    _send(pipe, reader.read(part))
                _send(pipe, reader.close())
            code = 0
        except BaseException:  # said by the parent, which reads this part itself
            reader.discard()
        finally:
            os._exit(code)

    def next(self):
        """The next part's ``(text, bad)``, or None when the worker failed."""
        return _receive(self.pipe)

    def finish(self) -> list[str | None] | None:
        """The worker's part files, once it has ended well; None otherwise (then removed)."""
        got = _receive(self.pipe)
        self.pipe.close()
        _, status = os.waitpid(self.pid, 0)
        if status == 0 and isinstance(got, list):
            return got
        self._remove_parts()
        return None

    def stop(self) -> None:
        """Stop the worker (it may be reading a part no one will want) and remove its part files."""
        import signal

        self.pipe.close()
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self._remove_parts()
        return None

    def _remove_parts(self) -> None:
        for where in self.wheres:
            cache.remove(cache.Pieces.part_of(where, self.pid))


_LENGTH = 8


def _send(pipe, value) -> None:
    import marshal

    data = marshal.dumps(value)
    pipe.write(len(data).to_bytes(_LENGTH, "little") + data)
    pipe.flush()


def _receive(pipe):
    """The next value ``_send`` wrote, or None at the end of the pipe (the worker died)."""
    import marshal

    try:
        head = pipe.read(_LENGTH)
        if len(head) != _LENGTH:
            return None
        size = int.from_bytes(head, "little")
        data = pipe.read(size)
        return marshal.loads(data) if len(data) == size else None
    except (OSError, ValueError, EOFError, TypeError):  # what no worker of ours wrote
        return None
