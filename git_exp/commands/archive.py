"""``git exp archive`` / ``unarchive``, and the ``--archived`` side of ``ls``, ``show``,
``push`` and ``pull``: old experiments moved off their own refs into a few archive refs
(``git_exp.archives`` says what an archive is).

- ``archive [NAME|GLOB...] [--older-than AGE] [--keep N] [--where EXPR]``: the chosen
  experiments go into new archives of up to ``archives.FANOUT`` each, and in the same
  transaction that creates those refs their ``refs/exp/`` refs are deleted.
- ``unarchive NAME|GLOB...``: the named experiments get their refs back; each archive
  that held one is replaced, in the same transaction, by one without them (or by an
  empty one that only says what it replaces).
- ``push REMOTE --archived``: every archive, plus the deletion (each leased at the
  archived commit) of the remote's ``refs/exp/NAME`` of archived experiments and of the
  archives ours replace; archives go first, so nothing is lost on the remote either.
- ``pull REMOTE --archived [NAME|GLOB...]``: fetch the remote's archives (into the same
  names), then ``unarchive`` the names given.
"""
from __future__ import annotations

from git_exp import archives, names, pruning
from git_exp.archives import Entry
from git_exp.errors import ExpError, UsageError
from git_exp.names import PREFIX, shown
from git_exp.record import Record
from git_exp.repo import RefMoved, Repo

PACK_AFTER = 100
DELETE_BATCH = 2000  # remote deletions per git push (each a refspec and a lease on the command line)


class Archived(Record):
    """What archive (or unarchive) did: the experiments and the archive ids written."""

    __slots__ = ("entries", "written", "dry_run")


def archive(repo: Repo, patterns: list[str], *, older_than: str | None = None, keep: int | None = None,
            where: str | None = None, dry_run: bool = False, now: float | None = None) -> Archived:
    if not patterns and not pruning.criteria_given(older_than, False, keep) and not where:
        raise UsageError("say which experiments to archive: NAME|GLOB..., --older-than AGE, --keep N or --where "
                         "EXPR — e.g. `git exp archive --older-than 90d`")
    exps = repo.list()
    candidates = pruning.matching(exps, patterns, "archived") if patterns else exps
    if older_than is not None or keep is not None:
        candidates = pruning.choose(repo, candidates, older_than=older_than, keep=keep, now=now)
    if where:
        from git_exp.commands.show import show

        table, _columns = show(repo, where=where)
        chosen = {row["name"] for row in table if row["remote"] is None}
        candidates = [e for e in candidates if e.name in chosen]
    entries = [Entry(e.name, e.sha, e.baseline, e.created, _exit_code(e.trailers.get("Exp-Exit-Code")))
               for e in candidates]
    if dry_run or not entries:
        return Archived(entries, [], dry_run)
    written = append(repo, archives.chunks(entries), [(e.ref, repo.zero, e.sha) for e in candidates],
                     "git exp archive", "nothing was archived")
    return Archived(entries, written, False)


def append(repo: Repo, volumes: list[list[Entry]], moves: list[tuple[str, str, str]], message: str,
           nothing: str) -> list[str]:
    """Append ``volumes`` to the newest chain here and move its ref to the new end, in one
    transaction with ``moves``; the volumes written."""
    import time

    now = int(time.time())
    previous = base = archives.newest_tip(repo, archives.volumes(repo))
    catalog = archives.catalog_of(repo, base) if base else ""
    written = []
    for chunk in volumes:
        previous, catalog = archives.write(repo, chunk, previous, now, catalog)
        written.append(previous)
    zero = repo.zero
    updates = [(archives.PREFIX + written[-1], written[-1], zero)]
    if base is not None:  # the end of the chain we appended to: its ref goes, the new end holds it
        updates.append((archives.PREFIX + base, zero, base))
    updates += moves
    try:
        repo.transaction(updates, message)
    except RefMoved as exc:
        raise ExpError(f"a ref changed meanwhile ({exc}) — {nothing}; run it again") from None
    if len(updates) >= PACK_AFTER:
        repo.pack_refs()
    return written


def _exit_code(value: str | None) -> int | None:
    return int(value) if value and value.lstrip("-").isdigit() else None


def archived(repo: Repo, patterns: list[str] | None = None) -> list[Entry]:
    """The archived experiments (those ``patterns`` select: UsageError for a pattern
    matching none); for plain names only the archives whose name range holds them are read."""
    chosen = archives.volumes(repo)
    if patterns:
        for pattern in patterns:
            if not names.is_glob(pattern):
                names.ExpName(pattern)
        if not any(names.is_glob(p) for p in patterns):
            chosen = [v for v in chosen if any(v.may_hold(p) for p in patterns)]
    state = archives.replay(repo, chosen)
    found = [state[name] for name in sorted(state)]
    if not patterns:
        return found
    by_name = {e.name: e for e in found}
    picked, unmatched = names.select(list(by_name), patterns)
    if unmatched:
        raise UsageError(f"no archived experiment matches {shown(unmatched[0])} — `git exp ls --archived` lists them")
    return [by_name[n] for n in picked]


def columns(entries: list[Entry]) -> dict[str, list]:
    """``ls``'s columns (``commands.ls.FIELDS``) of archived experiments."""
    return {"name": [e.name for e in entries], "remote": [None] * len(entries), "sha": [e.sha for e in entries],
            "baseline": [e.baseline for e in entries], "created": [e.created for e in entries],
            "exit_code": [e.exit_code for e in entries]}


