"""``git exp pull``: fetch a remote's experiments, then create or fast-forward local ones.

1. One ``git ls-remote`` (14 ms at 10k) lists the remote's experiments.  What it
   advertises is data: a name git-exp cannot hold (not a valid experiment name, not
   UTF-8, 10 kB long, or clashing with another advertised name as ``a`` and ``a/b``)
   is skipped and reported.  When our refs already point at every selected commit, no
   fetch runs (a no-op glob fetch costs 140-280 ms at 10k).
2. The objects come through ``git fetch`` itself, with the user's transport, config,
   ``insteadOf``, credential helpers and bundles: ``git fetch --dry-run`` of the glob
   ``+refs/exp/*:refs/remote-exp/<remote>/*`` (or a narrower glob, or explicit refspecs
   for a handful of names, or the advertised commits themselves on its stdin for more:
   git matches each named refspec against every advertised ref) downloads and checks
   them and writes no ref.  In a shallow
   clone (git must record the new shallow boundary) and whenever the dry run did not
   leave the objects here, a real fetch into a private namespace
   ``refs/exp-staging/<id>/`` does it, removed afterwards.
3. A ref to anything but a commit is skipped.  Then git writes the refs: one
   ``update-ref`` transaction for the remote-tracking refs, one for the local ones, each
   update a compare-and-swap with a reflog entry.  A concurrent pull or fetch that wrote some of
   the same refs meanwhile makes a transaction fail as a whole; we read the refs again
   and plan again, as a second ``git fetch`` would simply find them up to date.  A
   diverged experiment is reported and left alone unless ``--force``; both versions
   stay reachable.  After many new refs, ``git pack-refs`` packs them: 20k loose refs
   made every later no-op ``git fetch`` 2.3x slower (bench row fetch-installed) — unless
   a ``reference-transaction`` hook would run for each of them (``Repo.pack_refs``).

``--where`` needs the remote's params and metrics, which are in the commits: after step
2 the remote-tracking refs of every selected experiment are written (as ``git fetch``
with the installed refspec would), their rows are read as ``show -r`` reads them, and
only the experiments the query matches get local refs (step 3).  The others stay
fetched under ``refs/remote-exp/<remote>/``, counted in ``Report.unmatched``.
"""
from __future__ import annotations

import os
import time

from git_exp import names
from git_exp.commands.push import EXPLICIT_MAX, STAGING, drop_stale_staging
from git_exp.errors import ExpError, UsageError
from git_exp.git import wait_all
from git_exp.names import PREFIX
from git_exp.record import Record
from git_exp.remotes import Extras, Remote, explain, split_extras, start_ls_remote
from git_exp.repo import RefMoved, Repo, sha_map, symbolic

PACK_AFTER = 100  # refs written, from which git packs them afterwards
ATTEMPTS = 8  # plans tried while other pulls or fetches write the same refs
BACKOFF = 0.02  # seconds before the second plan, doubling (6 s in all at most)


def jitter() -> float:
    """A random fraction in [0, 1) that spreads racing pulls' retries apart (``random`` is
    not imported for it: ``push`` and ``ls REMOTE`` import this module)."""
    return int.from_bytes(os.urandom(4), "big") / (1 << 32)


class Pulled(Record):
    """name, status (new, updated, up to date, diverged, forced, local is ahead), sha, detail."""

    __slots__ = ("name", "status", "sha", "detail")

    def __init__(self, name: str, status: str, sha: str, detail: str = "") -> None:  # 10k per pull: no generic init
        self.name, self.status, self.sha, self.detail = name, status, sha, detail


def missing_objects(repo: Repo, shas) -> set[str]:
    return {sha for sha, kind in object_types(repo, shas).items() if kind is None}


def object_types(repo: Repo, shas) -> dict[str, str | None]:
    """``{sha: 'commit', 'blob', 'tree', 'tag', or None when it is not here}`` in one ``cat-file``."""
    shas = sorted(set(shas))
    if not shas:
        return {}
    check = repo.run("cat-file", "--batch-check=%(objectname) %(objecttype)", input="".join(f"{s}\n" for s in shas))
    found: dict[str, str | None] = {}
    for line in check.out.splitlines():
        sha, _, kind = line.partition(" ")
        found[sha] = None if kind == "missing" else kind
    return found


