"""``git exp doctor``: what is installed where, what went stale, and the command that fixes it.

Per remote: whether install's refspecs are all there, whether a plain ``git push`` still
does to branches what push.default and the upstreams say (``plainpush``), remote names
git-exp cannot work with and configured refspecs git cannot parse.  For the repository:
remote-tracking refs of no remote, leftovers of killed commands (``leftovers``), symbolic
and non-commit refs under our namespaces, loose refs worth packing, git-lfs without its
hook.  ``--fix`` applies only what loses nothing: install's own refspecs, refs and
leftovers; the user's refspecs and refs are reported with the command, never changed.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from git_exp import git, leftovers, names, plainpush, refspecs
from git_exp.commands.install import FETCH_COST_US, FORCED_PUSH, install, recorded_pattern, remove_recorded, uninstall
from git_exp.git import GitError
from git_exp.remotes import Remote, configured
from git_exp.repo import Repo

LOOSE_WORTH_PACKING = 100
MIN_GIT = (2, 30)


@dataclass
class Finding:
    remote: str | None
    level: str  # ok, info, warning
    what: str
    fix: str | None = None
    fixable: bool = False  # --fix may apply it
    action: tuple = field(default=(), repr=False, compare=False)  # what --fix does (not in --json)


def git_version() -> tuple[int, ...]:
    text = git.out("version")
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(x) for x in match.groups(default="0")) if match else (0, 0, 0)


def _tracking_remotes(repo: Repo) -> dict[str, int]:
    raw = repo.out("for-each-ref", "--format=%(refname)", "--", "refs/remote-exp/")
    counts: dict[str, int] = {}
    for ref in raw.splitlines():
        if not leftovers.decodable(ref):
            continue  # reported with the odd refs
        name = ref[len("refs/remote-exp/"):].split("/", 1)[0]
        counts[name] = counts.get(name, 0) + 1
    return counts


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 100_000 else f"{count / 1e3:.0f} kB"


def _loose(repo: Repo) -> int:
    total = 0
    for sub in ("refs/exp", "refs/remote-exp"):
        for _root, _dirs, files in os.walk(os.path.join(repo.common_dir, sub)):
            total += len(files)
    return total


def _lfs_bypassed(repo: Repo) -> str | None:
    if repo.worktree is None:
        return None
    attributes = os.path.join(repo.worktree, ".gitattributes")
    if not os.path.exists(attributes) or "filter=lfs" not in open(attributes, errors="replace").read():
        return None
    hooks = repo.out("rev-parse", "--git-path", "hooks")
    hook = os.path.join(repo.worktree, hooks, "pre-push")  # an absolute hooks path wins in join
    if not os.path.exists(hook) or "lfs" not in open(hook, errors="replace").read():
        return "this repository tracks files with git-lfs but has no git-lfs pre-push hook: pushed experiments would lack their LFS objects"
    return None


def diagnose(repo: Repo) -> list[Finding]:
    findings: list[Finding] = []
    version = git_version()
    if version < MIN_GIT:
        findings.append(Finding(None, "warning", f"git {'.'.join(map(str, version))} is older than 2.30: "
                                "install and uninstall need `git config --fixed-value`", "upgrade git"))
    remotes = configured(repo)
    try:
        tracking = _tracking_remotes(repo)
    except GitError as exc:  # e.g. "fatal: packed refname is dangerous": git cannot list refs at all
        reason = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        findings.append(Finding(None, "warning", f"git cannot list the refs: {reason[-1] if reason else exc}",
                                "remove the line with that ref from the packed-refs file of the git directory "
                                "(git has no command that can) and run `git exp doctor` again"))
        return findings
    for name in sorted(remotes):
        findings += _bad_refspecs(repo, name)
        why = names.remote_problem(name)
        if why:
            findings.append(Finding(name, "warning", f"git-exp cannot work with remote {names.shown(name)}: {why}",
                                    f"git remote rename {_quoted(name)} NEW-NAME"))
            continue
        findings += _remote_findings(repo, name, remotes, tracking)
    for name, count in sorted(tracking.items()):
        why = names.remote_problem(name)
        if why:
            findings.append(Finding(None, "warning", f"{count} refs under refs/remote-exp/{name}/, which is no "
                                    f"remote git-exp can work with ({why})", "git exp doctor --fix",
                                    True, ("drop-tracking", name)))
        elif name not in remotes:
            findings.append(Finding(name, "warning", f"{count} remote-tracking experiments under "
                                    f"refs/remote-exp/{name}/ but no remote {name!r} (removed or renamed?)",
                                    f"git exp uninstall {name}", True, ("uninstall", name)))
    for section in _record_sections(repo):
        if section in remotes or section in tracking:
            continue
        if names.remote_problem(section):
            findings.append(Finding(section, "warning", "install record for a remote that no longer exists "
                                    "(and whose name git-exp cannot work with)", "git exp doctor --fix", True,
                                    ("forget", section)))
        else:
            findings.append(Finding(section, "warning", "install record for a remote that no longer exists",
                                    f"git exp uninstall {section}", True, ("uninstall", section)))
    findings += _leftover_findings(repo)
    loose = _loose(repo)
    if loose >= LOOSE_WORTH_PACKING:
        findings.append(Finding(None, "warning", f"{loose} loose experiment refs slow down listing and fetching",
                                "git pack-refs --all", True, ("pack",)))
    lfs = _lfs_bypassed(repo)
    if lfs:
        findings.append(Finding(None, "warning", lfs, "git lfs install --local"))
    return findings


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _bad_refspecs(repo: Repo, name: str) -> list[Finding]:
    """Configured refspecs git cannot parse: every fetch (or push) of the remote dies on them."""
    found = []
    ours = {f"{s.kind}={s.value}" for s in refspecs.recorded(repo, name)}
    for kind in ("fetch", "push"):
        for value in refspecs.values(repo, f"remote.{name}.{kind}"):
            why = refspecs.problem(value, kind)
            if why:
                mine = f"{kind}={value}" in ours
                found.append(Finding(name, "warning", f"{kind} refspec {value!r} is one git cannot parse ({why}): "
                                     f"every `git {kind}` of {names.shown(name)} fails"
                                     + (" (git-exp added it)" if mine else ""),
                                     f"git config --unset --fixed-value {_quoted(f'remote.{name}.{kind}')} {_quoted(value)}",
                                     mine, ("unset", name, kind, value)))
    return found


def _remote_findings(repo: Repo, name: str, remotes: dict[str, str], tracking: dict[str, int]) -> list[Finding]:
    findings = []
    fetches = refspecs.values(repo, f"remote.{name}.fetch")
    pushes = refspecs.values(repo, f"remote.{name}.push")
    records = refspecs.recorded(repo, name)
    ours = [s for s in records if s.kind in ("fetch", "push")]
    present = [s for s in ours if s.value in (fetches if s.kind == "fetch" else pushes)]
    stale = [v for v in fetches if v.startswith("+refs/exp/") and "refs/remote-exp/" in v
             and f"refs/remote-exp/{name}/" not in v or _stale_notes(v, name)]
    if stale:
        findings.append(Finding(name, "warning",
            f"fetch refspec {stale[0]!r} still points at another remote's refs (after `git remote rename`?)",
            f"git config --unset --fixed-value remote.{name}.fetch '{stale[0]}' && git exp install {name}",
            True, ("reinstall", name)))
    if ours and len(present) == len(ours):
        count = tracking.get(name, 0)
        cost = count * FETCH_COST_US / 1000
        plural = "" if count == 1 else "s"
        shown = "<1 ms" if cost < 1 else f"{cost:.0f} ms"
        findings.append(Finding(name, "ok", f"installed; {count} experiment{plural} fetched, a no-op "
                                f"`git fetch` costs about {shown} more for them"))
        if any(refspecs.is_dvc_fetch(s.value) for s in ours):
            findings.append(Finding(name, "info", f"DVC's experiments fetched too, into refs/remote-exps/{name}/ "
                                    f"(`git exp pull {name} 'dvc:*'` makes them DVC's)"))
        if refspecs.notes_fetch_spec(name) not in ours:
            findings.append(Finding(name, "info", f"installed before tags and notes travelled: plain `git fetch` "
                                    f"does not bring {name}'s refs/notes/exp (`git exp pull` does)",
                                    f"git exp install {name}"))
        if any(s.kind == "push" and s.value.startswith("refs/exp/") for s in ours):
            findings.append(Finding(name, "info", f"`git push --prune {name}` deletes experiments on {name} "
                                    "that you do not have locally"))
            findings += _push_findings(repo, name, pushes, records, remotes)
        elif not pushes:
            plan = plainpush.for_remote(repo, name, list(remotes))
            if not plan.spec:
                findings.append(Finding(name, "info", f"fetch refspec only: plain `git push` to {name} sends no "
                                        f"experiments (`git exp push {name}` does); push refspecs would change "
                                        f"what it does to branches: {plan.lines(name)[0]}"))
    elif ours:
        missing = ", ".join(f"{s.kind} = {s.value}" for s in ours if s not in present)
        findings.append(Finding(name, "warning", f"partly installed: missing {missing}",
                                f"git exp install {name}", True, ("reinstall", name)))
    elif not stale:
        findings.append(Finding(name, "info", "not installed (plain `git fetch` does not bring experiments)",
                                f"git exp install {name}"))
    return findings


def _stale_notes(value: str, name: str) -> bool:
    """A fetch refspec of tags and notes that names another remote's tracking ref."""
    mine = refspecs.notes_fetch_spec(name).value
    return value != mine and value.startswith(mine.partition(":")[0] + ":refs/notes/remote-exp/")


