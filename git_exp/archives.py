"""Archives: many experiments kept reachable by a few refs, so that every ``git fetch``
and ``git push`` of a remote does not pay for each old experiment (issue 14).

Archived experiments are held by a chain of *volumes*, append-only:

- a volume is a commit whose first parent is the previous volume of its chain (the
  first volume's is a parentless start commit) and whose other parents are the
  experiment commits it archives (at most ``FANOUT``), so they stay reachable, travel
  with any push or fetch of the chain and survive ``gc``;
- its tree holds ``index.tsv``: a header, then one line per experiment, ``name TAB sha
  TAB baseline TAB created TAB exit code``, sorted by name; ``-`` as the sha says the
  name left the archive (``unarchive`` appends a volume of such lines: nothing is
  rewritten, and the commits stay reachable through the chain);
- and ``volumes.tsv``: the catalog of its chain up to itself, one line per volume (``id
  TAB first name TAB last name TAB count``), oldest first: ``show --archived NAME`` reads
  the catalog at each archive ref, then only the indexes whose name range holds NAME,
  never walking the chain (a ``git log`` of 99 volumes of 1000 parents printed 4 MB);
- its message has trailers ``Exp-Archive-Count``, ``Exp-Archive-First`` and
  ``Exp-Archive-Last``, for people.

A chain's newest volume is at ``refs/exp-archive/<its id>``: an archive ref never moves,
so it fetches and pushes without ``+``, into the same name, from and to any peer;
appending makes a new ref and deletes the old one in the same ``Repo.transaction`` that
deletes (archive) or creates (unarchive) the experiment refs.  A ref whose volume is in
another ref's chain is redundant (``push --archived`` deletes it on the remote).  What is
archived is the volumes of every chain replayed oldest first (as ``git log --first-parent
--reverse``), in the order of its catalog; chains (refs fetched from peers that appended
on their own) one after the other, oldest end first.

Why a chain and not one ref per volume: git parses every ref's commit, and so its
parents, on each no-op fetch (the connectivity check and the ref update) and push: 99
refs of 1000 parents each made a no-op ``git fetch`` 6x slower at 100k.  A chain's tip
has one volume's parents, and git's walks stop a few commits below it (README "Scaling").
"""
from __future__ import annotations

from git_exp.errors import ExpError
from git_exp.record import Record
from git_exp.repo import Repo, lacks_identity, stand_in_identity

PREFIX = "refs/exp-archive/"
FANOUT = 1000  # experiments per volume (parents); see README "Scaling"
INDEX = "index.tsv"
HEADER = "# git-exp archive 1: name\tsha\tbaseline\tcreated\texit_code ('-' as sha: left the archive)\n"
DROPPED = "-"
MAX_INDEX = 64 << 20  # bytes: an index larger than this is refused as damaged
FETCH_SPEC = f"{PREFIX}*:{PREFIX}*"  # no '+': an archive ref never moves
START = "git exp archive: the start of a chain of archive volumes\n"


class Entry(Record):
    """One archived experiment (or, with sha ``DROPPED``, one that left the archive)."""

    __slots__ = ("name", "sha", "baseline", "created", "exit_code", "volume")

    def __init__(self, name: str, sha: str, baseline: str | None, created: int, exit_code: int | None,
                 volume: str = "") -> None:
        self.name, self.sha, self.baseline, self.created, self.exit_code = name, sha, baseline, created, exit_code
        self.volume = volume  # the id of the volume that lists it


class Volume(Record):
    __slots__ = ("sha", "previous", "count", "first", "last", "date")

    def __init__(self, sha: str, previous: str | None, count: int, first: str, last: str, date: int) -> None:
        self.sha, self.previous, self.count, self.first, self.last, self.date = (
            sha, previous, count, first, last, date)

    def may_hold(self, name: str) -> bool:
        return self.first <= name <= self.last


def tips(repo: Repo) -> dict[str, str]:
    """{volume id: ref} of the archive refs here."""
    out = repo.run("for-each-ref", "--format=%(objectname) %(refname)", "--", PREFIX).out
    return {sha: ref for sha, _, ref in (line.partition(" ") for line in out.splitlines())}


CATALOG = "volumes.tsv"


def volumes(repo: Repo, heads: list[str] | None = None) -> list[Volume]:
    """Every volume of the chains ending at ``heads`` (default: the archive refs), each
    chain oldest first, chains by the date of their newest volume; one ``cat-file``."""
    heads = list(tips(repo)) if heads is None else heads
    if not heads:
        return []
    got = repo.objects([spec for sha in heads for spec in (sha, f"{sha}:{CATALOG}")])
    chains = []
    for i, head in enumerate(heads):
        commit = _object(got[2 * i], head)
        catalog = _object(got[2 * i + 1], f"{head}:{CATALOG}")
        chains.append((_committer_date(commit), head, catalog.decode("utf-8", "surrogateescape")))
    found: dict[str, Volume] = {}
    for _date, head, text in sorted(chains):
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) < 5 or line.startswith("#") or parts[0] in found or parts[0] == "." and head in found:
                continue
            sha, first, last, count, when = parts[:5]
            sha = head if sha == "." else sha
            found[sha] = Volume(sha, None, int(count) if count.isdigit() else 0, first, last,
                                int(when) if when.isdigit() else 0)
    return list(found.values())


def _object(got: tuple[str, bytes] | None, what: str) -> bytes:
    """The content ``Repo.objects`` gave for ``what``; ExpError when git has none or it is too large."""
    if got is None or len(got[1]) > MAX_INDEX:
        raise ExpError(f"archive {what[:12]} cannot be read — `git show {what[:12]}` shows what it holds")
    return got[1]