def advertised(text: str) -> tuple[dict[str, str], list[Pulled]]:
    """The remote's experiments from ``ls-remote`` output, and a ``skipped`` report for
    each advertised name that git-exp cannot hold here."""
    theirs = sha_map(text, PREFIX)  # names that are not UTF-8 are left out there
    skipped = []
    if len(theirs) != text.count("\n"):
        decoded = set(theirs)
        for line in text.splitlines():
            ref = line.partition("\t")[2]
            if ref.startswith(PREFIX) and ref[len(PREFIX):] not in decoded:
                skipped.append(Pulled(ref[len(PREFIX):], "skipped", "", "its name is not UTF-8"))
    if names.all_valid(list(theirs)) and names.clash_free(theirs):
        return theirs, skipped
    clashes = names.Clashes(())
    for name in sorted(theirs, key=len):  # 'a' before 'a/b': the shorter name is kept
        why = names.problem(name)
        other = None if why else clashes.find(name)
        if why or other:
            skipped.append(Pulled(name, "skipped", theirs.pop(name),
                                  why or f"the remote also has {names.shown(other)}, and git cannot hold both"))
        else:
            clashes.add(name)
    return theirs, skipped


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


class Report(list):
    """Pulled per experiment; with ``--where``, how many selected experiments it did not
    match (fetched to the remote-tracking refs only) and the rows it could not decide;
    ``notes`` (what became of the tags and notes, in words), ``notes_error``, and
    ``removed_there`` (local experiments the remote has tombstones for, when not pruned)."""

    unmatched = 0
    undecided: list = []
    notes: str | None = None
    notes_error: str | None = None
    removed_there: list[str] = []


def pull(repo: Repo, remote: Remote, patterns: list[str], *, all_: bool = False, force: bool = False,
         where: str | None = None, prune: bool = False) -> Report:
    """Bring the experiments ``patterns`` select (or all) from ``remote``; with ``where``
    (all when no pattern is given) only those the ``--where`` query matches get local refs;
    with ``prune``, remove the local copies of those removed on the remote
    (``tombstones``); then merge the remote's tags and notes into ours (``notesync``).
    DVC's experiments (``dvc:NAME`` patterns, and with ``--all``) come after git-exp's
    (``dvc_share``); ``--where`` selects git-exp's only."""
    parsed = None
    if where is not None:
        from git_exp import query

        parsed = query.parse(where)  # a bad query fails before anything is fetched
        if not remote.configured:
            raise UsageError("--where decides on the remote's experiments as fetched to refs/remote-exp/REMOTE/, "
                             "which a URL has none of — `git remote add NAME URL`, then pull from NAME")
        all_ = all_ or not patterns
    if not patterns and not all_:
        raise UsageError("name the experiments to pull (names or globs), or use --all")
    from git_exp import dvc_share

    dvc_patterns, patterns = dvc_share.wants(patterns)
    if dvc_patterns and parsed is not None:
        raise UsageError("--where selects among git-exp's experiments — pull DVC's (dvc:NAME) without it")
    if not dvc_patterns and (not all_ or parsed is not None):
        return _pull_exp(repo, remote, patterns, all_, force, parsed, prune)
    listing = dvc_share.start_listing(repo, remote)  # beside git-exp's own listing
    try:
        done = _pull_exp(repo, remote, patterns, all_, force, parsed, prune) if patterns or all_ else Report()
        done.extend(dvc_share.pull(repo, remote, dvc_patterns, all_=all_, force=force, listing=listing))
        return done
    finally:
        listing.wait(check=False)


