"""Tags and notes travel: ``refs/notes/exp`` through ``git exp push`` and ``git exp pull``.

The remote's notes ref is listed in the same ``ls-remote`` as its experiments
(``remotes.Extras``).  Its last known value is kept in ``refs/notes/remote-exp/<remote>``
(written by ``git fetch``; the fetch refspec ``git exp install`` adds writes it too),
which is where a merge takes the other side from.

- pull: when the remote's notes differ from ours, ``git fetch`` them into the tracking
  ref and ``git notes merge -s cat_sort_uniq`` them into ours: git unions the lines of
  a note both sides changed, and ``notes`` reads those lines as events, so both sides'
  tags and notes survive and a removal stays removed.
- push: when ours differ from the remote's, ``git push`` of ``refs/notes/exp`` (a plain
  push: git refuses what is not a fast-forward).  If the remote's moved since we last
  merged (or git refuses), fetch, merge, push again, a few times at most.

Nothing runs when there are no notes on either side, or when both are the same commit.
"""
from __future__ import annotations

from git_exp.errors import ExpError
from git_exp.remotes import NOTES as REF  # notes.REF; notes (and cache) only where a merge needs them
from git_exp.remotes import Remote, explain
from git_exp.repo import Repo

TRACKING = "refs/notes/remote-exp/"
ATTEMPTS = 3
MOVED = ("fetch first", "non-fast-forward", "stale info", "rejected")


def tracking(remote: str) -> str:
    return TRACKING + remote


def tracking_of(remote: Remote) -> str:
    """Where the remote's notes are kept: ``refs/notes/remote-exp/<name>``, or for a URL
    given on the command line a ref in its staging namespace, removed when done (``done``)."""
    return tracking(remote.name) if remote.configured else remote.tracking + "@notes"


def _refs(repo: Repo, remote: Remote) -> tuple[str | None, str | None]:
    """(our notes commit, the remote's as last fetched) in one for-each-ref."""
    out = repo.out("for-each-ref", "--format=%(objectname) %(refname)", "--", REF, tracking_of(remote))
    found = {ref: sha for sha, _, ref in (line.partition(" ") for line in out.splitlines())}
    return found.get(REF), found.get(tracking_of(remote))


def patterns(remote: str) -> tuple[str, str]:
    """The refs ``_refs`` reads, for a listing that reads them beside others (``push``
    lists them with the experiments): ours, and a configured ``remote``'s tracking ref
    (a URL's, ``tracking_of``, is made and removed by each command: never there before)."""
    return REF, tracking(remote)


def done(repo: Repo, remote: Remote) -> None:
    """For a URL remote: drop the stand-in tracking ref again."""
    if remote.configured:
        return
    from git_exp.repo import RefMoved

    sha = repo.ref_sha(tracking_of(remote))
    if sha:
        try:
            repo.transaction([(tracking_of(remote), repo.zero, sha)], "git exp: unstaging notes", reflog=False)
        except RefMoved:
            pass


def fetch(repo: Repo, remote: Remote) -> None:
    """The remote's notes into ``refs/notes/remote-exp/<remote>`` (git fetch writes the ref)."""
    result = repo.run("fetch", "--no-tags", "--no-write-fetch-head", "--quiet", "--no-auto-gc", "--",
                      remote.name, f"+{REF}:{tracking_of(remote)}", check=False)
    if result.returncode:
        raise explain(remote, result, "fetching tags and notes from")


def merge(repo: Repo, remote: Remote) -> None:
    """Merge the remote's notes (as last fetched) into ours with ``cat_sort_uniq``."""
    from git_exp.notes import failure

    result = repo.run("notes", f"--ref={REF}", "merge", "-q", "-s", "cat_sort_uniq", tracking_of(remote),
                      check=False)
    if result.returncode:
        raise failure(result, f"merge the tags and notes of {remote.label}")


def pull(repo: Repo, remote: Remote, theirs: str | None) -> str | None:
    """Bring and merge the remote's notes (``theirs``: its notes commit as listed); what
    was done in words, or None when nothing was to do."""
    if theirs is None:
        return None
    ours, known = _refs(repo, remote)
    if theirs == ours:
        return None
    try:
        if theirs != known:
            fetch(repo, remote)
        merge(repo, remote)
    finally:
        done(repo, remote)
    return f"merged the tags and notes of {remote.label}"


def push(repo: Repo, remote: Remote, theirs: str | None, *, dry_run: bool = False,
         listed: tuple[str | None, str | None] | None = None) -> str | None:
    """Send our notes to the remote, merging theirs first when they moved; what was done
    in words, or None when nothing was to do.  ExpError when the remote refuses.
    ``listed``: ``_refs``' answer, when a listing read it already (``patterns``)."""
    ours, known = listed or _refs(repo, remote)
    if ours is None or ours == theirs:
        return None
    if dry_run:
        return f"would push tags and notes to {remote.label}"
    try:
        return _push(repo, remote, theirs, ours, known)
    finally:
        done(repo, remote)


def _push(repo: Repo, remote: Remote, theirs: str | None, ours: str, known: str | None) -> str:
    merged = False
    for _attempt in range(ATTEMPTS):
        if theirs is not None and theirs not in (known, ours):
            fetch(repo, remote)
            merge(repo, remote)
            merged = True
            ours, known = _refs(repo, remote)
        result = repo.run("push", "--porcelain", "--no-follow-tags", "--", remote.name, f"{REF}:{REF}", check=False)
        line = next((one for one in result.out.splitlines() if f":{REF}\t" in one), "")
        flag = line[:1]
        if flag in ("*", " ", "=", "+"):
            if remote.configured:
                _track(repo, remote.name, ours, known)
            return f"pushed tags and notes to {remote.label}" + (" (merged with theirs first)" if merged else "")
        detail = line.rpartition("\t")[2] if line else ""
        if not line and result.returncode:
            raise explain(remote, result, "pushing tags and notes to")
        if not any(word in detail for word in MOVED) or "hook" in detail or "denied" in detail:
            raise ExpError(f"{remote.label} refused the tags and notes ({detail.strip('[]') or 'no reason given'}) — "
                           f"the experiments were pushed; check your permissions on {REF} there")
        theirs, known = "moved", None  # fetch and merge, then try again
    raise ExpError(f"the tags and notes on {remote.label} kept moving while we merged them — push again")


def _track(repo: Repo, remote: str, sha: str | None, old: str | None) -> None:
    """Record that the remote now has our notes ``sha`` (compare-and-swap on ``old``; when
    a fetch moved the tracking ref meanwhile, that fetch's value stays)."""
    from git_exp.repo import RefMoved

    if sha is None:
        return
    try:
        repo.transaction([(tracking(remote), sha, old or repo.zero)], f"git exp push: notes to {remote}")
    except RefMoved:
        pass
