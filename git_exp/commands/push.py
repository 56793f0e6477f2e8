"""``git exp push``: send experiments to a remote in one ``git push --porcelain``.

Refspecs are globs, never one per experiment (git matches every refspec against
every ref: 10k explicit refspecs took 64 s where one glob took 0.94 s).  All
experiments, or a pattern that is a single git glob, go as that glob; any other
selection larger than EXPLICIT_MAX is staged under a private namespace
``refs/exp-staging/<id>/`` in one transaction, pushed with one glob, and removed.
``--force`` leases each ref at the value the remote showed, never a bare ``+``.

Refs under ``refs/exp/`` that are no experiment (a symbolic ref, a ref to a blob, tree
or tag: ``Repo.odd``) are never sent: a glob push names each with a negative refspec
(``^refs/exp/link``), a selection leaves them out.  Staging refs are written and removed
by ``update-ref`` transactions like every other ref.
"""
from __future__ import annotations

import os

from git_exp import git, names, notesync, remotes
from git_exp.dvc import PREFIX as DVC_PREFIX
from git_exp.errors import UsageError
from git_exp.git import Result, Running
from git_exp.names import PREFIX
from git_exp.record import Record
from git_exp.remotes import Remote, explain
from git_exp.repo import Exp, Repo, refs_args, sha_map, usable

EXPLICIT_MAX = 16
STAGING = "refs/exp-staging/"


class Outcome(Record):
    """name, status (new, updated, forced, up to date, deleted, rejected, would push), detail."""

    __slots__ = ("name", "status", "detail")

    def __init__(self, name: str, status: str, detail: str = "") -> None:  # 10k per push: no generic init
        self.name, self.status, self.detail = name, status, detail


def selection(repo: Repo, patterns: list[str], all_: bool,
              local: Running | None = None) -> tuple[list[Exp], str | None, list[str]]:
    """Local experiments to send, the single git glob that selects exactly them (if any),
    and the refs under ``refs/exp/`` that are no experiment, which that glob must skip;
    read from ``local`` (``start_local``'s listing, which push reads again later) when
    given, else from a listing of their own."""
    if not patterns and not all_:
        raise UsageError("name the experiments to push (names or globs), or use --all")
    for pattern in patterns:
        if not names.is_glob(pattern):
            names.ExpName(pattern)
    running = local or repo.start_refs()
    odd = [ref for ref, _why in repo.odd(PREFIX)]  # while git lists
    text = running.wait().out
    by_name = {name: Exp(name, sha, [], 0, "", ref=PREFIX + name)
               for name, sha in sha_map(text[:_experiments_end(text)] if local else text, PREFIX).items()
               if PREFIX + name not in odd}
    if all_ or "*" in patterns:
        return list(by_name.values()), "*", odd
    chosen, unmatched = names.select(list(by_name), patterns)
    if unmatched:
        raise UsageError(f"no local experiment matches {names.shown(unmatched[0])} — `git exp ls` lists them")
    glob = patterns[0] if len(patterns) == 1 and names.is_refspec_glob(patterns[0]) else None
    return [by_name[n] for n in chosen], glob, odd


def parse_porcelain(text: str) -> list[tuple[str, str, str, str]]:
    """``(flag, src, dst, summary)`` per ref line of ``git push --porcelain``."""
    lines = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and len(parts[0]) == 1:
            src, _, dst = parts[1].partition(":")
            lines.append((parts[0], src, dst, parts[2]))
    return lines


STATUS = {"*": "new", " ": "updated", "+": "forced", "=": "up to date", "-": "deleted", "!": "rejected"}


def outcomes(text: str, dry_run: bool) -> list[Outcome]:
    found = []
    for flag, _src, dst, summary in parse_porcelain(text):
        if dst.startswith("refs/exps/"):  # a DVC experiment (dvc_share)
            name = "dvc:" + dst.rpartition("/")[2]
        elif dst.startswith(PREFIX):
            name = dst[len(PREFIX):]
        else:
            continue
        status = STATUS.get(flag, "rejected")
        if dry_run and status in ("new", "updated", "forced", "deleted"):
            status = f"would be {status}" if status != "new" else "would be new"
        detail = summary.strip("[]") if status == "rejected" else ""
        if status == "rejected" and "(" in summary:
            detail = summary[summary.index("(") + 1:summary.rindex(")")] if ")" in summary else summary
        found.append(Outcome(name, status, detail))
    return found