def _pull_exp(repo: Repo, remote: Remote, patterns: list[str], all_: bool, force: bool, parsed,
              prune: bool) -> Report:
    from git_exp import notesync

    for pattern in patterns:
        if not names.is_glob(pattern):
            names.ExpName(pattern)
    # The remote's listing and ours, side by side.
    started = [start_ls_remote(repo, remote), repo.start_refs(remote.tracking), repo.start_refs()]
    extras = Extras({}, None)
    try:
        report = _pull(repo, remote, patterns, all_, force, started, parsed, extras, prune)
    finally:
        wait_all(started)  # reaped whatever happened
        if not remote.configured:  # a URL: its stand-in for remote-tracking refs goes
            staged = repo.refs(remote.tracking)
            repo.transaction([(remote.tracking + n, repo.zero, sha) for n, sha in staged.items()],
                             "git exp pull: unstaging", reflog=False)
    if extras.tombstones:
        pruned, left = _prune(repo, remote, extras.tombstones, patterns, all_, prune)
        report.extend(pruned)
        report.removed_there = left
    try:
        report.notes = notesync.pull(repo, remote, extras.notes)
    except ExpError as exc:
        report.notes_error = str(exc)
    return report


def pull_here(args: list[str], *, all_: bool = False, force: bool = False,
              where: str | None = None, prune: bool = False) -> tuple[str, Report]:
    """``git exp pull [REMOTE] [NAME|GLOB]...`` in the repository here: the remote's name
    and what happened to each experiment."""
    from git_exp import remotes

    repo = Repo(remotes=True)
    remote, patterns = remotes.split_args(repo, args, all_=all_)
    return remote.label, pull(repo, remote, patterns, all_=all_, force=force, where=where, prune=prune)


def _pull(repo: Repo, remote: Remote, patterns: list[str], all_: bool, force: bool, started, parsed,
          extras: Extras, prune: bool) -> Report:
    listing = started[0].wait(check=False)
    if listing.returncode:
        raise explain(remote, listing, "listing experiments on")
    text, said = split_extras(listing.out)
    theirs, skipped = advertised(text)
    extras.notes = said.notes  # and the tombstones of names the remote has not in use again:
    extras.tombstones = {n: sha for n, sha in said.tombstones.items() if n not in theirs}
    if prune and patterns and not (all_ or "*" in patterns):
        # a name removed there is no unmatched pattern: pruning is what was asked for it
        patterns = [p for p in patterns if not names.select(sorted(said.tombstones), [p])[0]]
        if not patterns:
            return Report()
    if all_ or "*" in patterns:
        wanted = sorted(theirs)
        glob = "*"
    else:
        wanted, unmatched = names.select(sorted(theirs), patterns)
        if unmatched:
            raise UsageError(f"{remote.label} has no experiment matching {names.shown(unmatched[0])} — "
                             f"`git exp ls {remote.label}` lists them")
        glob = patterns[0] if len(patterns) == 1 and names.is_refspec_glob(patterns[0]) else None
    selected = {n: theirs[n] for n in wanted}
    texts = [running.wait().out for running in started[1:]]
    tracking, ours = (sha_map(text, prefix) for text, prefix in zip(texts, (remote.tracking, PREFIX)))
    for prefix, text in zip((remote.tracking, PREFIX), texts):
        for name in symbolic(text, prefix) & selected.keys():
            skipped.append(Pulled(name, "skipped", selected.pop(name),
                                  f"{prefix}{name} here is a symbolic ref, which git-exp never writes through"))
    # Commits our refs point at are here with their history.  For any other, even one
    # whose objects seem to be here (a killed fetch may have left a commit without its
    # trees and blobs), git fetch decides: it checks what it has before it downloads.
    known = set(tracking.values()) | set(ours.values())
    unknown = {sha for sha in selected.values() if sha not in known}
    kinds: dict[str, str | None] = {}
    if unknown:
        moved = _fetch(repo, remote, {n: sha for n, sha in selected.items() if sha in unknown}, glob, unknown, kinds)
        for name, sha in moved.items():  # what the remote has now, if it moved since ls-remote
            if name in selected:
                selected[name] = theirs[name] = sha
                unknown.add(sha)
    if not unknown <= kinds.keys():
        kinds = object_types(repo, unknown)
    for name, sha in list(selected.items()):
        if sha in kinds and kinds[sha] != "commit":
            what = f"a {kinds[sha]}" if kinds[sha] else "an object the remote did not send"
            skipped.append(Pulled(name, "skipped", selected.pop(name), f"it points at {what}, not a commit"))
    unmatched, undecided = 0, []
    if parsed is not None:
        _track(repo, remote, selected, theirs, tracking)
        tracking = repo.refs(remote.tracking)
        considered = len(selected)
        selected, undecided = _matching(repo, remote, selected, parsed)
        unmatched = considered - len(selected) - len(undecided)
    for attempt in range(ATTEMPTS):
        prunes, tracking_moves = _plan_tracking(repo, remote, selected, theirs, tracking)
        report, local_moves = _plan_local(repo, remote, selected, ours, force)
        try:
            repo.transaction(prunes, f"git exp pull: {remote.label} pruned")
            repo.transaction(tracking_moves, f"git exp pull: {remote.label}")
            repo.transaction(local_moves, f"git exp pull: from {remote.label}")
            if len(tracking_moves) + len(local_moves) >= PACK_AFTER:
                repo.pack_refs()  # git packs them: loose, they slow every later `git fetch`
            done = Report(report + skipped)
            done.unmatched, done.undecided = unmatched, undecided
            return done
        except RefMoved as exc:
            if attempt == ATTEMPTS - 1 or not exc.contended:
                raise ExpError(f"git refused to write the pulled experiments: {exc} — no ref of this step was "
                               f"changed; run the pull again") from None
            # Someone wrote some of them meanwhile; a files-backend transaction shows its
            # refs one by one, so let it finish before reading them again.
            time.sleep(BACKOFF * 2 ** attempt * (1 + jitter()))
            tracking, ours = repo.refs(remote.tracking), repo.refs()
    raise AssertionError("unreachable")


