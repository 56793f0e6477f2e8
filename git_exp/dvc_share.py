"""Pushing and pulling DVC's experiments (``dvc``): the refs keep DVC's full names.

``git exp push REMOTE dvc:NAME|dvc:GLOB`` (and ``--all``) sends each selected
``refs/exps/<2 hex>/<hex>/<name>`` to the same ref on the remote, so ``dvc exp list
REMOTE`` / ``dvc exp pull`` see them; ``--force`` leases each ref at the value the
remote showed.  DVC's internals (``refs/exps/celery/``, ``exec/``, stash refs) are never
sent: only refs of the experiment shape are selected, each named explicitly.

``git exp pull REMOTE dvc:NAME|dvc:GLOB`` (and ``--all``) lists the remote's
``refs/exps/*`` (one ``ls-remote``, each name validated: it is data from the remote),
brings the commits with ``git fetch`` into the remote-tracking namespace
``refs/remote-exps/<remote>/`` (which DVC never reads; a URL remote uses a private
staging namespace, removed afterwards), then creates or fast-forwards the real
``refs/exps/...`` refs in one compare-and-swap transaction; a diverged one is kept and
reported unless ``--force``.  When ``git exp install --dvc REMOTE`` made plain ``git
fetch`` bring them already, pull finds the commits here and fetches nothing.
"""
from __future__ import annotations

import os

from git_exp import dvc, names
from git_exp.errors import UsageError
from git_exp.repo import Repo, usable

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from git_exp.remotes import Remote

EXPLICIT_MAX = 16  # refs fetched by name; more go as one glob


def wants(patterns: list[str]) -> tuple[list[str], list[str]]:
    """``(dvc patterns, the others)``: a pattern for DVC's experiments starts with ``dvc:``."""
    mine = [p for p in patterns if dvc.is_label(p)]
    return mine, [p for p in patterns if not dvc.is_label(p)]


def _check(patterns: list[str]) -> None:
    for pattern in patterns:
        rest = pattern[len(dvc.MARK):]
        why = None if names.is_glob(rest) else (names.problem(rest) or ("a DVC name holds no /" if "/" in rest else None))
        if why:
            raise UsageError(f"invalid DVC experiment name {names.shown(pattern)}: {why} — `git exp ls` lists them")


def _select(refs: dict[str, str], patterns: list[str], all_: bool, where: str) -> dict[str, str]:
    """The refs (``{ref: sha}``, DVC experiment refs) ``patterns`` select by label."""
    if all_:
        return dict(refs)
    labels = {ref: dvc.label(ref.rpartition("/")[2]) for ref in refs}
    chosen, unmatched = names.select(sorted(set(labels.values())), patterns)
    if unmatched:
        raise UsageError(f"no DVC experiment {where} matches {names.shown(unmatched[0])} — `git exp ls` lists them")
    keep = set(chosen)
    return {ref: sha for ref, sha in refs.items() if labels[ref] in keep}


def remote_refs(text: str, hexsz: int) -> dict[str, str]:
    """``{ref: sha}`` of the experiment refs in an ``ls-remote`` of ``refs/exps/*``; DVC's
    internals and names git-exp refuses left out."""
    found = {}
    for line in usable(text).splitlines():
        sha, _, ref = line.partition("\t")
        if len(sha) == hexsz and dvc.name_of(ref, dvc.PREFIX, hexsz) is not None:
            found[ref] = sha
    return found


def start_listing(repo: Repo, remote: Remote):
    return repo.start("ls-remote", "--refs", "--", remote.name, dvc.PREFIX + "*")


# -- push ----------------------------------------------------------------------------------

