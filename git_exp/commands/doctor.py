"""``git exp doctor``: what is installed where, what went stale, and the command that fixes it."""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass

from git_exp import git, refspecs
from git_exp.commands.install import FETCH_COST_US, install, uninstall
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


def git_version() -> tuple[int, ...]:
    text = git.out("version")
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(x) for x in match.groups(default="0")) if match else (0, 0, 0)


def _tracking_remotes(repo: Repo) -> dict[str, int]:
    raw = repo.out("for-each-ref", "--format=%(refname)", "--", "refs/remote-exp/")
    counts: dict[str, int] = {}
    for ref in raw.splitlines():
        name = ref[len("refs/remote-exp/"):].split("/", 1)[0]
        counts[name] = counts.get(name, 0) + 1
    return counts


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
    tracking = _tracking_remotes(repo)
    for name in sorted(remotes):
        fetches = refspecs.values(repo, f"remote.{name}.fetch")
        pushes = refspecs.values(repo, f"remote.{name}.push")
        records = refspecs.recorded(repo, name)
        ours = [s for s in records if not s.kind.startswith("replaced-")]
        present = [s for s in ours if s.value in (fetches if s.kind == "fetch" else pushes)]
        stale = [v for v in fetches if v.startswith("+refs/exp/") and "refs/remote-exp/" in v
                 and f"refs/remote-exp/{name}/" not in v]
        if stale:
            findings.append(Finding(name, "warning",
                f"fetch refspec {stale[0]!r} still points at another remote's refs (after `git remote rename`?)",
                f"git config --unset --fixed-value remote.{name}.fetch '{stale[0]}' && git exp install {name}", True))
        if ours and len(present) == len(ours):
            count = tracking.get(name, 0)
            cost = count * FETCH_COST_US / 1000
            plural = "" if count == 1 else "s"
            shown = "<1 ms" if cost < 1 else f"{cost:.0f} ms"
            findings.append(Finding(name, "ok", f"installed; {count} experiment{plural} fetched, a no-op "
                                    f"`git fetch` costs about {shown} more for them"))
            if any(s.kind == "push" and s.value.startswith("refs/exp/") for s in ours):
                findings.append(Finding(name, "info", f"`git push --prune {name}` deletes experiments on {name} "
                                        "that you do not have locally"))
        elif ours:
            missing = ", ".join(f"{s.kind} = {s.value}" for s in ours if s not in present)
            findings.append(Finding(name, "warning", f"partly installed: missing {missing}",
                                    f"git exp install {name}", True))
        elif not stale:
            findings.append(Finding(name, "info", "not installed (plain `git fetch` does not bring experiments)",
                                    f"git exp install {name}"))
    for name, count in sorted(tracking.items()):
        if name not in remotes:
            findings.append(Finding(name, "warning", f"{count} remote-tracking experiments under "
                                    f"refs/remote-exp/{name}/ but no remote {name!r} (removed or renamed?)",
                                    f"git exp uninstall {name}", True))
    for section in _record_sections(repo):
        if section not in remotes and section not in tracking:
            findings.append(Finding(section, "warning", "install record for a remote that no longer exists",
                                    f"git exp uninstall {section}", True))
    loose = _loose(repo)
    if loose >= LOOSE_WORTH_PACKING:
        findings.append(Finding(None, "warning", f"{loose} loose experiment refs slow down listing and fetching",
                                "git pack-refs --all", True))
    lfs = _lfs_bypassed(repo)
    if lfs:
        findings.append(Finding(None, "warning", lfs, "git lfs install --local"))
    return findings


def _record_sections(repo: Repo) -> list[str]:
    raw = repo.run("config", "--get-regexp", r"^exp\..*\.installed$", check=False).out
    return sorted({line.split(" ", 1)[0][len("exp."):-len(".installed")] for line in raw.splitlines()})


def fix(repo: Repo, findings: list[Finding]) -> list[str]:
    """Apply the safe fixes; return what was done."""
    done: list[str] = []
    remotes = configured(repo)
    for finding in findings:
        if not finding.fixable or finding.fix in done:
            continue
        name = finding.remote
        if finding.fix == "git pack-refs --all":
            repo.run("pack-refs", "--all")
        elif finding.fix and finding.fix.startswith("git exp uninstall") and name:
            uninstall(repo, name)
        elif finding.fix and name in remotes:
            for value in refspecs.values(repo, f"remote.{name}.fetch"):
                if value.startswith("+refs/exp/") and f"refs/remote-exp/{name}/" not in value:
                    refspecs.unset(repo, f"remote.{name}.fetch", value)
                    _adopt_records(repo, value.split("refs/remote-exp/", 1)[1].split("/", 1)[0], name, remotes)
            install(repo, Remote(name, remotes[name]), count=False)
        else:
            continue
        done.append(finding.fix)
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


def as_json(findings: list[Finding]) -> list[dict]:
    return [asdict(f) for f in findings]