def _track(repo: Repo, remote: Remote, selected: dict[str, str], theirs: dict[str, str],
           tracking: dict[str, str]) -> None:
    """Point the remote-tracking refs of ``selected`` at what the remote has (``--where``
    reads the rows there before it decides which local refs to write)."""
    for attempt in range(ATTEMPTS):
        prunes, moves = _plan_tracking(repo, remote, selected, theirs, tracking)
        try:
            repo.transaction(prunes, f"git exp pull: {remote.name} pruned")
            repo.transaction(moves, f"git exp pull: {remote.name}")
            if len(moves) >= PACK_AFTER:
                repo.pack_refs()
            return
        except RefMoved as exc:
            if attempt == ATTEMPTS - 1 or not exc.contended:
                raise ExpError(f"git refused to write the fetched experiments: {exc} — no ref of this step was "
                               f"changed; run the pull again") from None
            time.sleep(BACKOFF * 2 ** attempt * (1 + jitter()))
            tracking = repo.refs(remote.tracking)


def _matching(repo: Repo, remote: Remote, selected: dict[str, str], parsed) -> tuple[dict[str, str], list]:
    """The part of ``selected`` whose remote-tracking rows the query matches, at the
    commits it was decided on, and the rows it could not decide."""
    from git_exp.commands.show import matching

    labels = {f"{remote.name}/{name}": name for name in selected}
    matched = matching(repo, parsed, remotes=True,
                            keep=lambda row: row["remote"] is not None and f"{row['remote']}/{row['name']}" in labels)
    chosen = {}
    for row in matched:
        name = labels[f"{row['remote']}/{row['name']}"]
        if selected[name] == row["sha"]:
            chosen[name] = row["sha"]
    return chosen, matched.undecided


def fetch_objects(repo: Repo, remote: Remote, todo: dict[str, str], absent: set[str]) -> dict[str, str]:
    """The objects of the remote's experiments ``todo`` (``{name: commit}`` as it listed
    them; the commits ``absent`` are not here), no ref of ours written (``_fetch``)."""
    return _fetch(repo, remote, todo, None, absent)


