"""``git exp install`` / ``git exp uninstall``: the opt-in refspecs on a remote.

After install, plain ``git fetch`` brings experiments into ``refs/remote-exp/<remote>/``
and plain ``git push`` sends ``refs/exp/*`` (without ``+``: git refuses to overwrite an
experiment that moved on the remote).  Both also carry the archives
(``refs/exp-archive/*`` to the same names, without ``+``: an archive's name is its
commit id, so it never moves; see ``git_exp.archives``).

Install never changes what a plain ``git push`` does to branches.  Any push refspec
makes git ignore ``push.default`` for that remote, so when the remote has none of the
user's own, the experiments' push refspec goes in only together with the refspec that
does what ``push.default`` and the branches' upstreams do today (``HEAD`` or ``:``, see
``plainpush``).  Where none does (``nothing``, an upstream of another name, a branch
without upstream under ``simple``), install writes the fetch refspec only and says why;
``--push`` writes ``push = HEAD`` and the experiments' refspec anyway, and says what
changes.  ``doctor`` checks again later, since branches and their upstreams change.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from git_exp import leftovers, names, plainpush, refspecs
from git_exp.errors import ExpError, UsageError
from git_exp.refspecs import BRANCH_SPECS, Spec
from git_exp.remotes import Remote, configured, ls_remote
from git_exp.repo import Repo

FETCH_COST_US = 30  # measured: a no-op fetch pays ~30 µs per remote experiment
FORCED_PUSH = Spec("option", "push")  # recorded when --push wrote push refspecs that change plain git push
SHOWN_CHANGES = 5


@dataclass
class Installed:
    remote: str
    added: list[Spec] = field(default_factory=list)
    already: list[Spec] = field(default_factory=list)
    replaced: list[Spec] = field(default_factory=list)
    removed: list[Spec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    count: int | None = None


def chosen_remotes(repo: Repo, names_: list[str], all_: bool) -> list[Remote]:
    """The remotes install works on: every one (``--all``), those named, or the push remote;
    each name checked (``check_name``) before anything changes."""
    from git_exp import remotes

    if all_:
        chosen = [remotes.get(repo, n) for n in sorted(configured(repo))]
    elif names_:
        chosen = [remotes.get(repo, n) for n in names_]
    else:
        chosen = [remotes.default(repo)]
    for remote in chosen:
        check_name(remote.name)
    return chosen


def uninstall_targets(repo: Repo, names_: list[str], all_: bool) -> list[str]:
    """The remote names uninstall works on, every one checked before anything changes,
    as install does (a name need not be a configured remote any more)."""
    from git_exp import remotes

    targets = sorted(configured(repo)) if all_ else (list(names_) or [remotes.default(repo).name])
    for name in targets:
        names.RemoteName(name)
    return targets


def check_name(remote: str) -> None:
    names.RemoteName(remote)


@dataclass
class PushChoice:
    """Which push refspecs install writes: the experiments' one (``push``), and the branch
    refspec beside it (``branch``: HEAD, ':' or None); ``plan`` when push.default decided."""

    push: bool
    branch: str | None = None
    plan: plainpush.Plan | None = None


def choose_push(repo: Repo, remote: str, user_pushes: list[str], *, fetch_only: bool, push: bool) -> PushChoice:
    if fetch_only:
        return PushChoice(False)
    if user_pushes:  # git already ignores push.default here: the experiments' refspec changes no branch push
        return PushChoice(True)
    plan = plainpush.for_remote(repo, remote, list(configured(repo)))
    if plan.spec:
        return PushChoice(True, plan.spec, plan)
    return PushChoice(push, "HEAD" if push else None, plan)


def change_notes(plan: plainpush.Plan, remote: str, *, written: bool = False) -> list[str]:
    lines = plan.lines(remote, written=written)
    if len(lines) > SHOWN_CHANGES:
        lines = lines[:SHOWN_CHANGES] + [f"... and {len(lines) - SHOWN_CHANGES} more branches (`git exp doctor` lists them)"]
    return ["  " + line for line in lines]


def install(repo: Repo, remote: Remote, *, pattern: str | None = None, fetch_only: bool = False,
            push: bool = False, force: bool = False, count: bool = True, dvc: bool = False) -> Installed:
    """Write the refspecs for ``remote``; with ``dvc`` (or when an earlier ``--dvc`` did)
    also the fetch refspec of DVC's experiments (``refspecs.dvc_fetch_spec``)."""
    if fetch_only and push:
        raise UsageError("--fetch-only and --push contradict each other — choose one")
    check_name(remote.name)
    glob = refspecs.normalize_pattern(pattern)
    leftovers.clear_stale_locks(repo)  # a killed install's config.lock: every write of the config fails
    report = Installed(remote.name)
    fetch_key, push_key = f"remote.{remote.name}.fetch", f"remote.{remote.name}.push"
    fetches, pushes = refspecs.values(repo, fetch_key), refspecs.values(repo, push_key)
    recorded = refspecs.recorded(repo, remote.name)
    ours = {f"{s.kind}={s.value}" for s in recorded}
    user_pushes = [v for v in pushes if f"push={v}" not in ours]
    choice = choose_push(repo, remote.name, user_pushes, fetch_only=fetch_only, push=push)
    wanted = [refspecs.fetch_spec(remote.name, glob)]
    dvc_spec = refspecs.dvc_fetch_spec(remote.name)
    if dvc or dvc_spec in recorded:  # kept by a later install without --dvc: uninstall removes it
        wanted.append(dvc_spec)
    if choice.branch:
        wanted.append(Spec("push", choice.branch))
    if choice.push:
        wanted.append(refspecs.push_spec(glob))  # exp_push
    exp_push = refspecs.push_spec(glob).value if choice.push else None
    # Tags and notes: plain `git fetch` brings the remote's refs/notes/exp beside ours (git exp
    # pull merges them), plain `git push` sends ours when it is a fast-forward of theirs.
    wanted.append(refspecs.notes_fetch_spec(remote.name))
    if choice.push:
        wanted.append(refspecs.notes_push_spec())
    forced = push and choice.plan is not None and not choice.plan.spec
    wanted.append(refspecs.archive_spec("fetch"))  # archives: a few refs, fetched and pushed as they are
    if choice.push:
        wanted.append(refspecs.archive_spec("push"))
    conflicts = [Spec("fetch", v) for v in fetches if refspecs.touches_exp(v) and v != wanted[0].value]
    if choice.push:
        conflicts += [Spec("push", v) for v in pushes if refspecs.touches_exp(v) and v != exp_push]
    conflicts = [c for c in conflicts if f"{c.kind}={c.value}" not in ours]
    if conflicts and not force:
        shown = ", ".join(f"{c.kind} = {c.value}" for c in conflicts)
        raise UsageError(f"remote {remote.name!r} already has an experiment refspec of its own ({shown}) — "
                         f"leave it, or use --force to replace it (uninstall puts it back)")
    # What an earlier install of ours wrote and this one does not want (another --pattern,
    # a branch refspec push.default no longer agrees with) goes; so does the --push mark.
    for spec in recorded:
        if spec.kind in ("fetch", "push") and spec not in wanted:
            refspecs.unset(repo, f"remote.{remote.name}.{spec.kind}", spec.value)
            refspecs.forget(repo, remote.name, spec)
            fetches = [v for v in fetches if not (spec.kind == "fetch" and v == spec.value)]
            pushes = [v for v in pushes if not (spec.kind == "push" and v == spec.value)]
            report.removed.append(spec)
        elif spec == FORCED_PUSH and not forced:
            refspecs.forget(repo, remote.name, spec)
    # Each record is written before the change it records: killed in between, the rerun
    # and uninstall still know what was ours and what to put back (none is recorded twice).
    for spec in conflicts:
        if f"replaced-{spec.kind}={spec.value}" not in ours:
            refspecs.record(repo, remote.name, Spec("replaced-" + spec.kind, spec.value))
        refspecs.unset(repo, f"remote.{remote.name}.{spec.kind}", spec.value)
        report.replaced.append(spec)
        if spec.kind == "push":
            pushes = [p for p in pushes if p != spec.value]
    current = {"fetch": fetches, "push": pushes}
    for spec in wanted:
        if spec.value in current[spec.kind]:
            report.already.append(spec)
            continue
        if f"{spec.kind}={spec.value}" not in ours:
            refspecs.record(repo, remote.name, spec)
        refspecs.add(repo, f"remote.{remote.name}.{spec.kind}", spec.value)
        report.added.append(spec)
    report.notes += push_notes(choice, remote.name, fetch_only, added=any(s.value in BRANCH_SPECS for s in report.added))
    if forced and FORCED_PUSH not in recorded:
        refspecs.record(repo, remote.name, FORCED_PUSH)
    if choice.push:
        report.notes.append(f"`git push --prune {remote.name}` would now delete experiments on {remote.name} "
                            f"that you do not have locally")
    if count:
        try:
            report.count = len(ls_remote(repo, remote, f"refs/exp/{glob}"))
        except ExpError:
            report.notes.append(f"could not reach {remote.name} to count its experiments")
    return report