def _push_findings(repo: Repo, name: str, pushes: list[str], records: list, remotes: dict[str, str]) -> list[Finding]:
    """Whether plain ``git push`` to ``name`` still does to branches what it would without
    install's push refspecs (branches and upstreams change after install)."""
    ours = {s.value for s in records if s.kind == "push"}
    if any(v not in ours for v in pushes):
        return []  # the user's own push refspecs decide the branches, as before install
    plan = plainpush.for_remote(repo, name, list(remotes))
    branch = next((v for v in pushes if v in refspecs.BRANCH_SPECS), None)
    if branch is not None and branch == plan.spec:
        return []
    if branch is None:
        return [Finding(name, "warning", f"plain `git push` to {name} pushes experiments only and no branch "
                        "(the remote's own push refspecs that were there at install are gone)",
                        f"git exp install {name}", True, ("reinstall", name))]
    if plan.spec:
        return [Finding(name, "warning", f"`push = {branch}` no longer does what push.default={plan.mode} does "
                        f"(that is `push = {plan.spec}`)", f"git exp install {name}", True, ("reinstall", name))]
    if FORCED_PUSH in records:
        return [Finding(name, "info", line + " (you installed with --push)", f"git exp install {name}")
                for line in plan.lines(name, written=True)]
    return [Finding(name, "warning", line, f"git exp install {name}  (keeps the fetch refspec only)",
                    True, ("reinstall", name)) for line in plan.lines(name, written=True)]