def _fetch(repo: Repo, remote: Remote, todo: dict[str, str], glob: str | None, absent: set[str],
           kinds: dict | None = None) -> dict[str, str]:
    """Bring the objects of the experiments ``todo`` (``{name: commit}``) with ``git
    fetch``, writing no ref of ours; return ``{name: sha}`` of those the remote has moved
    since it listed them.  ``kinds``: filled with the type of each of ``absent``
    (``object_types``) when the dry run brought every one of them.

    ``--dry-run`` downloads and checks the objects but writes no ref.  A shallow clone
    must record its new boundary, which only a storing fetch does, so there (and when
    the dry run left some object behind: the remote moved meanwhile) git stores the refs
    in a private staging namespace, which we remove again, keeping the objects.
    """
    if not repo.shallow:
        _run_fetch(repo, remote, todo, glob, None)
        found = object_types(repo, absent)
        if all(found.values()):
            if kinds is not None:  # what the caller checks next: each object's type
                kinds.update(found)
            return {}
    drop_stale_staging(repo)
    stage = f"{STAGING}{os.getpid()}-{os.urandom(4).hex()}/"
    try:
        _run_fetch(repo, remote, todo, glob, stage)
    finally:
        staged = repo.refs(stage)
        repo.transaction([(stage + name, repo.zero, sha) for name, sha in staged.items()],
                         "git exp pull: unstaging", reflog=False)
    return staged


def _run_fetch(repo: Repo, remote: Remote, todo: dict[str, str], pattern: str | None, stage: str | None) -> None:
    """One ``git fetch`` of ``todo``: as the glob ``pattern`` when there is one, else by
    name up to EXPLICIT_MAX, else by commit, the refspecs on its stdin.  git matches each
    refspec naming a ref against every ref the remote advertises (a pull of 5,000 of 10k
    by name took 11 s); a commit id it takes as it is (0.4 s).  The remote advertised
    each of those commits as the tip of a ref, which every protocol lets a fetch ask for."""
    into = stage or remote.tracking
    refspecs, given = [], None
    if pattern is not None:
        refspecs = [f"+{PREFIX}{pattern}:{into}{pattern}"]
    elif len(todo) <= EXPLICIT_MAX:
        refspecs = [f"+{PREFIX}{n}:{into}{n}" for n in todo]
    elif stage is None:  # objects only: each commit once
        given = "".join(f"{sha}\n" for sha in dict.fromkeys(todo.values()))
    else:
        given = "".join(f"+{sha}:{stage}{n}\n" for n, sha in todo.items())
    from git_exp import progress

    args = ["fetch", "--no-tags", "--no-write-fetch-head", "--no-auto-gc", *(progress.git_flag() or ["--quiet"])]
    if stage is None:
        args.append("--dry-run")
    if repo.shallow:
        args.append("--depth=2")
    if given is not None:
        args.append("--stdin")
    result = repo.run(*args, "--", remote.name, *refspecs, input=given, check=False, echo=progress.meter())
    if result.returncode:
        raise explain(remote, result, "fetching experiments from")


def _plan_tracking(repo: Repo, remote: Remote, selected: dict[str, str], theirs: dict[str, str],
                   tracking: dict[str, str]):
    """``(prunes, moves)`` — ``(ref, new, old)`` triples — that point
    ``refs/remote-exp/<remote>/<name>`` at what the remote has.

    A remote-tracking ref the remote no longer has is deleted when it is in the way of
    a new name (the remote replaced ``a`` by ``a/b``), as ``git fetch --prune`` would.
    """
    zero = repo.zero
    tracking = dict(tracking)
    gone = names.Clashes(n for n in tracking if n not in theirs)
    in_the_way = {gone.find(n) for n in selected if n not in tracking} - {None}
    prunes = [(remote.tracking + n, zero, tracking.pop(n)) for n in sorted(in_the_way)]
    moves = [(remote.tracking + n, sha, tracking.get(n, zero)) for n, sha in selected.items() if tracking.get(n) != sha]
    return prunes, moves