def push_notes(choice: PushChoice, remote: str, fetch_only: bool, *, added: bool) -> list[str]:
    plan = choice.plan
    if fetch_only or plan is None:
        return []
    if plan.spec == "HEAD":
        return [f"added `push = HEAD`: with any push refspec git ignores push.default, and HEAD pushes the "
                f"current branch to its own name, as plain `git push` does here today "
                f"(push.default={plan.mode or 'simple'})"] if added else []
    if plan.spec == ":":
        return ["added `push = :`: with any push refspec git ignores push.default, and ':' pushes the "
                "matching branches, as push.default=matching does"] if added else []
    if choice.push:
        return [f"--push: plain `git push` to {remote} now does to branches what it did not do before:",
                *change_notes(plan, remote, written=True), f"(`git exp install {remote}` without --push puts it back)"]
    return [f"wrote the fetch refspec only: a push refspec makes git ignore push.default, and no refspec "
            f"keeps what a plain `git push` to {remote} does to branches today:",
            *change_notes(plan, remote),
            f"`git exp push {remote}` sends experiments; `git exp install {remote} --push` writes the push "
            f"refspecs anyway"]


def recorded_pattern(records: list[Spec]) -> str | None:
    """The --pattern an earlier install used (None: all experiments)."""
    for spec in records:
        if spec.kind == "push" and spec.value.startswith("refs/exp/"):
            return spec.value.partition(":")[0][len("refs/exp/"):]
        if spec.kind == "fetch" and spec.value.startswith("+refs/exp/"):
            return spec.value.partition(":")[0][len("+refs/exp/"):]
    return None


