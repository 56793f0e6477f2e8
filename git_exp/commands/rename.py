"""``git exp rename OLD NEW``: move an experiment to a new name.

One transaction (delete OLD, create NEW, each a compare-and-swap) when the names can
both exist.  When they cannot (``a`` -> ``a/b`` or back: git never holds ``a`` and
``a/b`` at once, not even inside one transaction), two transactions through a third,
visible name beside the shorter one, ``<shorter>.renaming-<hex>``: OLD -> it, then it ->
NEW.  At every moment the commit is an experiment the user can see; if we are killed
between the two, the next ``rename`` of OLD says where it is and how to finish.
"""
from __future__ import annotations

import os

from git_exp.errors import UsageError
from git_exp.interrupts import deferred
from git_exp.names import ExpName, conflict, shown
from git_exp.repo import Repo

INTERIM = ".renaming-"


def interim_name(old: str, new: str, existing) -> ExpName:
    """A free name beside the shorter of ``old`` and ``new``, which clashes with neither."""
    shorter = min(old, new, key=len)
    while True:
        name = ExpName(f"{shorter}{INTERIM}{os.urandom(2).hex()}")
        if name not in existing and not conflict(name, existing):
            return name


def interrupted_rename(repo: Repo, old: str, new: str) -> list[str]:
    """Interim names a killed rename of ``old`` to ``new`` left here."""
    return [n for n in repo.names() if n.startswith(min(old, new, key=len) + INTERIM)]


def rename(repo: Repo, old: str, new: str) -> tuple[str, str]:
    from git_exp import leftovers

    leftovers.clear_stale_locks(repo)  # what a killed git left (a killed rename's own, on its rerun)
    try:
        exp = repo.get(old)
    except UsageError:
        left = interrupted_rename(repo, old, new)
        if left:
            raise UsageError(f"no experiment named {shown(old)}, but an interrupted rename left {shown(left[0])} — "
                             f"finish it with `git exp rename {left[0]} {new}`") from None
        raise
    target = ExpName(new)
    existing = repo.names()
    if target in existing:
        raise UsageError(f"experiment {shown(target)} already exists — remove it first or pick another name")
    repo.check_free(target, [n for n in existing if n != old])
    message = f"git exp rename: {old} -> {target}"
    zero = repo.zero
    if not conflict(target, [old]):
        repo.transaction([(exp.ref, zero, exp.sha), (target.ref, exp.sha, zero)], message)
        return target, exp.sha
    interim = interim_name(old, target, existing)
    with deferred():  # Ctrl-C waits for the second step; only SIGKILL leaves the interim name
        repo.transaction([(exp.ref, zero, exp.sha), (interim.ref, exp.sha, zero)], message)
        try:
            repo.transaction([(interim.ref, zero, exp.sha), (target.ref, exp.sha, zero)], message)
        except Exception:
            repo.transaction([(interim.ref, zero, exp.sha), (exp.ref, exp.sha, zero)], message)
            raise
    return target, exp.sha
