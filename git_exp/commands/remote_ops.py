"""Remote-side operations that need no fetch: ``ls REMOTE``, ``rm --remote``, ``rename --remote``."""
from __future__ import annotations

from git_exp import git, names, remotes, tombstones
from git_exp.errors import UsageError
from git_exp.names import PREFIX, shown
from git_exp.remotes import Remote, TransportError, ls_remote_full
from git_exp.repo import Repo, refs_args, sha_map

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from git_exp.commands.push import Pushed

# pull, push, rename and interrupts are imported where used: ``ls REMOTE`` (``compare``)
# needs none of them when both sides agree, and interrupts' ``signal`` imports enum (~5 ms)


def ls_remote(remote: str, where: str | None = None) -> tuple[list[str], list[str], list[str | None], list[str | None]]:
    """``git exp ls REMOTE``: ``compare`` with ``remote``.  Both listings start before
    the repository is read: the remote's (``remotes.start_early``, for a plain word) and
    ours, here, as ``Repo`` reads it (when this is no repository ``Repo`` says so and
    the listing is stopped); their pipes are roomy, so that neither waits for us.
    ``where`` is refused: the remote's metrics are not here."""
    if where is not None:
        raise UsageError(f"--where needs the experiments' metrics, which `git exp ls {remote}` does not fetch — "
                         f"`git fetch {remote}` or `git exp pull {remote} --where ...` first, then "
                         "`git exp ls -r --where ...`")
    early = remotes.start_early(remote)
    local = git.start(*refs_args(PREFIX)).roomy()
    with git.stopped_on_error(early, local):
        repo = Repo(remotes=True)
        chosen = remotes.resolve(repo, remote)
    return compare(repo, chosen, early, local)


def compare(repo: Repo, remote: Remote, early=None,
            local=None) -> tuple[list[str], list[str], list[str | None], list[str | None]]:
    """Each experiment on either side, as columns (names, states, local shas, remote shas).

    ``early`` and ``local``: the two listings (``remotes.start_listings``), when started
    before.

    States: same, remote-only, local-only, local is ahead, remote is ahead, diverged, or
    differs (remote version not fetched yet).  When both listings are byte for byte
    equal (the usual state after a push or pull) every row is "same": those columns are
    made from ours (``_all_same``) while the remote's listing still runs, and then
    returned as they are.
    """
    listing, local = remotes.start_listings(repo, remote, early, local)
    our_text = remotes.our_listing(local)
    same = _all_same(our_text)
    their_text = remotes.their_listing(remote, listing)
    if their_text == our_text and same is not None:  # ours lists refs/exp/ alone: theirs has no extras either
        return same
    their_text, _extras = remotes.split_extras(their_text)
    theirs, ours = sha_map(their_text, PREFIX), sha_map(our_text, PREFIX)
    if not their_text.isascii():  # what a remote advertises is data: no escapes or bidi marks on screen
        theirs = {n: sha for n, sha in theirs.items() if n.isascii() or names.problem(n) is None}
    from git_exp.commands.pull import descendants, missing_objects

    differing = [(ours[n], theirs[n]) for n in theirs if n in ours and ours[n] != theirs[n]]
    unknown = missing_objects(repo, [t for _, t in differing])
    known = [(o, t) for o, t in differing if t not in unknown]
    remote_ahead = descendants(repo, known)
    local_ahead = descendants(repo, [(t, o) for o, t in known])
    all_names = sorted(theirs.keys() | ours.keys())
    mine = [ours.get(n) for n in all_names]
    other = [theirs.get(n) for n in all_names]
    states = []
    for m, o in zip(mine, other):
        if m == o:
            state = "same"
        elif o is None:
            state = "local-only"
        elif m is None:
            state = "remote-only"
        elif o in unknown:
            state = "differs (not fetched)"
        elif (m, o) in remote_ahead:
            state = "remote is ahead"
        elif (o, m) in local_ahead:
            state = "local is ahead"
        else:
            state = "diverged"
        states.append(state)
    return all_names, states, mine, other