def fetch_cost_ms(count: int) -> float:
    return count * FETCH_COST_US / 1000


def uninstall(repo: Repo, remote_name: str, *, keep_refs: bool = False) -> tuple[list[Spec], int]:
    """Remove what install recorded for ``remote_name`` and, unless ``keep_refs``, its refs
    (remote-tracking experiments: symbolic refs and refs to non-commits there are left for
    the user, ``doctor`` shows them)."""
    name = names.RemoteName(remote_name)
    leftovers.clear_stale_locks(repo)  # a killed uninstall's: config.lock, the locks of refs it deleted
    records = refspecs.recorded(repo, name)
    known = name in configured(repo)
    refs = {} if keep_refs and (known or records) else {
        **leftovers.commit_refs(repo, name.tracking), **leftovers.commit_refs(repo, f"refs/remote-exps/{name}/")}
    notes_refs = {} if keep_refs else leftovers.commit_refs(repo, tracking_notes(name))
    if not known and not records and not refs and not notes_refs:
        raise UsageError(f"no remote named {names.shown(name)} and nothing installed for it — "
                         "`git exp doctor` shows what is")
    removed = remove_recorded(repo, name, records)
    deleted = 0
    if not keep_refs and (refs or notes_refs):
        repo.transaction([(ref, repo.zero, sha) for ref, sha in {**refs, **notes_refs}.items()],
                         f"git exp uninstall {name}", reflog=False)
        deleted = len(refs)
    return removed, deleted


def tracking_notes(remote: str) -> str:
    from git_exp.notesync import tracking

    return tracking(remote)


def remove_recorded(repo: Repo, remote_name: str, records: list[Spec]) -> list[Spec]:
    """Take out the refspecs install recorded, put back those it replaced, drop the record.
    No check of the name: doctor also cleans up after remotes git-exp cannot work with."""
    removed = []
    for spec in records:
        if spec.kind not in ("fetch", "push"):
            continue
        refspecs.unset(repo, f"remote.{remote_name}.{spec.kind}", spec.value)
        removed.append(spec)
    for spec in records:
        if spec.kind.startswith("replaced-"):
            key = f"remote.{remote_name}.{spec.kind[len('replaced-'):]}"
            if spec.value not in refspecs.values(repo, key):  # a killed uninstall may have put it back
                refspecs.add(repo, key, spec.value)
    refspecs.drop_records(repo, remote_name)  # the record last: killed before, the rerun finishes
    return removed