def show_rows(repo: Repo, patterns: list[str], *, sort: str | None = None, where: str | None = None,
              best: str | None = None, limit: int | None = None, reverse: bool = False) -> tuple[list[dict], list[str]]:
    """``show``'s rows and columns for archived experiments."""
    from git_exp import revisions
    from git_exp.commands.show import show
    from git_exp.rows import base_row

    entries = archived(repo, patterns)
    read = revisions.commits(repo, [e.sha for e in entries])
    found = []
    for entry in entries:
        exp = read[entry.sha]
        exp.name = entry.name
        found.append(base_row(exp))
    return show(repo, None, sort=sort, where=where, best=best, limit=limit, reverse=reverse, found=found)


def unarchive(repo: Repo, patterns: list[str], *, dry_run: bool = False) -> Archived:
    if not patterns:
        raise UsageError("name the archived experiments to bring back — e.g. `git exp unarchive 'sweep/*'`")
    entries = archived(repo, patterns)
    live = repo.refs()
    for entry in entries:
        if entry.name in live and live[entry.name] != entry.sha:
            raise UsageError(f"experiment {shown(entry.name)} exists and is another commit — rename or remove it "
                             f"first; nothing was unarchived")
        repo.check_free(names.ExpName(entry.name), [n for n in live if n != entry.name])
    if dry_run:
        return Archived(entries, [], True)
    drops = [Entry(e.name, archives.DROPPED, None, 0, None) for e in entries]
    zero = repo.zero
    written = append(repo, [drops], [(PREFIX + e.name, e.sha, zero) for e in entries if e.name not in live],
                     "git exp unarchive", "nothing was unarchived")
    return Archived(entries, written, False)


class Shared(Record):
    """What push/pull --archived did: archives sent or fetched, remote experiments
    deleted (now archived there), archives replaced there, experiments unarchived."""

    __slots__ = ("archives", "deleted", "replaced", "unarchived")


def push_archived(repo: Repo, remote, *, dry_run: bool = False) -> Shared:
    from git_exp.commands.push import push_refspecs
    from git_exp.remotes import explain

    heads = archives.tips(repo)
    mine = archives.volumes(repo, list(heads))
    listing = repo.run("ls-remote", "--refs", "--", remote.name, "refs/exp/*", archives.PREFIX + "*", check=False)
    if listing.returncode:
        raise explain(remote, listing, "listing experiments on")
    theirs_exp, theirs_arch = {}, set()
    for line in listing.out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith(PREFIX):
            theirs_exp[ref[len(PREFIX):]] = sha
        elif ref.startswith(archives.PREFIX):
            theirs_arch.add(ref[len(archives.PREFIX):])
    state = archives.replay(repo, mine)
    live = repo.refs()
    doomed = [(name, e.sha) for name, e in state.items() if theirs_exp.get(name) == e.sha and live.get(name) != e.sha]
    ours = {v.sha for v in mine}
    redundant = sorted(sha for sha in theirs_arch if sha in ours and sha not in heads)  # in our chains
    # an experiment unarchived here is in no archive of ours: it goes as a ref where the remote lacks it
    back = sorted(name for name, sha in live.items() if name not in theirs_exp and name not in state
                  and _ever_archived(name, mine))
    new = [sha for sha in heads if sha not in theirs_arch]
    sent = [f"{archives.PREFIX}{sha}:{archives.PREFIX}{sha}" for sha in new]
    sent += [f"{PREFIX}{name}:{PREFIX}{name}" for name in back]
    if sent:  # first the archives: from then on the remote keeps every experiment reachable
        _refused(push_refspecs(repo, remote, sent, [], dry_run=dry_run, what="pushing archives to", atomic=True),
                 remote, "nothing was deleted there")
    deletions = [(PREFIX + name, sha) for name, sha in sorted(doomed)] + [(archives.PREFIX + s, s) for s in redundant]
    for start in range(0, len(deletions), DELETE_BATCH):
        batch = deletions[start:start + DELETE_BATCH]
        _refused(push_refspecs(repo, remote, [f":{ref}" for ref, _ in batch], [f"{ref}:{sha}" for ref, sha in batch],
                               dry_run=dry_run, what="deleting archived experiments on", atomic=True),
                 remote, "the archives are there; run it again to delete the rest")
    return Shared(new, [n for n, _ in doomed], redundant, back)


def _ever_archived(name: str, volumes) -> bool:
    return any(v.may_hold(name) for v in volumes)


def _refused(pushed, remote, then: str) -> None:
    refused = [o for o in pushed if o.status == "rejected"]
    if refused:
        raise ExpError(f"{remote.label} refused {shown(refused[0].name)} ({refused[0].detail}) — {then}")


def pull_archived(repo: Repo, remote, patterns: list[str]) -> Shared:
    from git_exp.remotes import explain

    before = set(archives.tips(repo))
    result = repo.run("fetch", "--no-tags", "--", remote.name, archives.FETCH_SPEC, check=False)
    if result.returncode:
        raise explain(remote, result, "fetching archives from")
    fetched = [sha for sha in archives.tips(repo) if sha not in before]
    back = unarchive(repo, patterns).entries if patterns else []
    return Shared(fetched, [], [], [e.name for e in back])