def _all_same(text: str) -> tuple[list[str], list[str], list[str], list[str]] | None:
    """``compare``'s columns when the remote lists exactly ``text`` (our listing): one
    ``split`` gives them all, 10k rows in ~1.5 ms instead of ~25 ms through two dicts (a
    ``replace`` of more than one character costs as much as the ``split``: one only).
    None when a line is not ``<sha> TAB refs/exp/<name>``."""
    words = text.replace("\n", "\t").split("\t")
    lines = text.count("\n")
    if len(words) != 2 * lines + 1 or text.count("\t" + PREFIX) != lines:
        return None
    shas, cut = words[0:-1:2], len(PREFIX)
    return [ref[cut:] for ref in words[1::2]], ["same"] * len(shas), shas, shas


def rm_remote(repo: Repo, remote: Remote, patterns: list[str], *, dry_run: bool = False,
              where: str | None = None) -> Pushed:
    """Delete experiments on ``remote`` in one atomic push, each leased at the value it has
    there, together with a tombstone for each (``tombstones``: another clone's push then
    skips the name, its pull --prune removes its copy).

    ``where``: only those the ``--where`` query matches (of all when no pattern is given),
    decided on their remote-tracking refs, which must be current: an experiment not
    fetched, or fetched at another commit than the remote has, is a UsageError (the
    query would be decided on what the remote no longer has)."""
    from git_exp.commands.push import Pushed, push_refspecs

    parsed = None
    if where is not None:
        from git_exp import query

        parsed = query.parse(where)  # a bad query fails before anything is read
    if not patterns and parsed is None:
        raise UsageError(f"name the experiments to delete on {remote.label}")
    theirs, extras = ls_remote_full(repo, remote)
    chosen, unmatched = names.select(sorted(theirs), patterns) if patterns else (sorted(theirs), [])
    if unmatched:
        raise UsageError(f"{remote.label} has no experiment matching {shown(unmatched[0])} — nothing was deleted")
    undecided: list = []
    if parsed is not None:
        chosen, undecided = _matching_remote(repo, remote, chosen, theirs, parsed)
        if not chosen:
            done = Pushed()
            done.undecided = undecided
            return done
    removed = {n: theirs[n] for n in chosen}
    refspecs = [f":{PREFIX}{n}" for n in chosen]
    leases = [f"{PREFIX}{n}:{theirs[n]}" for n in chosen]
    if not dry_run:
        fetch_objects(repo, remote, removed)
        tombs = tombstones.make(repo, removed)
        refspecs += tombstone_refspecs(tombs, extras.tombstones)
        leases += [f"{tombstones.ref(n)}:{extras.tombstones.get(n, '')}" for n in tombs]
    try:
        done = push_refspecs(repo, remote, refspecs, leases, dry_run=dry_run, what="deleting experiments on",
                             atomic=True)
    except TransportError as exc:
        if "does not support --atomic" not in str(exc):
            raise
        # A remote helper without atomic pushes (git-remote-s3): the tombstones first, so
        # that a deletion is never without its tombstone; then the deletions, each leased.
        deletions = [r for r in refspecs if r.startswith(f":{PREFIX}")]
        graves = [r for r in refspecs if r not in deletions]
        if graves:  # from local refs: a helper may bundle what it pushes, and a bundle needs a ref
            import os

            stage = f"refs/exp-staging/{os.getpid()}-{os.urandom(4).hex()}/"
            staged = []  # (local ref, commit, refspec)
            for spec in graves:
                plus = "+" if spec.startswith("+") else ""
                sha, _, dst = spec[len(plus):].partition(":")
                ref = stage + dst[len("refs/"):]
                staged.append((ref, sha, f"{plus}{ref}:{dst}"))
            repo.transaction([(ref, sha, repo.zero) for ref, sha, _ in staged], "git exp rm --remote: staging",
                             reflog=False)
            try:
                push_refspecs(repo, remote, [spec for _, _, spec in staged],
                              [lease for lease in leases if not lease.startswith(PREFIX)],
                              dry_run=dry_run, what="writing tombstones on")
            finally:
                repo.transaction([(ref, repo.zero, sha) for ref, sha, _ in staged], "git exp rm --remote: unstaging",
                                 reflog=False)
        done = push_refspecs(repo, remote, deletions, [lease for lease in leases if lease.startswith(PREFIX)],
                             dry_run=dry_run, what="deleting experiments on")
    for outcome in done:  # the commit each deletion removed, to restore it with
        if outcome.status in ("deleted", "would be deleted") and outcome.name in theirs:
            outcome.detail = theirs[outcome.name]
    done.undecided = undecided
    return done