def _plan_local(repo: Repo, remote: Remote, theirs: dict[str, str], ours: dict[str, str], force: bool):
    """``(report, moves)``: create new experiments, fast-forward (or with ``force``
    replace) the others."""
    zero = repo.zero
    differing = [(ours[n], sha) for n, sha in theirs.items() if n in ours and ours[n] != sha]
    forward = descendants(repo, differing)
    behind = descendants(repo, [(new, old) for old, new in differing])
    moves, report = [], []
    clashes = names.Clashes(ours)
    for name, sha in theirs.items():
        mine = ours.get(name)
        if mine is None:
            other = clashes.find(name)  # against ours only: ``advertised`` left no clash among theirs
            if other:
                report.append(Pulled(name, "rejected", sha, f"local experiment {names.shown(other)} blocks this name"))
                continue
            moves.append((PREFIX + name, sha, zero))
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
            where = f"at {remote.tracking}{name}" if remote.configured else f"{sha[:7]}"
            report.append(Pulled(name, "diverged", sha, f"kept local {mine[:7]}; theirs is {where} — --force to take it"))
    return report, moves


def _prune(repo: Repo, remote: Remote, tombs: dict[str, str], patterns: list[str], all_: bool,
           prune: bool) -> tuple[list[Pulled], list[str]]:
    """With ``prune``: remove each selected local experiment the remote has a tombstone for
    (and no experiment of that name), when the tombstone's commit contains it (nothing
    is lost: the tombstone is kept here as ``refs/exp-tombstones/<name>/@removed``, until
    ``gc --tombstones``); one that has commits the tombstone lacks is kept and reported.
    Without: only the names of those local experiments."""
    from git_exp import tombstones

    ours = repo.refs()
    if not (all_ or "*" in patterns):
        chosen, _ = names.select(sorted(tombs), patterns)
        tombs = {n: tombs[n] for n in chosen}
    here = {n: t for n, t in tombs.items() if n in ours}
    if not prune:
        return [], sorted(here)
    zero = repo.zero
    followed = repo.refs(remote.tracking)
    moves = [(remote.tracking + n, zero, followed[n]) for n in sorted(tombs) if n in followed]  # as fetch --prune
    if not here:
        _write_pruned(repo, remote, moves)
        return [], []
    missing = missing_objects(repo, here.values())
    if missing:
        refspecs = [f"+{tombstones.ref(n)}:{tombstones.ref(n)}" for n in sorted(here) if here[n] in missing]
        result = repo.run("fetch", "--no-tags", "--no-write-fetch-head", "--quiet", "--no-auto-gc", "--dry-run",
                          "--", remote.name, *refspecs, check=False)
        if result.returncode:
            raise explain(remote, result, "fetching tombstones from")
    about = tombstones.describe(repo, here.values())
    contained = descendants(repo, [(ours[n], t) for n, t in here.items()])
    kept_here = tombstones.local(repo)
    report = []
    for name, tomb in sorted(here.items()):
        mine = ours[name]
        if (mine, tomb) not in contained:
            report.append(Pulled(name, "kept", mine, f"removed on {remote.label}, but yours has commits it lacks — "
                                                     f"`git exp rm {name}`, or push --force to restore it there"))
            continue
        moves += [(PREFIX + name, zero, mine), (tombstones.ref(name), tomb, kept_here.get(name, zero))]
        info = about.get(tomb)
        why = f"renamed to {info.renamed_to} on {remote.label}" if info and info.renamed_to else f"removed on {remote.label}"
        report.append(Pulled(name, "removed", mine, f"{why}; restore: git update-ref refs/exp/{name} {mine}"))
    _write_pruned(repo, remote, moves)
    return report, []


def _write_pruned(repo: Repo, remote: Remote, moves: list) -> None:
    try:
        repo.transaction(moves, f"git exp pull --prune: {remote.label}")
    except RefMoved as exc:
        raise ExpError(f"git refused to remove the experiments removed on {remote.label}: {exc} — nothing of this "
                       f"step was changed; run the pull again") from None