def push(repo: Repo, remote: Remote, patterns: list[str], *, all_: bool, force: bool, dry_run: bool,
         listing: str | None = None):
    """Outcomes (``push.Outcome``) of pushing the DVC experiments ``patterns`` (or all) select;
    ``listing``: the ``refs_args`` lines of ``refs/exps/``, when read already."""
    from git_exp.commands.push import Pushed, push_refspecs

    _check(patterns)
    ours = dvc.listed(repo, text=listing)
    if not ours and all_:
        return Pushed()
    chosen = _select(ours, patterns, all_, "here")
    if not chosen:
        return Pushed()
    leases = []
    if force:
        from git_exp.remotes import explain

        result = start_listing(repo, remote).wait(check=False)
        if result.returncode:
            raise explain(remote, result, "listing experiments on")
        theirs = remote_refs(result.out, repo.hexsz)
        leases = [f"{ref}:{theirs.get(ref, '')}" for ref in chosen]
    return push_refspecs(repo, remote, [f"{ref}:{ref}" for ref in sorted(chosen)], leases, dry_run=dry_run)


# -- pull ----------------------------------------------------------------------------------

def pull(repo: Repo, remote: Remote, patterns: list[str], *, all_: bool, force: bool, listing=None) -> list:
    """Pulled records (``pull.Pulled``) of the DVC experiments ``patterns`` (or all) select
    on ``remote``; ``listing`` is ``start_listing``'s, if started."""
    from git_exp.commands.pull import Pulled, descendants, object_types
    from git_exp.remotes import explain

    _check(patterns)
    result = (listing or start_listing(repo, remote)).wait(check=False)
    if result.returncode:
        raise explain(remote, result, "listing experiments on")
    theirs = remote_refs(result.out, repo.hexsz)
    if not theirs and all_:
        return []
    chosen = _select(theirs, patterns, all_, f"on {remote.label}")
    tracking = dvc.tracking_prefix(remote.name) if remote.configured else \
        f"refs/exp-staging/{os.getpid()}-{os.urandom(4).hex()}/"
    kinds = object_types(repo, chosen.values())
    try:
        have = dvc.listed(repo, tracking) if remote.configured else {}
        if any(kinds.get(sha) is None or have.get(tracking + ref[len(dvc.PREFIX):]) != sha
               for ref, sha in chosen.items()):
            _fetch(repo, remote, chosen, tracking)
        kinds = object_types(repo, chosen.values())
        ours = dvc.listed(repo)
        report, moves = [], []
        differing = [(ours[ref], sha) for ref, sha in chosen.items() if ours.get(ref, sha) != sha]
        forward = descendants(repo, differing)
        for ref, sha in sorted(chosen.items()):
            label, mine = dvc.label(ref.rpartition("/")[2]), ours.get(ref)
            if kinds.get(sha) != "commit":
                report.append(Pulled(label, "skipped", sha, "it points at no commit"))
            elif mine is None:
                moves.append((ref, sha, repo.zero))
                report.append(Pulled(label, "new", sha))
            elif mine == sha:
                report.append(Pulled(label, "up to date", sha))
            elif (mine, sha) in forward:
                moves.append((ref, sha, mine))
                report.append(Pulled(label, "updated", sha))
            elif force:
                moves.append((ref, sha, mine))
                report.append(Pulled(label, "forced", sha, f"was {mine[:7]}, still in the reflog"))
            else:
                report.append(Pulled(label, "diverged", sha, f"kept local {mine[:7]}; theirs is {sha[:7]} — --force to take it"))
        repo.transaction(moves, f"git exp pull: DVC experiments from {remote.label}")
        return report
    finally:
        if not remote.configured:
            staged = repo.refs(tracking)
            repo.transaction([(tracking + n, repo.zero, sha) for n, sha in staged.items()],
                             "git exp pull: unstaging", reflog=False)


def _fetch(repo: Repo, remote: Remote, chosen: dict[str, str], into: str) -> None:
    """``git fetch`` the refs ``chosen`` into ``into`` + their path below ``refs/exps/``."""
    from git_exp import progress
    from git_exp.remotes import explain

    if len(chosen) > EXPLICIT_MAX:
        refspecs = [f"+{dvc.PREFIX}*:{into}*"]
    else:
        refspecs = [f"+{ref}:{into}{ref[len(dvc.PREFIX):]}" for ref in sorted(chosen)]
    result = repo.run("fetch", "--no-tags", "--no-write-fetch-head", "--no-auto-gc", *(progress.git_flag() or ["--quiet"]),
                      "--", remote.name, *refspecs, check=False, echo=progress.meter())
    if result.returncode:
        raise explain(remote, result, "fetching DVC experiments from")
