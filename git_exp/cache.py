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
file (``FILES``).  A shallow repository keeps no cache of what git says of commits
(``of_commits``); a ``git replace`` of a commit already cached is not seen until then.
"""
from __future__ import annotations

import marshal
import os

FILES = ("rows.marshal", "heads.marshal", "lines.marshal", "commits.marshal", "history.marshal", "notes.marshal",
         "parsed.json")  # parsed.json: before 0.2


def path(common_dir: str, name: str) -> str:
    return os.path.join(common_dir, "git-exp", name)


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
