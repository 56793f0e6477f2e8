"""Archives: many experiments kept reachable by a few refs, so that every ``git fetch``
and ``git push`` of a remote does not pay for each old experiment (issue 14).

An archive is a commit at ``refs/exp-archive/<its own id>``:

- its parents are the experiment commits it holds (at most ``FANOUT`` of them), so
  they stay reachable, are sent by any push of the ref and survive ``gc``;
- its tree holds one file, ``index.tsv``: a header line, then one line per experiment,
  ``name TAB sha TAB baseline TAB created TAB exit code`` sorted by name; ``ls
  --archived`` reads it alone, ``show --archived`` reads the experiment commits it names;
- its message has trailers ``Exp-Archive-Count``, ``Exp-Archive-First`` and
  ``Exp-Archive-Last`` (the first and last name: ``show --archived NAME`` reads only the
  indexes whose range holds NAME), and ``Exp-Archive-Replaces: <id>`` for each archive
  it replaces (``unarchive`` rewrites an archive without the experiments it brought
  back; the replaced one is ignored wherever it still exists, e.g. on a remote).

The ref name is the commit id, so an archive never moves and two repositories can never
make different archives of one name: archives fetch and push without ``+``, into the
same name, from and to any peer.  Archiving and unarchiving are each one
``Repo.transaction``: the archive refs are created (or replaced) and the experiment refs
deleted (or created) together, so at no moment is an experiment unreachable.

Fan-out measured (git 2.39, 100k experiments): see README "Scaling".
"""
from __future__ import annotations

from git_exp.errors import ExpError
from git_exp.record import Record
from git_exp.repo import Repo

PREFIX = "refs/exp-archive/"
FANOUT = 1000  # experiments per archive commit (parents); see README "Scaling"
INDEX = "index.tsv"
HEADER = "# git-exp archive 1: name\tsha\tbaseline\tcreated\texit_code\n"
MAX_INDEX = 64 << 20  # bytes: an index larger than this is refused as damaged
FETCH_SPEC = f"{PREFIX}*:{PREFIX}*"  # no '+': an archive never moves


class Entry(Record):
    """One archived experiment, as its archive's index lists it."""

    __slots__ = ("name", "sha", "baseline", "created", "exit_code", "archive")

    def __init__(self, name: str, sha: str, baseline: str | None, created: int, exit_code: int | None,
                 archive: str = "") -> None:
        self.name, self.sha, self.baseline, self.created, self.exit_code = name, sha, baseline, created, exit_code
        self.archive = archive  # the id of the archive commit that holds it


class Archive(Record):
    __slots__ = ("sha", "count", "first", "last", "replaces", "date")

    def __init__(self, sha: str, count: int, first: str, last: str, replaces: list[str], date: int) -> None:
        self.sha, self.count, self.first, self.last, self.replaces, self.date = sha, count, first, last, replaces, date

    @property
    def ref(self) -> str:
        return PREFIX + self.sha

    def may_hold(self, name: str) -> bool:
        return self.first <= name <= self.last


LIST_FORMAT = "%00".join(["%(objectname)", "%(objecttype)", "%(committerdate:unix)",
                          "%(contents:trailers:only,unfold)"]) + "%00%00"


def archives(repo: Repo) -> list[Archive]:
    """The archives in force here (those no other archive here replaces), oldest first."""
    raw = repo.run("for-each-ref", f"--format={LIST_FORMAT}", "--", PREFIX).out
    found: dict[str, Archive] = {}
    for record in raw.split("\0\0"):
        record = record.strip("\n")
        if not record:
            continue
        parts = record.split("\0")
        if len(parts) < 4 or parts[1] != "commit":
            continue
        facts: dict[str, list[str]] = {}
        for line in parts[3].splitlines():
            key, sep, value = line.partition(":")
            if sep:
                facts.setdefault(key.strip(), []).append(value.strip())
        count = facts.get("Exp-Archive-Count", ["0"])[-1]
        found[parts[0]] = Archive(parts[0], int(count) if count.isdigit() else 0,
                                  facts.get("Exp-Archive-First", [""])[-1], facts.get("Exp-Archive-Last", [""])[-1],
                                  facts.get("Exp-Archive-Replaces", []), int(parts[2] or 0))
    replaced = {old for archive in found.values() for old in archive.replaces}
    return sorted((a for a in found.values() if a.sha not in replaced), key=lambda a: (a.date, a.sha))


def entries(repo: Repo, chosen: list[Archive]) -> list[Entry]:
    """What the indexes of ``chosen`` list, one cat-file for all; a name in several
    archives is listed once, from the newest of them."""
    if not chosen:
        return []
    query = "".join(f"{a.sha}:{INDEX}\n" for a in chosen)
    data = repo.run("cat-file", "--batch", input=query).stdout
    by_name: dict[str, Entry] = {}
    at = 0
    for archive in chosen:
        end = data.index(b"\n", at)
        header = data[at:end].split()
        if len(header) != 3 or header[1] != b"blob" or int(header[2]) > MAX_INDEX:
            raise ExpError(f"archive {archive.sha[:12]} has no readable {INDEX} — "
                           f"`git show {archive.sha[:12]}` shows what it holds")
        size = int(header[2])
        text = data[end + 1:end + 1 + size].decode("utf-8", "surrogateescape")
        at = end + 1 + size + 1
        for entry in parse_index(text, archive.sha):
            by_name[entry.name] = entry
    return sorted(by_name.values(), key=lambda e: e.name)


def parse_index(text: str, archive: str) -> list[Entry]:
    found = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 5:
            continue
        name, sha, baseline, created, code = parts[:5]
        found.append(Entry(name, sha, baseline or None, int(created) if created.isdigit() else 0,
                           int(code) if code.lstrip("-").isdigit() else None, archive))
    return found


def index_text(chosen: list[Entry]) -> str:
    lines = [HEADER]
    for e in sorted(chosen, key=lambda e: e.name):
        code = "" if e.exit_code is None else str(e.exit_code)
        lines.append(f"{e.name}\t{e.sha}\t{e.baseline or ''}\t{e.created}\t{code}\n")
    return "".join(lines)


def write(repo: Repo, chosen: list[Entry], replaces: list[str] = ()) -> str:
    """Write one archive commit holding ``chosen`` (objects only, no ref); its id."""
    from git_exp.snapshot import commit_tree

    chosen = sorted(chosen, key=lambda e: e.name)
    blob = repo.out("hash-object", "-w", "--stdin", input=index_text(chosen))
    tree = repo.out("mktree", input=f"100644 blob {blob}\t{INDEX}\n")
    trailers = [f"Exp-Archive-Count: {len(chosen)}"]
    if chosen:
        trailers += [f"Exp-Archive-First: {chosen[0].name}", f"Exp-Archive-Last: {chosen[-1].name}"]
    trailers += [f"Exp-Archive-Replaces: {old}" for old in replaces]
    message = f"git exp archive: {len(chosen)} experiment{'s' if len(chosen) != 1 else ''}\n\n" + "\n".join(trailers) + "\n"
    parents = list(dict.fromkeys(e.sha for e in chosen))
    return commit_tree(repo, tree, parents, message)


def chunks(chosen: list[Entry], size: int | None = None) -> list[list[Entry]]:
    size = size or FANOUT
    chosen = sorted(chosen, key=lambda e: e.name)
    return [chosen[i:i + size] for i in range(0, len(chosen), size)]
