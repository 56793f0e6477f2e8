"""What git-exp remembers between runs, in ``<git common dir>/git-exp/``.

Only facts about commits are kept, keyed by commit id: a commit never changes, so an
entry never goes stale, and a listing of the refs (no object read) says which entries
a command needs.  Each file is one ``marshal`` dump, ``{"version": V, "key": K, "data":
...}``: marshal reads back without importing anything (``json`` costs ~12 ms to import,
its decoder imports ``re``), ~7 ms for 10k entries and ~70 ms for 100k here.  A file
of another version or key, damaged or unreadable, reads as empty; writes go to a
temporary file renamed over the old one, so readers see the old file or the new, and
a cache that cannot be written only makes the next run slower.  Entries of deleted
experiments are dropped once they outnumber the live ones; ``git exp gc`` removes every
file (``FILES``).

No version is a number a person must remember to bump: ``version`` computes each from
FORMAT and the source of the modules whose code decides what an entry holds (how git
is asked, how its answer is parsed, the limits), so any change to them is a new
version; what the repository's configuration changes in an entry (the file lists and
size limit, ``trailer.*``: ``trailer_key``) is the file's ``key``.  tests/test_cache.py
pins which modules each cache depends on.  A shallow repository keeps no cache of what git says of commits
(``of_commits``); a ``git replace`` of a commit already cached is not seen until then.
"""
from __future__ import annotations

import marshal
import os

FORMAT = 2  # how a file is laid out: {"version", "key", "data"}, marshal; part of every version
TRAILER_CONFIG = ("config", "--get-regexp", r"^trailer\.")  # what git's %(trailers) parsing follows
FILES = ("rows.marshal", "heads.marshal", "lines.marshal", "commits.marshal", "history.marshal", "notes.marshal",
         "parsed.json")  # parsed.json: before 0.2


def path(common_dir: str, name: str) -> str:
    return os.path.join(common_dir, "git-exp", name)


def version(*modules: str) -> int:
    """The version of a cache whose entries the code of ``modules`` (paths below the
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


def trailer_key(output: str) -> str | None:
    """The cache ``key`` for what ``TRAILER_CONFIG`` printed: git parses trailers as
    ``trailer.separators`` and ``trailer.<token>.key`` say, so entries read under other
    settings are not these (None: no trailer setting, the usual case)."""
    return output or None


def of_commits(repo, name: str) -> str | None:
    """``path`` for a cache of what git says of commits, their parents included, or None
    (no cache) in a shallow repository: there git hides the parents of the commits at
    its boundary, and shows them once it deepens, so the answer for a commit can change."""
    return None if repo.shallow else path(repo.common_dir, name)


def load(where: str | None, version: int, key: object = None) -> dict:
    """The data saved at ``where`` by ``save`` with the same ``version`` and ``key``, or {}."""
    if where is None:
        return {}
    try:
        with open(where, "rb") as f:
            saved = marshal.loads(f.read())
        if saved.get("version") == version and saved.get("key") == key and type(saved["data"]) is dict:
            return saved["data"]
    except (OSError, ValueError, EOFError, KeyError, AttributeError, TypeError):
        pass
    return {}


def save(where: str | None, version: int, data: dict, key: object = None, *, listed: list | None = None) -> None:
    """Replace the file at ``where``; errors are ignored (a missing cache costs time only).

    ``listed`` are the commits the refs name now: when the file holds more than twice as
    many entries (and 1000 more), the rest, for deleted experiments, are dropped."""
    if where is None:
        return
    if listed is not None and len(data) > 2 * len(listed) + 1000:
        data = {sha: data[sha] for sha in listed if sha in data}
    tmp = f"{where}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(where), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(marshal.dumps({"version": version, "key": key, "data": data}))
        os.replace(tmp, where)
    except (OSError, ValueError):  # ValueError: a value marshal cannot write
        try:
            os.remove(tmp)
        except OSError:
            pass


def clear(common_dir: str) -> None:
    for name in FILES:
        try:
            os.remove(path(common_dir, name))
        except FileNotFoundError:
            pass