def _matching_remote(repo: Repo, remote: Remote, chosen: list[str], theirs: dict[str, str], parsed):
    """``(names, undecided rows)``: those of ``chosen`` whose remote-tracking rows the
    query matches; UsageError when some are not fetched at the commit the remote has."""
    from git_exp.commands.show import matching

    if not remote.configured:
        raise UsageError("--where decides on the remote's experiments as fetched to refs/remote-exp/REMOTE/, "
                         "which a URL has none of — `git remote add NAME URL` and `git exp pull NAME` first")
    tracking = repo.refs(remote.tracking)
    stale = [n for n in chosen if tracking.get(n) != theirs[n]]
    if stale:
        raise UsageError(f"--where decides on the experiments as fetched, and {len(stale)} on {remote.name} are not "
                         f"fetched as they are there (e.g. {shown(stale[0])}) — nothing was deleted; "
                         f"`git exp pull {remote.name} --where ...` or `git fetch {remote.name}` first")
    labels = {f"{remote.name}/{name}": name for name in chosen}
    matched = matching(repo, parsed, remotes=True,
                            keep=lambda row: row["remote"] is not None and f"{row['remote']}/{row['name']}" in labels)
    return [labels[f"{row['remote']}/{row['name']}"] for row in matched], matched.undecided


def tombstone_refspecs(tombs: dict[str, str], existing: dict[str, str]) -> list[str]:
    """Refspecs that write ``{name: tombstone commit}`` on the remote; one that replaces an
    older tombstone of the name is forced (its lease, beside it, says which one)."""
    return [f"{'+' if n in existing else ''}{sha}:{tombstones.ref(n)}" for n, sha in tombs.items()]


def fetch_objects(repo: Repo, remote: Remote, wanted: dict[str, str]) -> None:
    """Bring the commits of ``{name: sha}`` that are not here (a tombstone needs its
    removed commit here), with a ``git fetch --dry-run`` (objects only, no ref)."""
    from git_exp.commands.pull import fetch_objects as fetch
    from git_exp.commands.pull import missing_objects

    missing = missing_objects(repo, wanted.values())
    if missing:
        fetch(repo, remote, {n: sha for n, sha in sorted(wanted.items()) if sha in missing}, missing)


def rename_remote(repo: Repo, remote: Remote, old: str, new: str, *, dry_run: bool = False) -> Pushed:
    """Create NEW and delete OLD on ``remote`` in one atomic push, OLD leased at its value."""
    from git_exp.commands.pull import missing_objects
    from git_exp.commands.push import Pushed, push_refspecs
    from git_exp.commands.rename import interim_name
    from git_exp.interrupts import deferred

    target = names.ExpName(new)
    theirs, extras = ls_remote_full(repo, remote)
    if old not in theirs:
        finished = _finish_interrupted(repo, remote, old, target, theirs, dry_run)
        if finished is not None:
            return finished
        raise UsageError(f"{remote.label} has no experiment named {shown(old)} — `git exp ls {remote.label}` lists them")
    if target in theirs:
        raise UsageError(f"{remote.label} already has an experiment named {shown(target)} — pick another name")
    sha = theirs[old]
    if sha in missing_objects(repo, [sha]):
        raise UsageError(f"{shown(old)} on {remote.label} is not fetched here — `git exp pull {remote.label} {old}` first")
    what = "renaming an experiment on"
    # A tombstone records the old name as renamed (another clone's push skips it, its
    # pull --prune removes its copy); one the new name had goes: it is in use again.
    tomb_specs, tomb_leases = [], []
    if not dry_run:
        tombs = tombstones.make(repo, {old: sha}, {old: target})
        tomb_specs = tombstone_refspecs(tombs, extras.tombstones)
        tomb_leases = [f"{tombstones.ref(old)}:{extras.tombstones.get(old, '')}"]
        if target in extras.tombstones:
            tomb_specs.append(f":{tombstones.ref(target)}")
            tomb_leases.append(f"{tombstones.ref(target)}:{extras.tombstones[target]}")
    if names.conflict(target, [old]):
        # 'a' -> 'a/b': the remote cannot hold both names, so go through a visible interim
        # name, each step one atomic push leased at what the remote has.
        interim = interim_name(old, target, theirs)
        steps = [(old, interim), (interim, target)]
        done = Pushed()
        with deferred():
            for i, (src, dst) in enumerate(steps):
                more, more_leases = (tomb_specs, tomb_leases) if i == 1 else ([], [])
                step = push_refspecs(repo, remote, [f"{sha}:{PREFIX}{dst}", f":{PREFIX}{src}", *more],
                                     [f"{PREFIX}{src}:{sha}", f"{PREFIX}{dst}:", *more_leases], dry_run=dry_run,
                                     what=what, atomic=True)
                done.extend(r for r in step if r.name in (old, target))
                done.remote_says = [*done.remote_says, *step.remote_says]
                if dry_run:
                    break
                if any(r.status == "rejected" for r in step):
                    if i:  # put the old name back
                        push_refspecs(repo, remote, [f"{sha}:{PREFIX}{old}", f":{PREFIX}{interim}"],
                                      [f"{PREFIX}{interim}:{sha}", f"{PREFIX}{old}:"], dry_run=False, what=what,
                                      atomic=True)
                    break
        return done
    leases = [f"{PREFIX}{old}:{sha}", f"{PREFIX}{target}:", *tomb_leases]
    return push_refspecs(repo, remote, [f"{sha}:{PREFIX}{target}", f":{PREFIX}{old}", *tomb_specs], leases,
                         dry_run=dry_run, what=what, atomic=True)