def _leftover_findings(repo: Repo) -> list[Finding]:
    findings = []
    sweep = ("sweep",)
    staged = leftovers.staging(repo)
    stale = leftovers.stale_staging(repo, staged)
    if stale:
        stages = {ref[len(leftovers.STAGING):].split("/", 1)[0] for ref in stale}
        findings.append(Finding(None, "warning", f"{len(stale)} staging refs under {leftovers.STAGING} left by "
                                f"{len(stages)} interrupted `git exp push`", "git exp doctor --fix", True, sweep))
    if len(staged) > len(stale):
        findings.append(Finding(None, "info", f"{len(staged) - len(stale)} staging refs of a `git exp push` "
                                "that is running"))
    paths = [p for d in leftovers.git_dirs(repo) for p in leftovers.stale_indexes(d)]
    if paths:
        size = sum(os.lstat(p).st_size for p in paths if os.path.exists(p))
        findings.append(Finding(None, "warning", f"{len(paths)} temporary index files ({_size(size)}) left by "
                                "interrupted `git exp save`/`run`, such as "
                                f"{os.path.relpath(paths[0], repo.cwd)}", "git exp doctor --fix", True, sweep))
    parts = leftovers.stale_parts(repo.common_dir)
    if parts:
        size = sum(os.lstat(p).st_size for p in parts if os.path.exists(p))
        findings.append(Finding(None, "warning", f"{len(parts)} part files of facts ({_size(size)}) left by an "
                                f"interrupted `git exp show --json`, such as {os.path.relpath(parts[0], repo.cwd)}",
                                "git exp doctor --fix", True, sweep))
    worktrees = leftovers.stale_worktrees(repo) + leftovers.stale_run_dirs()
    if worktrees:
        findings.append(Finding(None, "warning", f"{len(worktrees)} temporary worktrees of interrupted "
                                f"`git exp run --isolated`, such as {worktrees[0]}", "git exp doctor --fix", True, sweep))
    found = leftovers.locks(repo)
    stale_locks = leftovers.stale(repo, found)
    for lock in found:
        rel = os.path.relpath(lock.path, repo.cwd)
        what = "the git config (install, uninstall)" if lock.ref == "config" else lock.ref
        table = lock.ref.startswith("reftable/") and lock.ref != "reftable/tables.list"
        effect = ("git cannot compact that reftable table (`git pack-refs` fails, and refs get slower as tables "
                  "pile up)" if table else f"every update of {what} fails")
        if lock in stale_locks:
            findings.append(Finding(None, "warning", f"stale lock file {rel} ({_age(lock.age)} old; no git that "
                                    f"could hold it is running): {effect} until it is "
                                    "removed", "git exp doctor --fix", True, sweep))
        else:
            findings.append(Finding(None, "info", f"lock file {rel} ({_age(lock.age)} old): a git may be writing "
                                    f"{what}; if none is, `git exp doctor --fix` removes it once no git runs "
                                    f"here or it is {leftovers.LOCK_AGE // 60} minutes old"))
    for odd in leftovers.odd_refs(repo):
        findings.append(Finding(None, "warning", odd.what(),
                                f"git symbolic-ref --delete {odd.ref}" if odd.symref
                                else f"git update-ref -d {odd.ref} {odd.sha}"))
    return findings


