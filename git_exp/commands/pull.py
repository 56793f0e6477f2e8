"""``git exp pull``: fetch a remote's experiments, then create or fast-forward local ones.

1. One ``git ls-remote`` (14 ms at 10k) lists the remote's experiments; when every
   selected one's objects are already here, no fetch runs (a no-op glob fetch costs
   140-280 ms at 10k).
2. The objects of the experiments we lack come with ``git fetch-pack`` where git's
   native transports reach the remote (local, file://, ssh, git://): it writes no ref,
   and git fetch's own connectivity check runs while we plan the ref updates (see
   ``fetchpack``: 0.55-0.7 s where ``git fetch --dry-run`` took 0.64-0.79 s at 10k).
   Over http(s), helpers and bundles, one ``git fetch --dry-run`` of the glob
   ``+refs/exp/*:refs/remote-exp/<remote>/*`` (or a narrower glob, or explicit
   refspecs for a handful of names) does it; in a shallow clone a storing, shallow fetch.
3. The remote-tracking refs and the new ``refs/exp/*`` are written in one packed-refs
   rewrite (see ``packed``), changed ones in one ``update-ref --stdin`` transaction
   each.  A diverged experiment is reported and left alone unless ``--force``; both
   versions stay reachable.
"""
from __future__ import annotations

from git_exp import fetchpack, names
from git_exp.commands.push import EXPLICIT_MAX, _git_glob
from git_exp.errors import UsageError
from git_exp.git import wait_all
from git_exp.names import PREFIX
from git_exp.record import Record
from git_exp.remotes import Remote, explain, ls_remote, start_ls_remote
from git_exp.repo import ZERO, Repo, sha_map

PACK_AFTER = 100
LOOKUP_MAX = 256


class Pulled(Record):
    """name, status (new, updated, up to date, diverged, forced, local is ahead), sha, detail."""

    __slots__ = ("name", "status", "sha", "detail")

    def __init__(self, name: str, status: str, sha: str, detail: str = "") -> None:  # 10k per pull: no generic init
        self.name, self.status, self.sha, self.detail = name, status, sha, detail


def missing_objects(repo: Repo, shas) -> set[str]:
    shas = sorted(set(shas))
    if not shas:
        return set()
    check = repo.run("cat-file", "--batch-check=%(objectname)", input="".join(f"{s}\n" for s in shas))
    return {line.split()[0] for line in check.out.splitlines() if line.endswith(" missing")}


