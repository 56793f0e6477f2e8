"""What git-exp remembers between runs: one file of facts about commits,
``<git common dir>/git-exp/facts``.

Only facts about commits are kept, keyed by commit id: a commit never changes, so an
entry never goes stale, and a listing of the refs (no object read) says which entries
a command needs.  The file holds one *section* per kind of fact, each a ``{commit: ...}``
dict read and written by one module:

======== ================================================== =========================
section  what it holds per commit                           keyed by (``key``)
======== ================================================== =========================
heads    ``rows.base_row``'s fields (subject, trailers...)  ``trailer.*`` settings
commits  ``ls``'s fields (first parent, time, exit code)    ``trailer.*`` settings
files    params and metrics, flattened (``results``)        file lists, size limit
history  metric histories' summaries (``history``)          history paths, size limit
lines    ``show --json``'s line after name and remote       all of the above
notes    tags and notes of one notes commit (``notes``)     that notes commit
======== ================================================== =========================

The file starts with ``MAGIC``, the length of a ``marshal``-ed header and the header:
``{"version": VERSION, "sections": {name: (key, offset, length)}}``; each section is one
``marshal`` dump after it.  A command reads the header and only the sections it needs
(``ls`` reads ``commits`` alone, however large ``files`` is): marshal reads back without
importing anything (``json`` costs ~12 ms to import), ~70 ms for 100k entries here.
``save`` keeps what a command learnt in memory, already dumped; ``flush`` (once, when the
command ends: ``entry.main``) writes a new file with those sections and the other
sections of the old file copied as bytes, to a temporary file renamed over the old one,
so readers see the old file or the new.  A file of another VERSION, damaged or
unreadable, reads as empty; a section of another key is empty; a cache that cannot be
written only makes the next run slower, and two commands finishing at once may lose one
of their updates the same way.  Entries of deleted experiments are dropped once they
outnumber the live ones; ``git exp gc`` removes the file (``clear``).

VERSION is no number a person must remember to bump: it is computed (``version``) from
FORMAT and the source of every module whose code decides what an entry holds (how git is
asked, how its answer is parsed, the limits, the JSON written), so any change to them is
a new version; what the repository's configuration changes in an entry is its section's
``key``.  tests/test_cache.py pins the module list.  A shallow repository keeps no facts
of what git says of commits (``of_commits``); a ``git replace`` of a commit already
cached is not seen until ``gc``.
"""
from __future__ import annotations

import marshal
import os

FORMAT = 3  # how the file is laid out (MAGIC, header, sections); part of VERSION
MAGIC = b"git-exp facts\n\0\0"
NAME = "facts"
MODULES = ("cache.py", "rows.py", "repo.py", "commands/ls.py", "results.py", "plainyaml.py", "history.py",
           "notes.py", "present/show.py", "present/rows.py", "render.py", "commands/show_cold.py")  # what decides the entries
TRAILER_CONFIG = ("config", "--get-regexp", r"^trailer\.")  # what git's %(trailers) parsing follows
FILES = (NAME, "rows.marshal", "heads.marshal", "lines.marshal", "commits.marshal", "history.marshal",
         "notes.marshal", "parsed.json")  # NAME, and the files of releases before it: gc removes them all
HEADER_MAX = 1 << 20  # bytes: a longer header is damage


def path(common_dir: str, name: str = NAME) -> str:
    return os.path.join(common_dir, "git-exp", name)


def version(*modules: str) -> int:
    """The version of facts whose entries the code of ``modules`` (paths below the
    ``git_exp`` package, ``"results.py"``) decides: a CRC-32 of FORMAT and their source.
    A module whose source cannot be read counts by its name and git-exp's version."""
    import zlib

    from git_exp import __version__

    here = os.path.dirname(os.path.abspath(__file__))
    crc = zlib.crc32(f"format {FORMAT}".encode())
    for name in modules:
        try:
            with open(os.path.join(here, name), "rb") as f:
                crc = zlib.crc32(f.read(), crc)
        except OSError:
            crc = zlib.crc32(f"{name} {__version__}".encode(), crc)
    return crc


VERSION = version(*MODULES)


def trailer_key(output: str) -> str | None:
    """The ``key`` for what ``TRAILER_CONFIG`` printed: git parses trailers as
    ``trailer.separators`` and ``trailer.<token>.key`` say, so entries read under other
    settings are not these (None: no trailer setting, the usual case)."""
    return output or None


class Where:
    """A section of the facts file at ``file``."""

    __slots__ = ("file", "section")

    def __init__(self, file: str, section: str) -> None:
        self.file, self.section = file, section

    def __repr__(self) -> str:
        return f"Where({self.file!r}, {self.section!r})"


def at(common_dir: str, section: str) -> Where:
    """The ``section`` of the facts file of the repository whose common dir is ``common_dir``."""
    return Where(path(common_dir), section)


