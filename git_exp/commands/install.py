"""``git exp install`` / ``git exp uninstall``: the opt-in refspecs on a remote.

After install, plain ``git fetch`` brings experiments into ``refs/remote-exp/<remote>/``
and plain ``git push`` sends ``refs/exp/*`` (without ``+``: git refuses to overwrite an
experiment that moved on the remote).  ``push = HEAD`` is added when the remote had no
push refspec, because any configured push refspec makes git ignore ``push.default``
and a plain ``git push`` would otherwise stop pushing the current branch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from git_exp import names, refspecs
from git_exp.errors import ExpError, UsageError
from git_exp.refspecs import HEAD_PUSH, Spec
from git_exp.remotes import Remote, configured, ls_remote
from git_exp.repo import Repo

FETCH_COST_US = 30  # measured: a no-op fetch pays ~30 µs per remote experiment


@dataclass
class Installed:
    remote: str
    added: list[Spec] = field(default_factory=list)
    already: list[Spec] = field(default_factory=list)
    replaced: list[Spec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    count: int | None = None


def check_name(remote: str) -> None:
    names.RemoteName(remote)


def install(repo: Repo, remote: Remote, *, pattern: str | None = None, fetch_only: bool = False,
            force: bool = False, count: bool = True) -> Installed:
    check_name(remote.name)
    glob = refspecs.normalize_pattern(pattern)
    report = Installed(remote.name)
    fetch_key, push_key = f"remote.{remote.name}.fetch", f"remote.{remote.name}.push"
    fetches, pushes = refspecs.values(repo, fetch_key), refspecs.values(repo, push_key)
    wanted = [refspecs.fetch_spec(remote.name, glob)]
    if not fetch_only:
        wanted.append(refspecs.push_spec(glob))
    conflicts = [Spec("fetch", v) for v in fetches if refspecs.touches_exp(v) and v != wanted[0].value]
    if not fetch_only:
        conflicts += [Spec("push", v) for v in pushes if refspecs.touches_exp(v) and v != wanted[1].value]
    recorded = refspecs.recorded(repo, remote.name)
    ours = {f"{s.kind}={s.value}" for s in recorded}
    # An earlier install of ours with another --pattern is replaced, not kept beside.
    for spec in recorded:
        if spec.kind in ("fetch", "push") and spec.value != "HEAD" and spec not in wanted:
            refspecs.unset(repo, f"remote.{remote.name}.{spec.kind}", spec.value)
            refspecs.forget(repo, remote.name, spec)
            fetches = [v for v in fetches if not (spec.kind == "fetch" and v == spec.value)]
            pushes = [v for v in pushes if not (spec.kind == "push" and v == spec.value)]
    conflicts = [c for c in conflicts if f"{c.kind}={c.value}" not in ours]
    if conflicts and not force:
        shown = ", ".join(f"{c.kind} = {c.value}" for c in conflicts)
        raise UsageError(f"remote {remote.name!r} already has an experiment refspec of its own ({shown}) — "
                         f"leave it, or use --force to replace it (uninstall puts it back)")
    for spec in conflicts:
        refspecs.unset(repo, f"remote.{remote.name}.{spec.kind}", spec.value)
        refspecs.record(repo, remote.name, Spec("replaced-" + spec.kind, spec.value))
        report.replaced.append(spec)
        if spec.kind == "push":
            pushes = [p for p in pushes if p != spec.value]
    if not fetch_only and (not pushes or pushes == ["HEAD"] and Spec("push", "HEAD") in recorded):
        wanted.insert(1, HEAD_PUSH)
        report.notes.append(
            "added `push = HEAD`: with any push refspec configured git ignores push.default, so plain "
            "`git push` keeps pushing your current branch this way")
    current = {"fetch": fetches, "push": pushes}
    for spec in wanted:
        if spec.value in current[spec.kind]:
            report.already.append(spec)
            continue
        refspecs.add(repo, f"remote.{remote.name}.{spec.kind}", spec.value)
        refspecs.record(repo, remote.name, spec)
        report.added.append(spec)
    if not fetch_only:
        report.notes.append(f"`git push --prune {remote.name}` would now delete experiments on {remote.name} "
                            f"that you do not have locally")
    if count:
        try:
            report.count = len(ls_remote(repo, remote, f"refs/exp/{glob}"))
        except ExpError:
            report.notes.append(f"could not reach {remote.name} to count its experiments")
    return report


def fetch_cost_ms(count: int) -> float:
    return count * FETCH_COST_US / 1000


def uninstall(repo: Repo, remote_name: str, *, keep_refs: bool = False) -> tuple[list[Spec], int]:
    """Remove what install recorded for ``remote_name`` and, unless ``keep_refs``, its refs."""
    names.RemoteName(remote_name)
    records = refspecs.recorded(repo, remote_name)
    known = remote_name in configured(repo)
    if not known and not records and not repo.refs(f"refs/remote-exp/{remote_name}/"):
        raise UsageError(f"no remote named {remote_name!r} and nothing installed for it — `git exp doctor` shows what is")
    removed = []
    for spec in records:
        if spec.kind.startswith("replaced-"):
            continue
        refspecs.unset(repo, f"remote.{remote_name}.{spec.kind}", spec.value)
        removed.append(spec)
    for spec in records:
        if spec.kind.startswith("replaced-"):
            refspecs.add(repo, f"remote.{remote_name}.{spec.kind[len('replaced-'):]}", spec.value)
    refspecs.drop_records(repo, remote_name)
    deleted = 0
    if not keep_refs:
        prefix = f"refs/remote-exp/{remote_name}/"
        refs = repo.refs(prefix)
        repo.transaction([(prefix + name, repo.zero, sha) for name, sha in refs.items()],
                         f"git exp uninstall {remote_name}", reflog=False)
        deleted = len(refs)
    return removed, deleted