def _committer_date(commit: bytes) -> int:
    for line in commit.split(b"\n"):
        if line.startswith(b"committer "):
            try:
                return int(line.rsplit(b" ", 2)[-2])
            except (ValueError, IndexError):
                return 0
        if not line:
            break
    return 0


def catalog_of(repo: Repo, head: str) -> str:
    return repo.run("cat-file", "blob", f"{head}:{CATALOG}").stdout.decode("utf-8", "surrogateescape")


def newest_tip(repo: Repo, chosen: list[Volume]) -> str | None:
    """The archive ref's volume to append to: the newest of the refs here."""
    heads = tips(repo)
    dated = [v for v in chosen if v.sha in heads]
    return max(dated, key=lambda v: (v.date, v.sha)).sha if dated else None


def replay(repo: Repo, chosen: list[Volume]) -> dict[str, Entry]:
    """{name: Entry} of what ``chosen`` (oldest first) leave archived: each volume's lines
    in turn, a ``-`` line taking its name out; one cat-file for all indexes."""
    if not chosen:
        return {}
    state: dict[str, Entry] = {}
    for volume, got in zip(chosen, repo.objects([f"{v.sha}:{INDEX}" for v in chosen])):
        if got is None or got[0] != "blob" or len(got[1]) > MAX_INDEX:
            raise ExpError(f"archive volume {volume.sha[:12]} has no readable {INDEX} — "
                           f"`git show {volume.sha[:12]}` shows what it holds")
        text = got[1].decode("utf-8", "surrogateescape")
        for entry in parse_index(text, volume.sha):
            if entry.sha == DROPPED:
                state.pop(entry.name, None)
            else:
                state[entry.name] = entry
    return state


def parse_index(text: str, volume: str) -> list[Entry]:
    found = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 5:
            continue
        name, sha, baseline, created, code = parts[:5]
        found.append(Entry(name, sha, baseline or None, int(created) if created.isdigit() else 0,
                           int(code) if code.lstrip("-").isdigit() else None, volume))
    return found


def index_text(chosen: list[Entry]) -> str:
    lines = [HEADER]
    for e in sorted(chosen, key=lambda e: e.name):
        code = "" if e.exit_code is None else str(e.exit_code)
        lines.append(f"{e.name}\t{e.sha}\t{e.baseline or ''}\t{e.created}\t{code}\n")
    return "".join(lines)


def start(repo: Repo, when: int) -> str:
    """A new chain's start commit (no parent, empty tree)."""
    return commit(repo, repo.out("mktree", input=""), [], START, when)


def commit(repo: Repo, tree: str, parents: list[str], message: str, when: int) -> str:
    """``commit-tree`` dated ``when``: a volume is dated as its newest experiment, so that
    git's walks from the refs (which go on while commits are as new as the last one
    taken) stop above the volumes, whose parents are the cost (README "Scaling")."""
    args = ["commit-tree", tree, *(a for p in parents for a in ("-p", p)), "-F", "-"]
    env = {"GIT_COMMITTER_DATE": f"{when} +0000", "GIT_AUTHOR_DATE": f"{when} +0000"}
    result = repo.run(*args, input=message, env=env, check=False)
    if result.returncode and ("ident" in result.err or lacks_identity(result.err)):
        env.update(stand_in_identity())  # no identity configured, as snapshot does
        result = repo.run(*args, input=message, env=env, check=False)
    if result.returncode:
        said = result.err.strip().splitlines() or [f"git commit-tree exited with {result.returncode}"]
        raise ExpError(f"could not write an archive volume: {said[-1]} — "
                       f"nothing was archived")
    return result.out.strip()


def write(repo: Repo, chosen: list[Entry], previous: str | None, now: int, catalog: str = "") -> tuple[str, str]:
    """Write one volume listing ``chosen`` on top of ``previous`` (a new chain when None);
    objects only, no ref; its id.  Dated as its newest experiment (``now`` when it lists
    none).  ``catalog``: ``previous``'s chain's catalog; returns the id and this one's."""
    chosen = sorted(chosen, key=lambda e: e.name)
    blob = repo.out("hash-object", "-w", "--stdin", input=index_text(chosen))
    kept = sum(1 for e in chosen if e.sha != DROPPED)
    trailers = [f"Exp-Archive-Count: {kept}"]
    if chosen:
        trailers += [f"Exp-Archive-First: {chosen[0].name}", f"Exp-Archive-Last: {chosen[-1].name}"]
    left = len(chosen) - kept
    what = f"{kept} experiment{'s' if kept != 1 else ''}" + (f", {left} taken out" if left else "")
    message = f"git exp archive: {what}\n\n" + "\n".join(trailers) + "\n"
    when = max((e.created for e in chosen if e.sha != DROPPED), default=now) if kept else now
    parents = [previous or start(repo, when)] + list(dict.fromkeys(e.sha for e in chosen if e.sha != DROPPED))
    first, last = (chosen[0].name, chosen[-1].name) if chosen else ("", "")
    # a volume cannot hold its own id: its catalog names itself "." (the commit that holds
    # the catalog), and the next volume's names it by id
    lines = catalog.splitlines(keepends=True)
    if lines and lines[-1].startswith(".\t") and previous:
        lines[-1] = previous + lines[-1][1:]
    text = "".join(lines) + f".\t{first}\t{last}\t{kept}\t{when}\n"
    cat = repo.out("hash-object", "-w", "--stdin", input=text)
    tree = repo.out("mktree", input=f"100644 blob {blob}\t{INDEX}\n100644 blob {cat}\t{CATALOG}\n")
    return commit(repo, tree, parents, message, when), text


def chunks(chosen: list[Entry], size: int | None = None) -> list[list[Entry]]:
    size = size or FANOUT
    chosen = sorted(chosen, key=lambda e: e.name)
    return [chosen[i:i + size] for i in range(0, len(chosen), size)]