def of_commits(repo, section: str) -> Where | None:
    """``at`` for a section of what git says of commits, their parents included, or None
    (no cache) in a shallow repository: there git hides the parents of the commits at
    its boundary, and shows them once it deepens, so the answer for a commit can change."""
    return None if repo.shallow else at(repo.common_dir, section)


_pending: dict[str, dict[str, tuple[object, bytes]]] = {}  # file -> section -> (key, its dump), not yet written


def _sections(f) -> tuple[dict, int] | None:
    """The sections the header of the open facts file ``f`` lists, and where the first
    starts; None for another VERSION or damage."""
    start = f.read(len(MAGIC) + 8)
    if len(start) != len(MAGIC) + 8 or not start.startswith(MAGIC):
        return None
    size = int.from_bytes(start[len(MAGIC):], "little")
    if size > HEADER_MAX:
        return None
    header = marshal.loads(f.read(size))
    if type(header) is not dict or header.get("version") != VERSION or type(header.get("sections")) is not dict:
        return None
    return header["sections"], len(MAGIC) + 8 + size


def _read_section(file: str, section: str, key: object) -> bytes | None:
    """The dump of ``section`` in the facts file ``file`` if its key is ``key``."""
    try:
        with open(file, "rb") as f:
            found = _sections(f)
            if found is None:
                return None
            said = found[0].get(section)
            if not said or said[0] != key:
                return None
            _, offset, length = said
            f.seek(found[1] + offset)
            data = f.read(length)
            return data if len(data) == length else None
    except (OSError, ValueError, EOFError, KeyError, TypeError):
        return None


def load(where: Where | None, key: object = None) -> dict:
    """The data ``save`` saved at ``where`` under the same ``key`` (and VERSION), or {}."""
    if where is None:
        return {}
    pending = _pending.get(where.file, {}).get(where.section)
    data = pending[1] if pending and pending[0] == key else None
    if isinstance(data, _Parts):
        data = _joined(data)
    if data is None:
        data = _read_section(where.file, where.section, key)
    if data is None:
        return {}
    try:
        loaded = marshal.loads(data)
    except (ValueError, EOFError, TypeError):
        return {}
    return loaded if type(loaded) is dict else {}


def save(where: Where | None, data: dict, key: object = None, *, listed: list | None = None) -> None:
    """Replace the section at ``where`` by ``data`` when the command ends (``flush``);
    errors are ignored (a missing cache costs time only).

    ``listed`` are the commits the refs name now: when ``data`` holds more than twice as
    many entries (and 1000 more), the rest, for deleted experiments, are dropped."""
    if where is None:
        return
    if listed is not None and len(data) > 2 * len(listed) + 1000:
        data = {sha: data[sha] for sha in listed if sha in data}
    try:
        dump = marshal.dumps(data)
    except ValueError:  # a value marshal cannot write
        return
    if not _pending:
        import atexit

        atexit.register(flush)  # for programs that call git-exp's functions; ``entry.main`` flushes first
    _pending.setdefault(where.file, {})[where.section] = (key, dump)


PART = ".part"  # the end of a part file's name: ``<facts>.<pid>.<section>.part``


class Pieces:
    """A section written a piece at a time (``add``: a dict of entries), to a part file
    beside the facts file, so that what a command learns of 100k commits is never held
    whole (``commands.show_cold``).  marshal's version 2 writes a dict as its entries
    between ``{`` and ``0``, with no reference to anything written before, so the entries
    of pieces written one after another read back as one dict; ``part`` is the file
    (None before the first piece, or once a write failed: the section is then not
    saved).  ``save_parts`` hands part files to ``flush``; a forked process writes its
    own (the pid is in the name)."""

    __slots__ = ("where", "part", "f")

    def __init__(self, where: Where | None) -> None:
        self.where, self.part, self.f = where, None, None

    def add(self, data: dict) -> None:
        if self.where is None or not data or (self.f is None and self.part is not None):
            return
        try:
            dump = marshal.dumps(data, 2)
            if self.f is None:
                self.part = self.part_of(self.where, os.getpid())
                os.makedirs(os.path.dirname(self.part), exist_ok=True)
                self.f = open(self.part, "wb")
            self.f.write(dump[1:-1])
        except (OSError, ValueError):  # ValueError: a value marshal cannot write
            self.close()
            self.discard()

    def close(self) -> str | None:
        """Close the part file; its path (None: nothing was written)."""
        if self.f is not None:
            try:
                self.f.close()
            except OSError:
                self.discard()
            self.f = None
        return self.part

    @staticmethod
    def part_of(where: Where, pid: int) -> str:
        """The part file of ``where`` that the process ``pid`` writes."""
        return f"{where.file}.{pid}.{where.section}{PART}"

    def discard(self) -> None:
        if self.part is not None:
            remove(self.part)
            self.part = ""  # not None: no later piece starts another file