class Pushed(list):
    """Outcomes per experiment, plus what the remote said (``remote:`` lines: hook and
    access-control messages such as gitolite's "DENIED by refs/exp/")."""

    remote_says: list[str] | tuple = ()
    already = 0  # experiments found up to date without asking git push
    undecided: list = []  # rows --where could not decide (query.Matched.undecided)
    notes: str | None = None  # what became of the tags and notes (notesync), in words
    notes_error: str | None = None  # why they could not be pushed


def _remote_lines(stderr: str) -> list[str]:
    lines = [line[len("remote:"):].strip() for line in stderr.splitlines() if line.startswith("remote:")]
    return [line for line in dict.fromkeys(lines) if line][:20]


def push_refspecs(repo: Repo, remote: Remote, refspecs: list[str], leases: list[str], *, dry_run: bool,
                  what: str = "pushing experiments to", atomic: bool = False) -> Pushed:
    args = ["push", "--porcelain", "--no-follow-tags"]
    if dry_run:
        args.append("--dry-run")
    if atomic:
        args.append("--atomic")
    args += [f"--force-with-lease={lease}" for lease in leases]
    from git_exp import progress

    result = repo.run(*args, *progress.git_flag(), "--", remote.name, *refspecs, check=False, echo=progress.meter())
    found = Pushed(outcomes(result.out, dry_run))
    found.remote_says = _remote_lines(result.err)
    if result.returncode and not found and "No refs in common and none specified" in result.err:
        return found  # the glob matched no local experiment: nothing to push
    if result.returncode and not found:
        raise explain(remote, result, what)
    if result.returncode and "shallow update not allowed" in result.out + result.err:
        raise explain(remote, Result(result.returncode, result.stdout, result.stderr + result.stdout), what)
    return found


class Here(Record):
    """What ``local_listing`` read besides the experiments: our notes commit and the
    remote's as last fetched (``notesync.push`` takes them), and the ``refs_args`` lines of
    DVC's experiments (``dvc_share.push``)."""

    __slots__ = ("notes", "known", "dvc")


def start_local(remote: str | None, repo: Repo | None = None) -> Running:
    """One ``for-each-ref``, in a roomy pipe, of all that push reads in ``repo`` (None:
    here, the current directory, before ``Repo`` has read it): our experiments, DVC's, our
    notes and, for a configured ``remote``, its notes as last fetched
    (``notesync.patterns``).  ``local_listing`` reads it."""
    notes = notesync.patterns(remote) if remote is not None else (notesync.REF,)
    return (repo.start if repo is not None else git.start)(*refs_args(PREFIX, DVC_PREFIX, *notes)).roomy()


def local_listing(running: Running, remote: Remote) -> tuple[str, Here]:
    """``start_local``'s listing: our experiments as ``refs_args`` lines (``usable`` makes
    them what ``remotes.our_listing`` gives), and the rest.  for-each-ref sorts by
    refname, and ``refs/exp/`` comes before ``refs/exps/`` and ``refs/notes/``: the
    experiments are the lines up to the last ``TAB refs/exp/`` (one search from the end:
    a refname holds no tab, a symbolic ref's target follows a NUL); the few after, line
    by line."""
    text = running.wait().out
    cut = _experiments_end(text)
    dvc_lines, found = [], {}
    for line in text[cut:].splitlines(keepends=True):
        sha, _, ref = line.partition("\t")
        ref = ref.partition("\0")[0].rstrip("\n")
        if ref.startswith(DVC_PREFIX):
            dvc_lines.append(line)
        else:
            found[ref] = sha
    known = found.get(notesync.tracking(remote.name)) if remote.configured else None
    return text[:cut], Here(found.get(notesync.REF), known, "".join(dvc_lines))


def _experiments_end(text: str) -> int:
    """Where the lines of ``refs/exp/`` end in ``start_local``'s listing (``local_listing``)."""
    last = text.rfind("\t" + PREFIX)
    return text.index("\n", last) + 1 if last >= 0 else 0


def listings(repo: Repo, remote: Remote, early: Running | None = None,
             local: Running | None = None) -> tuple[str, str, remotes.Extras, Here]:
    """The remote's listing (``remotes.start_listings``; ``early``: started by
    ``remotes.start_early``) without the lines of ``remotes.EXTRA_PATTERNS``, ours as
    ``refs_args`` lines (``local``: ``start_local``'s, when started before), the
    remote's ``Extras`` and what else ours said (``Here``).  Ours is read first: the
    remote's pipe is roomy."""
    listing = early or remotes.start_ls_remote(repo, remote)
    ours, here = local_listing(local or start_local(remote.name if remote.configured else None, repo), remote)
    theirs, extras = remotes.split_extras(remotes.their_listing(remote, listing))
    return theirs, ours, extras, here