def descendants(repo: Repo, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The ``(old, new)`` pairs where ``old`` is an ancestor of ``new`` — in one rev-list.

    Experiment histories are short (a commit, plus ``--append`` versions on top), so we
    walk every ``new`` down to the baselines once and answer each pair in memory.
    """
    if not pairs:
        return set()
    news = sorted({n for _, n in pairs})
    olds = sorted({o for o, _ in pairs})
    parents_of: dict[str, list[str]] = {}
    result = repo.run("rev-list", "--parents", "--stdin", input="".join(f"{s}\n" for s in news)
                      + "".join(f"^{o}^@\n" for o in olds), check=False)
    for line in result.out.splitlines():
        commit, *parents = line.split()
        parents_of[commit] = parents
    ok = set()
    for old, new in pairs:
        seen, stack = set(), [new]
        while stack:
            commit = stack.pop()
            if commit == old:
                ok.add((old, new))
                break
            if commit in seen:
                continue
            seen.add(commit)
            stack.extend(parents_of.get(commit, []))
    return ok


def pull(repo: Repo, remote: Remote, patterns: list[str], *, all_: bool = False, force: bool = False) -> list[Pulled]:
    if not patterns and not all_:
        raise UsageError("name the experiments to pull (names or globs), or use --all")
    for pattern in patterns:
        if not names.is_glob(pattern):
            names.ExpName(pattern)
    # Everything a pull may need, side by side: the remote's listing, ours, and how to
    # reach the remote with fetch-pack (the last two are local and cost ~3 ms each).
    started = [start_ls_remote(repo, remote), repo.start_refs(remote.tracking), repo.start_refs()]
    probe = fetchpack.start_probe(repo, remote)
    try:
        return _pull(repo, remote, patterns, all_, force, started, probe)
    finally:
        wait_all([*started, *probe])  # reaped whatever happened


def _pull(repo: Repo, remote: Remote, patterns: list[str], all_: bool, force: bool, started, probe) -> list[Pulled]:
    theirs = ls_remote(repo, remote, running=started[0])
    if all_ or "*" in patterns:
        wanted = sorted(theirs)
        glob = "*"
    else:
        wanted, unmatched = names.select(sorted(theirs), patterns)
        if unmatched:
            raise UsageError(f"{remote.name} has no experiment matching {unmatched[0]!r} — `git exp ls {remote.name}` lists them")
        glob = patterns[0] if len(patterns) == 1 and _git_glob(patterns[0]) else None
    selected = {n: theirs[n] for n in wanted}
    # Commits our refs point at are here; look up only the others, and when there are
    # many (a first pull) just fetch: git's negotiation skips what we have anyway.
    tracking, ours = (sha_map(running.wait().out, prefix) for running, prefix in zip(started[1:], (remote.tracking, PREFIX)))
    known = set(tracking.values()) | set(ours.values())
    unknown = {sha for sha in selected.values() if sha not in known}
    absent = unknown if len(unknown) > LOOKUP_MAX else missing_objects(repo, unknown)
    fetched = None
    try:
        if absent:
            todo = [n for n, sha in selected.items() if sha in absent]
            how = fetchpack.native(repo, remote, probe)
            if how is not None:
                fetched = fetchpack.fetch(repo, how, [PREFIX + n for n in todo])
                for ref, sha in fetched.shas.items():  # what the remote has now, if it moved since ls-remote
                    selected[ref[len(PREFIX):]] = theirs[ref[len(PREFIX):]] = sha
            else:
                _fetch(repo, remote, todo, glob, store=repo.shallow)
                if missing_objects(repo, absent):  # the object-only fetch did not bring them: fetch for real
                    _fetch(repo, remote, todo, glob, store=True)
                tracking = repo.refs(remote.tracking)  # a storing fetch moved them
        prunes, tracking_moves, tracking_creates = _plan_tracking(remote, selected, theirs, tracking)
        report, local_moves, local_creates = _plan_local(repo, remote, selected, ours, force)
        # New refs, remote-tracking and local, in one packed-refs rewrite (no reflogs: a
        # new experiment is reachable from both names), worked out while git checks the
        # fetched history; a few local ones go through update-ref with reflogs.
        logged = local_creates if len(local_creates) < PACK_AFTER else []
        bulk = repo.plan_bulk_create(tracking_creates + (local_creates if not logged else []))
        if fetched:
            fetched.verify()  # git fetch's connectivity check, before any ref is written
        _write(repo, remote, prunes, tracking_moves, local_moves, logged, bulk)
    finally:
        if fetched:
            fetched.release()
    return report


def _fetch(repo: Repo, remote: Remote, todo: list[str], glob: str | None, *, store: bool) -> None:
    """Fetch the objects of ``todo``; with ``store`` git also writes the remote-tracking refs.

    Without ``store`` this is ``git fetch --dry-run``: git downloads and checks the
    objects but writes no ref, so we can write all refs at once into packed-refs
    instead of git writing one loose file per ref (most of a 10k fetch's time).  The
    caller checks that the objects arrived and falls back to storing.  A shallow clone
    always stores, so that git records the new shallow boundary.
    """
    if glob is not None or len(todo) > EXPLICIT_MAX:
        pattern = glob or "*"
        refspecs = [f"+{PREFIX}{pattern}:{remote.tracking}{pattern}"]
    else:
        refspecs = [f"+{PREFIX}{n}:{remote.tracking}{n}" for n in todo]
    args = ["fetch", "--no-tags", "--no-write-fetch-head", "--quiet"]
    if not store:
        args.append("--dry-run")
    if repo.shallow:
        args.append("--depth=2")
    result = repo.run(*args, "--", remote.name, *refspecs, check=False)
    if result.returncode:
        raise explain(remote, result, "fetching experiments from")


def _plan_tracking(remote: Remote, selected: dict[str, str], theirs: dict[str, str], tracking: dict[str, str]):
    """``(prunes, moves, creates)`` that point ``refs/remote-exp/<remote>/<name>`` at what
    the remote has.

    A remote-tracking ref the remote no longer has is deleted when it is in the way of
    a new name (the remote replaced ``a`` by ``a/b``), as ``git fetch --prune`` would.
    """
    tracking = dict(tracking)
    gone = names.Clashes(n for n in tracking if n not in theirs)
    in_the_way = {gone.find(n) for n in selected if n not in tracking} - {None}
    prunes = [(remote.tracking + n, ZERO, tracking.pop(n)) for n in sorted(in_the_way)]
    creates = [(remote.tracking + n, sha) for n, sha in selected.items() if n not in tracking]
    moves = [(remote.tracking + n, sha, tracking[n]) for n, sha in selected.items()
             if n in tracking and tracking[n] != sha]
    return prunes, moves, creates


def _plan_local(repo: Repo, remote: Remote, theirs: dict[str, str], ours: dict[str, str], force: bool):
    """``(report, moves, creates)``: fast-forward (or with ``force`` replace) local
    experiments, create new ones."""
    differing = [(ours[n], sha) for n, sha in theirs.items() if n in ours and ours[n] != sha]
    forward = descendants(repo, differing)
    behind = descendants(repo, [(new, old) for old, new in differing])
    creates, moves, report = [], [], []
    clashes = names.Clashes(ours)
    for name, sha in theirs.items():
        mine = ours.get(name)
        if mine is None:
            other = clashes.find(name)
            if other:
                report.append(Pulled(name, "rejected", sha, f"local experiment {other!r} blocks this name"))
                continue
            creates.append((PREFIX + name, sha))
            report.append(Pulled(name, "new", sha))
        elif mine == sha:
            report.append(Pulled(name, "up to date", sha))
        elif (mine, sha) in forward:
            moves.append((PREFIX + name, sha, mine))
            report.append(Pulled(name, "updated", sha))
        elif (sha, mine) in behind:
            report.append(Pulled(name, "local is ahead", sha))
        elif force:
            moves.append((PREFIX + name, sha, mine))
            report.append(Pulled(name, "forced", sha, f"was {mine[:7]}, still in the reflog"))
        else:
            report.append(Pulled(name, "diverged", sha,
                                 f"kept local {mine[:7]}; theirs is at {remote.tracking}{name} — --force to take it"))
    return report, moves, creates


def _write(repo: Repo, remote: Remote, prunes, tracking_moves, local_moves, local_creates, bulk) -> None:
    """Prunes, moves and a few creates in ``update-ref`` transactions (with reflogs),
    then the bulk of the new refs."""
    repo.transaction(prunes, f"git exp pull: {remote.name} pruned")
    repo.transaction(tracking_moves, f"git exp pull: {remote.name}")
    message = f"git exp pull: from {remote.name}"
    repo.transaction(local_moves, message)
    if len(local_moves) >= PACK_AFTER:
        repo.pack_refs()
    repo.transaction([(ref, sha, ZERO) for ref, sha in local_creates], message)
    bulk.apply(message)