def save_parts(where: Where | None, key: object, parts: list[str | None]) -> None:
    """Replace the section at ``where`` by the entries of the part files ``parts``
    (``Pieces.close``'s; None are left out) when the command ends (``flush``, which
    removes them); none: nothing is saved."""
    parts = [part for part in parts if part]
    if where is None or not parts:
        for part in parts:
            remove(part)
        return
    if not _pending:
        import atexit

        atexit.register(flush)
    old = _pending.setdefault(where.file, {}).get(where.section)
    if old is not None and isinstance(old[1], _Parts):
        for part in old[1]:
            remove(part)
    _pending[where.file][where.section] = (key, _Parts(parts))


class _Parts(list):
    """A pending section held in part files (``save_parts``), not in memory."""


def _joined(parts: _Parts) -> bytes | None:
    """The dump of the dict whose entries ``parts`` hold (``load`` of a pending section)."""
    try:
        chunks = [b"{"]
        for part in parts:
            with open(part, "rb") as f:
                chunks.append(f.read())
        return b"".join(chunks) + b"0"
    except OSError:
        return None


def remove(file: str) -> None:
    try:
        os.remove(file)
    except OSError:
        pass


def flush() -> None:
    """Write what ``save`` kept: one new file per facts file, the sections not saved
    copied from the old one."""
    while _pending:
        file, sections = _pending.popitem()
        _write(file, sections)


def _write(file: str, sections: dict[str, tuple[object, bytes | _Parts]]) -> None:
    parts = [part for _, data in sections.values() if isinstance(data, _Parts) for part in data]
    try:
        _write_file(file, sections)
    finally:
        for part in parts:
            remove(part)


def _write_file(file: str, sections: dict[str, tuple[object, bytes | _Parts]]) -> None:
    kept: dict[str, tuple[object, bytes | _Parts]] = {}
    try:
        with open(file, "rb") as f:
            found = _sections(f)
            if found is not None:
                listed, base = found
                for name, (key, offset, length) in listed.items():
                    if name not in sections:
                        f.seek(base + offset)
                        data = f.read(length)
                        if len(data) == length:
                            kept[name] = (key, data)
    except (OSError, ValueError, EOFError, KeyError, TypeError):
        kept = {}
    kept.update(sections)
    layout, offset = {}, 0
    for name, (key, data) in list(kept.items()):
        size = _parts_size(data) if isinstance(data, _Parts) else len(data)
        if size is None:  # a part file gone: the section is not saved
            del kept[name]
            continue
        layout[name] = (key, offset, size)
        offset += size
    tmp = f"{file}.{os.getpid()}.tmp"
    try:
        dumped = marshal.dumps({"version": VERSION, "sections": layout})
        os.makedirs(os.path.dirname(file), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(MAGIC + len(dumped).to_bytes(8, "little") + dumped)
            for name, (_, data) in kept.items():
                if isinstance(data, _Parts):
                    _copy_parts(data, f, layout[name][2])
                else:
                    f.write(data)
        os.replace(tmp, file)
        tmp = None
    except (OSError, ValueError):  # ValueError: a key marshal cannot write, a part file that changed
        pass
    finally:  # interrupted too: no temporary file is left
        if tmp is not None:
            remove(tmp)


def _parts_size(parts: _Parts) -> int | None:
    """The size of the dump ``parts`` make (``{``, their entries, ``0``), or None."""
    try:
        return 2 + sum(os.path.getsize(part) for part in parts)
    except OSError:
        return None


def _copy_parts(parts: _Parts, into, size: int) -> None:
    """Write the dump of ``parts`` into the open file ``into``: ``size`` bytes, or ValueError."""
    import shutil

    into.write(b"{")
    written = 2
    for part in parts:
        with open(part, "rb") as f:
            shutil.copyfileobj(f, into, 1 << 20)
            written += f.tell()
    into.write(b"0")
    if written != size:
        raise ValueError(f"{parts} changed while written")


def sections(common_dir: str) -> list[str]:
    """The sections the facts file of ``common_dir`` holds now, in order (for ``doctor`` and tests)."""
    try:
        with open(path(common_dir), "rb") as f:
            found = _sections(f)
    except (OSError, ValueError, EOFError, TypeError):
        return []
    return list(found[0]) if found else []


def header(where: Where) -> dict:
    """``{section: (key, offset, length)}`` of the facts file ``where`` is in ({}: none,
    damaged, or of another version): which sections it holds, under which keys."""
    try:
        with open(where.file, "rb") as f:
            found = _sections(f)
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return found[0] if found else {}


def clear(common_dir: str) -> None:
    """Forget every fact (``git exp gc``): the file, what this command was to write, the
    files of earlier releases, and part and temporary files a killed command left."""
    _pending.pop(path(common_dir), None)
    for name in FILES:
        try:
            os.remove(path(common_dir, name))
        except FileNotFoundError:
            pass
    try:
        names = os.listdir(os.path.dirname(path(common_dir)))
    except OSError:
        return
    for name in names:
        if name.startswith(NAME + ".") and name.endswith((PART, ".tmp")):
            remove(path(common_dir, name))