def push(repo: Repo, remote: Remote, patterns: list[str], *, all_: bool = False, force: bool = False,
         dry_run: bool = False, early=None, where: str | None = None, local: Running | None = None) -> Pushed:
    """Push the experiments ``patterns`` select (or all) to ``remote``, then the tags and
    notes (``notesync``); ``early`` and ``local`` are the listings ``push_here`` started
    for it (``remotes.start_early``, ``start_local``), if any.  ``where``: only those the
    ``--where`` query matches (of all local experiments when no pattern is given);
    ``Pushed.undecided`` then lists the rows it could not decide.  DVC's experiments
    (``dvc:NAME`` patterns, and with ``--all`` those the local listing shows) go in a
    second push (``dvc_share``).

    A name the remote has a tombstone for (``tombstones``: removed or renamed there) is
    skipped, unless ``force``: then it is pushed and its tombstone deleted, in one atomic push.
    """
    dvc_patterns: list[str] = []
    if patterns:
        from git_exp import dvc_share

        dvc_patterns, patterns = dvc_share.wants(patterns)
    if where is not None and dvc_patterns:
        raise UsageError("--where selects among git-exp's experiments — push DVC's (dvc:NAME) without it")
    if not dvc_patterns and (not all_ or where is not None):
        return _push_exp(repo, remote, patterns, all_, force, dry_run, early, local, where)[0]
    done, here = Pushed(), None
    if patterns or all_:
        done, here = _push_exp(repo, remote, patterns, all_, force, dry_run, early, local, where)
    if not dvc_patterns and here is not None and not here.dvc:
        return done  # --all, and no DVC experiment here
    from git_exp import dvc_share

    more = dvc_share.push(repo, remote, dvc_patterns, all_=all_, force=force, dry_run=dry_run,
                          listing=here.dvc if here is not None else None)
    if more or more.remote_says:
        joined = Pushed([*done, *more])
        joined.remote_says = [*done.remote_says, *more.remote_says]
        joined.already = done.already
        joined.notes, joined.notes_error, joined.undecided = done.notes, done.notes_error, done.undecided
        return joined
    return done


def _push_exp(repo: Repo, remote: Remote, patterns: list[str], all_: bool, force: bool, dry_run: bool, early,
              local, where: str | None) -> tuple[Pushed, Here]:
    """git-exp's own experiments (``push``), then the tags and notes; and what the local
    listing said besides (``Here``)."""
    from git_exp.errors import ExpError

    undecided = None
    if where is not None:
        chosen, undecided = _chosen_where(repo, patterns, where)
    elif all_ or "*" in patterns:
        chosen = None  # everything: selected after the listings, which may show nothing is to do
    else:  # usage errors before the network; the local listing serves the selection and the push
        local = local or start_local(remote.name if remote.configured else None, repo)
        with git.stopped_on_error(local):
            chosen = selection(repo, patterns, all_, local)
    their_text, our_text, extras, here = listings(repo, remote, early, local)
    pushed = _push(repo, remote, patterns, all_, force, dry_run, their_text, our_text, extras, chosen)
    if undecided is not None:
        pushed.undecided = undecided
    try:
        pushed.notes = notesync.push(repo, remote, extras.notes, dry_run=dry_run, listed=(here.notes, here.known))
    except ExpError as exc:
        pushed.notes_error = str(exc)
    return pushed, here


def _chosen_where(repo: Repo, patterns: list[str], where: str):
    """``selection``'s answer narrowed to what the ``--where`` query matches, and the rows
    it could not decide."""
    from git_exp import query
    from git_exp.commands.show import matching

    parsed = query.parse(where)  # a bad query fails before anything is read
    exps, _glob, odd = selection(repo, patterns, not patterns)
    names_ = {e.name for e in exps}
    matched = matching(repo, parsed, keep=lambda row: row["name"] in names_)
    exps = [Exp(row["name"], row["sha"], [], 0, "", ref=PREFIX + row["name"]) for row in matched]
    return (exps, None, odd), matched.undecided