def _finish_interrupted(repo: Repo, remote: Remote, old: str, target: str, theirs: dict[str, str],
                        dry_run: bool) -> Pushed | None:
    """A rename of ``old`` (still here) that was stopped after its remote part, or between
    the remote's two steps: the remote has the local commit of ``old`` at ``target`` (done
    there: ``Pushed`` says so, the local rename follows) or at the interim name (its
    second step is pushed now).  None when the remote shows no such rename."""
    from git_exp.commands.push import Outcome, Pushed, push_refspecs
    from git_exp.commands.rename import INTERIM

    ours = repo.refs()
    prefix = min(old, target, key=len) + INTERIM
    local = ours.get(old) or next((sha for n, sha in ours.items() if n.startswith(prefix)), None)
    if local is None:  # killed between the local steps too: the local interim name has it
        return None
    if theirs.get(target) == local:
        return Pushed([Outcome(target, "up to date", f"renamed from {old} there already")])
    interim = next((n for n, sha in theirs.items() if n.startswith(prefix) and sha == local), None)
    if interim is None or target in theirs:
        return None
    return push_refspecs(repo, remote, [f"{local}:{PREFIX}{target}", f":{PREFIX}{interim}"],
                         [f"{PREFIX}{interim}:{local}", f"{PREFIX}{target}:"], dry_run=dry_run,
                         what="renaming an experiment on", atomic=True)


def gc_remote_tombstones(repo: Repo, remote: Remote, *, older_than: str | None = None, dry_run: bool = False,
                         now: float | None = None) -> tuple[list, Pushed]:
    """Delete ``remote``'s tombstones (all, or those older than ``older_than``) in one
    push, each leased at its value there.  Returns the tombstones and the push's outcomes."""
    import time

    from git_exp.commands.gc import parse_age
    from git_exp.commands.pull import missing_objects
    from git_exp.commands.push import Pushed, push_refspecs

    cutoff = None if older_than is None else (time.time() if now is None else now) - parse_age(older_than)
    _theirs, extras = ls_remote_full(repo, remote)
    tombs = extras.tombstones
    if not tombs:
        return [], Pushed()
    missing = missing_objects(repo, tombs.values())
    if missing and cutoff is not None:
        refspecs = [f"+{tombstones.ref(n)}:{tombstones.ref(n)}" for n, sha in sorted(tombs.items()) if sha in missing]
        result = repo.run("fetch", "--no-tags", "--no-write-fetch-head", "--quiet", "--no-auto-gc", "--dry-run",
                          "--", remote.name, *refspecs, check=False)
        if result.returncode:
            from git_exp.remotes import explain

            raise explain(remote, result, "fetching tombstones from")
    about = tombstones.describe(repo, tombs.values())
    doomed = []
    for name, sha in sorted(tombs.items()):
        info = about.get(sha) or tombstones.Tombstone(name, sha, "", 0, None)
        info.name = name
        if cutoff is None or info.when < cutoff:
            doomed.append(info)
    if not doomed:
        return [], Pushed()
    pushed = push_refspecs(repo, remote, [f":{tombstones.ref(t.name)}" for t in doomed],
                           [f"{tombstones.ref(t.name)}:{t.sha}" for t in doomed], dry_run=dry_run,
                           what="deleting tombstones on")
    return doomed, pushed
