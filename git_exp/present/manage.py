"""Commands that make, move and delete local experiments: save, apply, branch, rm, rename, gc."""
from __future__ import annotations

from git_exp.present.common import count, note, out


def saved(saved, append: bool) -> None:
    verb = "appended to" if append and saved.old else ("replaced" if saved.old else "saved")
    note(f"{verb} experiment {saved.name} ({saved.sha[:7]})")
    out(saved.name)


def applied(result) -> None:
    if result.saved:
        note(f"saved your changes as experiment {result.saved.name} ({result.saved.sha[:7]})")
    note(f"applied experiment {result.name} ({result.sha[:7]}) to the work tree")


def branched(target: str, sha: str, name: str) -> None:
    note(f"created branch {target} at {sha[:7]} (experiment {name})")
    out(target)


def deleted(doomed, dry_run: bool, kept_all: bool = True) -> None:
    """Each deleted experiment with its commit, and how to restore one; ``kept_all``: say
    so when none was (``rm`` selects by name, then --keep/--older-than may keep all)."""
    verb = "would delete" if dry_run else "deleted"
    if not doomed and kept_all:
        note("nothing to delete: every experiment named is kept (--keep, --older-than)")
    for exp in doomed:
        out(f"{verb} {exp.name} ({exp.sha})")
    if doomed and not dry_run:
        first = doomed[0]
        note(f"restore with: git update-ref refs/exp/<name> <sha>   (e.g. git update-ref refs/exp/{first.name} {first.sha})")


def collected(doomed, dry_run: bool) -> None:
    """``gc``: ``deleted``, then the count."""
    deleted(doomed, dry_run, kept_all=False)
    note(f"{'would delete' if dry_run else 'deleted'} {count(len(doomed))}" + ("" if dry_run else "; refs packed"))


def renamed(old: str, target: str, sha: str) -> None:
    note(f"renamed {old} -> {target} ({sha[:7]})")