def _push(repo: Repo, remote: Remote, patterns: list[str], all_: bool, force: bool, dry_run: bool,
          their_text: str, our_text: str, extras, chosen) -> Pushed:
    if chosen is None and not force and not extras.tombstones:
        # Everything.  The two listings came side by side (~35 ms at 10k): when the remote
        # already has every experiment as we have it, there is nothing to send and no
        # `git push` to run (a no-op push costs git 30 ms at 10k, and 10k lines to read).
        # Ours, in refs_args lines, is theirs with a NUL before each newline exactly when
        # both list the same refs and none of ours is a symbolic ref (its target would
        # follow the NUL): one replace and one compare, ~0.4 ms at 10k, where making ours
        # usable costs ~1.5 ms.
        same = our_text == their_text.replace("\n", "\0\n")
        if same or sha_map(our_text, PREFIX).items() <= sha_map(their_text, PREFIX).items():
            done = Pushed()
            done.already = usable(their_text if same else our_text).count("\n")
            return done
    theirs = sha_map(their_text, PREFIX)
    exps, glob, odd = chosen or selection(repo, patterns, all_)
    removed = {e.name for e in exps if e.name in extras.tombstones and e.name not in theirs}
    skipped = Pushed()
    if removed and not force:
        skipped.extend(Outcome(e.name, "skipped", f"removed on {remote.label}; --force pushes it again")
                       for e in exps if e.name in removed)
        exps = [e for e in exps if e.name not in removed]
        odd = odd + [PREFIX + name for name in sorted(removed)]
        if not exps or not dry_run and all(theirs.get(e.name) == e.sha for e in exps):
            skipped.already = len(exps)
            return skipped
    if not exps:
        return skipped
    leases, extra, atomic = [], [], False
    if force:
        from git_exp import tombstones

        leases = [f"{e.ref}:{theirs.get(e.name, '')}" for e in exps]
        for name in sorted(removed):  # restored: its tombstone goes, in the same atomic push
            extra.append(f":{tombstones.ref(name)}")
            leases.append(f"{tombstones.ref(name)}:{extras.tombstones[name]}")
            atomic = True
    if glob is not None:
        skip = [f"^{ref}" for ref in odd]
        found = push_refspecs(repo, remote, [f"{PREFIX}{glob}:{PREFIX}{glob}", *skip, *extra], leases,
                              dry_run=dry_run, atomic=atomic)
    elif len(exps) <= EXPLICIT_MAX:
        found = push_refspecs(repo, remote, [f"{e.ref}:{e.ref}" for e in exps] + extra, leases, dry_run=dry_run,
                              atomic=atomic)
    else:
        found = _push_staged(repo, remote, exps, leases, extra, dry_run, atomic)
    found[:0] = skipped
    return found


def _push_staged(repo: Repo, remote: Remote, exps: list[Exp], leases: list[str], extra: list[str], dry_run: bool,
                 atomic: bool) -> Pushed:
    drop_stale_staging(repo)
    stage = f"{STAGING}{os.getpid()}-{os.urandom(4).hex()}/"
    staged = [(stage + e.name, e.sha) for e in exps]
    zero = repo.zero
    repo.transaction([(ref, sha, zero) for ref, sha in staged], "git exp push: staging", reflog=False)
    try:
        return push_refspecs(repo, remote, [f"{stage}*:{PREFIX}*", *extra], leases, dry_run=dry_run, atomic=atomic)
    finally:
        repo.transaction([(ref, zero, sha) for ref, sha in staged], "git exp push: unstaging", reflog=False)


def push_here(args: list[str], *, all_: bool = False, force: bool = False, dry_run: bool = False,
              where: str | None = None) -> tuple[str, Pushed]:
    """``git exp push [REMOTE] [NAME|GLOB]...`` in the repository here: the remote's name
    and what happened.  For ``--all`` to a named remote its listing and ours start
    before the repository is looked at (``remotes.start_early``, ``start_local``)."""
    early = remotes.start_early(args[0]) if all_ and not force and len(args) == 1 and where is None else None
    local = start_local(args[0]) if early else None  # here (the current directory), as Repo reads it
    with git.stopped_on_error(early, local):
        repo = Repo(remotes=True)
        remote, patterns = remotes.split_args(repo, args, all_=all_)
    if early and remote.name != args[0]:  # --all went to the default remote after all
        early.kill()
        local.kill()
        early = local = None
    return remote.label, push(repo, remote, patterns, all_=all_, force=force, dry_run=dry_run, early=early,
                              where=where, local=local)


def drop_stale_staging(repo: Repo) -> None:
    """Remove what a killed push or pull left under ``refs/exp-staging/`` (``leftovers``):
    staging refs, and the locks of those its transaction was killed writing (no ref yet,
    the locks alone)."""
    from git_exp import leftovers
    from git_exp.repo import RefMoved

    leftovers.clear_stale_locks(repo, (leftovers.STAGING.rstrip("/"),))
    stale = leftovers.stale_staging(repo)
    if stale:
        try:
            leftovers.drop_staging(repo, stale)
        except RefMoved:
            pass  # another command is cleaning them up as we speak
