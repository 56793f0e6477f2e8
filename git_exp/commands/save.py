"""``git exp save``: snapshot the work tree into ``refs/exp/<name>``."""
from __future__ import annotations

from git_exp import metadata, names
from git_exp.errors import ExpError, UsageError
from git_exp.git import stopped_on_error
from git_exp.record import Record
from git_exp.repo import RefMoved, Repo
from git_exp.snapshot import commit_tree, snapshot


class Saved(Record):
    """name, sha, and old: the commit the name pointed at before, when replaced or appended."""

    __slots__ = ("name", "sha", "old")


def check_can_save(repo: Repo, command: str) -> None:
    repo.require_worktree(command)
    busy = repo.in_progress()
    if busy:
        raise UsageError(f"a {busy} is in progress — finish or abort it before `git exp {command}`")


def prepare_name(repo: Repo, name: str | None, *, force: bool, append: bool) -> tuple[names.ExpName | None, str | None, list[str] | None]:
    """Validate ``name`` for a save; return it, its current commit, and the existing names
    that could clash with it (``Repo.near``; None without a name: ``save`` looks up the
    names it may generate once it has the commit)."""
    if force and append:
        raise UsageError("--force and --append cannot be used together — pick one")
    if name is None:
        return None, None, None
    checked = names.ExpName(name)
    existing = repo.near([checked])
    old = existing.get(checked)
    if old is not None:
        if not (force or append):
            raise UsageError(
                f"experiment {checked!r} already exists — use --force to replace it or --append to add to it")
    else:
        repo.check_free(checked, existing)
    return checked, old, list(existing)


def save(
    repo: Repo,
    name: str | None = None,
    *,
    message: str | None = None,
    force: bool = False,
    append: bool = False,
    untracked: bool = True,
    pairs: list[tuple[str, str]] | None = None,
    baseline: str | None = None,
    prepared: tuple | None = None,
    command: str = "save",
    allow_large: bool = True,
    dvc: bool = False,
) -> Saved:
    """Snapshot the work tree as an experiment; the baseline defaults to HEAD.  Without
    ``allow_large``, untracked files over ``exp.largeFile`` are refused (``cautions``).
    With ``dvc``, as DVC keeps one (``save_dvc``)."""
    check_can_save(repo, command)
    if dvc and untracked and not allow_large:
        from git_exp import cautions

        cautions.refuse_large(repo, command)
    if dvc:
        return save_dvc(repo, name, message=message, force=force, append=append, untracked=untracked,
                        pairs=pairs, command=command)
    checked, old, existing = prepared or prepare_name(repo, name, force=force, append=append)
    head = repo.start_head() if baseline is None else None  # beside the snapshot's gits
    vet = None
    if untracked and not allow_large:
        from git_exp import cautions

        vet = cautions.Vetting(repo, command)  # untracked files over exp.largeFile: refused before they are hashed
    with stopped_on_error(head, vet and vet.configured):
        tree = snapshot(repo, untracked=untracked, vet=vet)
        base = baseline if baseline is not None else repo.head(head)
    parents = [base] if base else []
    if append and old:
        parents.append(old)  # the previous version stays reachable as second parent
    host, url = metadata.executor()
    trailer_pairs = pairs if pairs is not None else metadata.trailers(executor=host, run_url=url)
    text = metadata.message(message or f"git exp {command}", trailer_pairs)
    sha = commit_tree(repo, tree, parents, text)
    if checked is None and existing is None:
        existing = list(repo.near(names.choices(sha)))
    final = checked if checked is not None else names.generate(sha, existing)
    try:
        repo.transaction([(final.ref, sha, old or repo.zero)], f"git exp {command}: {final}")
    except RefMoved as exc:
        for ref, why in repo.odd(final.ref):
            if ref == final.ref:
                raise UsageError(f"cannot save as {names.shown(final)}: {ref} is {why}, which git-exp never writes "
                                 f"through — pick another name, or look at it with `git for-each-ref {ref}`") from None
        what = ("was changed by another process while saving" if exc.exists
                else "could not be written" if not exc.locked else "is being written by another git")
        raise ExpError(
            f"experiment {final!r} {what} ({exc}) — your snapshot is "
            f"commit {sha}; keep it with `git update-ref refs/exp/<other-name> {sha}`") from None
    return Saved(final, sha, old)


def save_dvc(repo: Repo, name: str | None, *, message: str | None, force: bool, append: bool, untracked: bool,
             pairs: list[tuple[str, str]] | None, command: str) -> Saved:
    """``save --dvc``: the snapshot as DVC keeps an experiment, a commit on HEAD under
    ``refs/exps/<2 hex of HEAD>/<the rest>/<name>`` (``dvc``), so ``dvc exp list/show/apply``
    see it; git-exp's trailers are in its message (DVC ignores them).  The name is
    ``dvc:NAME`` to git-exp."""
    from git_exp import dvc

    if append:
        raise UsageError("--dvc and --append cannot be used together — DVC keeps one commit per experiment "
                         "(save a new name, or --force to replace it)")
    base = repo.head()
    if not base:
        raise UsageError("--dvc needs a commit to be the baseline (DVC files an experiment under it) — commit first")
    if name is not None and dvc.is_label(name):
        name = name[len(dvc.MARK):]
    if name is not None and "/" in name:
        raise UsageError(f"invalid DVC experiment name {names.shown(name)}: a DVC name holds no / — "
                         "pick a name like 'lr-0.1'")
    checked = names.ExpName(name) if name is not None else None
    mine = {ref.rpartition("/")[2]: sha for ref, sha in dvc.listed(repo, under=dvc.ref_for(base, "")).items()}
    old = None
    if checked is not None and checked in mine:
        if not force:
            raise UsageError(f"DVC experiment {names.shown(dvc.label(checked))} already exists on this baseline — "
                             "use --force to replace it")
        old = mine[checked]
    tree = snapshot(repo, untracked=untracked)
    host, url = metadata.executor()
    trailer_pairs = pairs if pairs is not None else metadata.trailers(executor=host, run_url=url)
    text = metadata.message(message or f"git exp {command}", trailer_pairs)
    sha = commit_tree(repo, tree, [base], text)
    final = checked if checked is not None else names.generate(sha, mine)
    ref = dvc.ref_for(base, final)
    try:
        repo.transaction([(ref, sha, old or repo.zero)], f"git exp {command} --dvc: {final}")
    except RefMoved as exc:
        raise ExpError(f"DVC experiment {names.shown(dvc.label(final))} could not be written ({exc}) — your snapshot "
                       f"is commit {sha}; keep it with `git update-ref {ref} {sha}`") from None
    return Saved(dvc.label(final), sha, old)