def _record_sections(repo: Repo) -> list[str]:
    raw = repo.run("config", "-z", "--get-regexp", r"^exp\..*\.installed$", check=False).out
    return sorted({record.partition("\n")[0][len("exp."):-len(".installed")]
                   for record in raw.split("\0") if record})


def fix(repo: Repo, findings: list[Finding]) -> list[str]:
    """Apply the safe fixes; return what was done."""
    done: list[str] = []
    applied: set[tuple] = set()
    remotes = configured(repo)
    for finding in findings:
        action = finding.action
        if not finding.fixable or not action or action in applied:
            continue
        applied.add(action)
        kind, args = action[0], action[1:]
        if kind == "pack":
            repo.run("pack-refs", "--all")
        elif kind == "uninstall":
            uninstall(repo, args[0])
        elif kind == "unset":
            name, key, value = args
            refspecs.unset(repo, f"remote.{name}.{key}", value)
            refspecs.forget(repo, name, refspecs.Spec(key, value))
        elif kind == "forget":
            remove_recorded(repo, args[0], refspecs.recorded(repo, args[0]))
        elif kind == "drop-tracking":
            refs = leftovers.commit_refs(repo, f"refs/remote-exp/{args[0]}/")
            repo.transaction([(ref, repo.zero, sha) for ref, sha in refs.items()],
                             "git exp doctor --fix: refs of no remote", reflog=False)
        elif kind == "sweep":
            swept = leftovers.sweep(repo)
            done.append(f"removed {swept.staging} staging refs, {swept.indexes} temporary index files and "
                        f"{swept.parts} part files of facts ({_size(swept.freed)}), {swept.locks} stale lock files, "
                        f"{swept.worktrees} run worktrees")
            continue
        elif kind == "reinstall" and args[0] in remotes:
            name = args[0]
            for value in refspecs.values(repo, f"remote.{name}.fetch"):
                if value.startswith("+refs/exp/") and f"refs/remote-exp/{name}/" not in value:
                    refspecs.unset(repo, f"remote.{name}.fetch", value)
                    _adopt_records(repo, value.split("refs/remote-exp/", 1)[1].split("/", 1)[0], name, remotes)
                elif _stale_notes(value, name):
                    refspecs.unset(repo, f"remote.{name}.fetch", value)
            records = refspecs.recorded(repo, name)
            report = install(repo, Remote(name, remotes[name]), pattern=recorded_pattern(records),
                             push=FORCED_PUSH in records, count=False)
            if report.removed and not any(s.kind == "push" for s in report.added + report.already):
                done.append(f"git exp install {name}: removed the push refspecs (they changed what plain "
                            f"`git push` does to branches); the fetch refspec stays")
                continue
        else:
            continue
        done.append(finding.fix or kind)
    return done


def _adopt_records(repo: Repo, old: str, new: str, remotes: dict[str, str]) -> None:
    """After ``git remote rename old new``: what install added now sits under ``new``;
    move its record there too, so that ``uninstall new`` removes all of it."""
    if old in remotes:
        return
    for spec in refspecs.recorded(repo, old):
        if spec.kind != "fetch":  # the stale fetch refspec itself is gone; install records the new one
            refspecs.record(repo, new, spec)
    refspecs.drop_records(repo, old)
