"""Naming an experiment: ``NAME``, ``REMOTE/NAME``, and versions ``NAME~N`` / ``NAME^``.

Every command that takes one experiment (``show``, ``diff``, ``apply``, ``branch``,
``log``, ``history``) resolves what the user typed here, with one rule:

- ``NAME`` is the local experiment ``refs/exp/NAME``.
- ``REMOTE/NAME`` (as ``ls -r`` prints it) is the remote-tracking experiment
  ``refs/remote-exp/REMOTE/NAME``.  A name may hold ``/`` itself, so ``a/b`` may be the
  local ``a/b`` or remote ``a``'s ``b``: when only one exists it is that one; when both
  exist it is an error naming both (nothing is guessed), and the full ref names
  ``refs/exp/a/b`` and ``refs/remote-exp/a/b`` choose.
- ``~N`` after any of these is the N-th previous version (``save --append`` makes a
  version a commit whose second parent is the previous version, the first being its
  baseline), ``~`` and ``^`` are ``~1``, and suffixes add up (``NAME^^`` is ``NAME~2``).
  Unlike git's ``^``, ``NAME^`` is the previous version, not the baseline; ``^N`` is
  refused rather than read one way or the other.

What the user typed is never handed to git as a revision: the name is validated
(``names.ExpName``), looked up as an exact ref with ``for-each-ref``, and versions are
found by reading the commits' parents (``cat-file``), one git per version walked.
A version that does not exist is a usage error (exit 2) that says how many there are.
"""
from __future__ import annotations

from git_exp import names
from git_exp.errors import UsageError
from git_exp.names import PREFIX, REMOTE_PREFIX, shown
from git_exp.record import Record
from git_exp.repo import Exp, Repo, parse_trailers

MAX_STEPS = 1_000_000  # a version suffix past this is refused before any walking
SUFFIX_CHARS = frozenset("~^")


class Target(Record):
    """A resolved experiment: ``label`` as the user sees it (``origin/a~1``), the
    experiment's ``name`` and ``remote`` (None: local), ``version`` (0: the ref's own
    commit), its ``ref`` and the ``sha`` of that version."""

    __slots__ = ("label", "name", "remote", "version", "ref", "sha")


def has_version(spec: str) -> bool:
    """Whether ``spec`` carries a version suffix (names never hold ``~`` or ``^``)."""
    return any(c in SUFFIX_CHARS for c in spec)


def split(spec: str) -> tuple[str, int]:
    """``(base, version)`` of ``NAME~2`` / ``NAME^^`` / ``NAME``; UsageError for a suffix
    that is not a version."""
    base, suffix = _cut(spec)
    return base, _version(spec, base, suffix)


def _cut(spec: str) -> tuple[str, str]:
    cut = next((i for i, c in enumerate(spec) if c in SUFFIX_CHARS), len(spec))
    return spec[:cut], spec[cut:]


def _version(spec: str, base: str, rest: str) -> int:
    version, i = 0, 0
    while i < len(rest):
        mark = rest[i]
        i += 1
        digits = ""
        while i < len(rest) and rest[i].isdigit() and rest[i].isascii():
            digits += rest[i]
            i += 1
        if mark == "^" and digits:
            raise UsageError(f"cannot read {shown(spec)}: `^{digits}` is git's parent syntax — write "
                             f"{shown(base + '~1')} for the previous version (NAME^ is NAME~1, NAME~N the N-th before)")
        if mark not in SUFFIX_CHARS:
            raise UsageError(f"cannot read {shown(spec)}: a version is written NAME~N or NAME^ — "
                             "nothing may follow it")
        if len(digits) > 7 or (digits and int(digits) > MAX_STEPS):
            raise UsageError(f"cannot read {shown(spec)}: version {digits[:12]} is too far back — "
                             f"`git exp log {base}` lists the versions")
        version += int(digits) if digits else 1
    if not base:
        raise UsageError(f"cannot read {shown(spec)}: a version needs an experiment name before it, as in NAME~1")
    return version


def candidates(base: str) -> list[tuple[str | None, str]]:
    """``(remote or None, name)`` pairs ``base`` may mean (see the module's rule)."""
    if base.startswith(PREFIX):
        return [(None, names.ExpName(base[len(PREFIX):]))]
    if base.startswith(REMOTE_PREFIX):
        remote, _, name = base[len(REMOTE_PREFIX):].partition("/")
        if names.remote_problem(remote) or not name:
            raise UsageError(f"cannot read {shown(base)}: write refs/remote-exp/REMOTE/NAME")
        return [(remote, names.ExpName(name))]
    found = [(None, names.ExpName(base))]
    remote, _, name = base.partition("/")
    if name and not names.remote_problem(remote) and not names.problem(name):
        found.append((remote, name))
    return found


def ref_of(remote: str | None, name: str) -> str:
    return f"{REMOTE_PREFIX}{remote}/{name}" if remote else PREFIX + name


def label_of(remote: str | None, name: str, version: int = 0) -> str:
    return (f"{remote}/{name}" if remote else name) + (f"~{version}" if version else "")


def _lookup(repo: Repo, refs: list[str]) -> dict[str, str]:
    """``{ref: sha}`` for those of ``refs`` that exist as refs to a commit (no symbolic ref)."""
    fmt = "%(objectname)%09%(objecttype)%09%(refname)%00%(symref)"
    raw = repo.run("for-each-ref", f"--format={fmt}", "--", *refs).out
    wanted, found = set(refs), {}
    for line in raw.splitlines():
        head, _, symref = line.partition("\0")
        sha, kind, ref = (head.split("\t") + ["", ""])[:3]
        if ref in wanted and kind == "commit" and not symref:
            found[ref] = sha
    return found


def resolve(repo: Repo, spec: str) -> Target:
    """The experiment version ``spec`` names; UsageError (exit 2) when there is none or
    it could be two."""
    found = find(repo, spec)
    if found is None:
        base = _cut(spec)[0]
        if len(candidates(base)) > 1:
            raise UsageError(f"no experiment named {shown(base)}, local or remote-tracking — "
                             "`git exp ls -r` lists them")
        raise UsageError(f"no experiment named {shown(base)} — `git exp ls` lists them")
    return found


def find(repo: Repo, spec: str) -> Target | None:
    """``resolve``, but None when no experiment has the name before the version suffix
    (or it cannot be an experiment name): ``diff``'s B may then be any commit."""
    base, suffix = _cut(spec)
    if not base:
        _version(spec, base, suffix)  # says what is missing
    if _is_dvc(base):
        return _find_dvc(repo, spec, base, suffix)
    try:
        options = candidates(base)
    except UsageError:
        if base.startswith((PREFIX, REMOTE_PREFIX)):
            raise
        return None  # not a name: resolve says why
    found = _lookup(repo, [ref_of(r, n) for r, n in options])
    hits = [(r, n) for r, n in options if ref_of(r, n) in found]
    if not hits:
        return None
    if len(hits) > 1:
        (_, local), (remote, name) = hits
        raise UsageError(
            f"{shown(base)} is ambiguous: local experiment {shown(local)} and {shown(name)} of remote "
            f"{shown(remote)} both exist — write refs/exp/{local} or refs/remote-exp/{remote}/{name}")
    version = _version(spec, base, suffix)
    remote, name = hits[0]
    ref = ref_of(remote, name)
    sha = found[ref]
    if version:
        chain = versions(repo, sha, version + 1)
        if len(chain) <= version:
            label = label_of(remote, name)
            have = "only this version" if len(chain) == 1 else f"{len(chain)} versions, {label} to {label}~{len(chain) - 1}"
            raise UsageError(f"{shown(label)} has no version ~{version}: it has {have} — "
                             f"`git exp log {label}` lists them")
        sha = chain[version]
    return Target(label_of(remote, name, version), name, remote, version, ref, sha)


def _is_dvc(base: str) -> bool:
    return base.startswith(("dvc:", "refs/exps/", "refs/remote-exps/")) or "/dvc:" in base


def _find_dvc(repo: Repo, spec: str, base: str, suffix: str) -> Target | None:
    """A DVC experiment (``dvc``): ``dvc:NAME``, ``REMOTE/dvc:NAME``, or its full ref
    ``refs/exps/ab/cd.../NAME`` (``refs/remote-exps/REMOTE/ab/cd.../NAME``); the same
    name on two baselines is refused, naming both refs."""
    from git_exp import dvc

    remote = None
    if base.startswith(("refs/exps/", "refs/remote-exps/")):
        prefix = dvc.PREFIX
        if base.startswith(dvc.REMOTE_PREFIX):
            remote, _, rest = base[len(dvc.REMOTE_PREFIX):].partition("/")
            if names.remote_problem(remote):
                raise UsageError(f"cannot read {shown(base)}: write refs/remote-exps/REMOTE/XX/HEX/NAME")
            prefix = dvc.tracking_prefix(remote)
        if dvc.name_of(dvc.PREFIX + base[len(prefix):], hexsz=repo.hexsz) is None:
            raise UsageError(f"cannot read {shown(base)}: no DVC experiment ref (refs/exps/XX/HEX/NAME) — "
                             "`git exp ls` lists them")
        pattern, name = base, base.rpartition("/")[2]
    else:
        owner, _, name = base.partition("dvc:")
        if owner:
            remote = owner[:-1]
            if names.remote_problem(remote):
                raise UsageError(f"cannot read {shown(base)}: write dvc:NAME or REMOTE/dvc:NAME")
        if "/" in name or names.problem(name):
            raise UsageError(f"invalid DVC experiment name {shown(name)}: "
                             f"{names.problem(name) or 'a DVC name holds no /'} — `git exp ls` lists them")
        prefix = dvc.tracking_prefix(remote) if remote else dvc.PREFIX
        pattern = f"{prefix}*/*/{name}"
    found = {ref: sha for ref, sha in dvc.listed(repo, prefix).items()
             if ref == pattern or ("*" in pattern and ref.rpartition("/")[2] == name)}
    if not found:
        return None
    if len(found) > 1:
        first, second = sorted(found)[:2]
        raise UsageError(f"{shown(base)} is ambiguous: DVC has it on {len(found)} baselines — "
                         f"write its ref, {first} or {second}")
    version = _version(spec, base, suffix)
    ref, sha = next(iter(found.items()))
    label = (f"{remote}/" if remote else "") + dvc.label(name)
    if version:
        chain = versions(repo, sha, version + 1)
        if len(chain) <= version:
            raise UsageError(f"{shown(label)} has no version ~{version}: it has only this version — "
                             f"`git exp log {label}` lists them")
        sha = chain[version]
    return Target(label + (f"~{version}" if version else ""), dvc.label(name), remote, version, ref, sha)


def parents(repo: Repo, sha: str) -> list[str]:
    """The parents of commit ``sha`` (an id git gave us, never user text), from its header."""
    raw = repo.run("cat-file", "commit", sha).out
    found = []
    for line in raw.split("\n"):
        if not line:
            break  # end of the header
        if line.startswith("parent "):
            found.append(line[7:].strip())
    return found


def versions(repo: Repo, sha: str, limit: int | None = None) -> list[str]:
    """The versions of the experiment at ``sha``, newest first: ``sha``, then each
    commit's second parent while there is one (at most ``limit``)."""
    chain, seen = [sha], {sha}
    while limit is None or len(chain) < limit:
        above = parents(repo, chain[-1])
        if len(above) < 2 or above[1] in seen:
            break
        chain.append(above[1])
        seen.add(above[1])
    return chain


LOG_FIELDS = ("%H", "%P", "%ct", "%s", "%(trailers:only,unfold,key_value_separator=: )")  # as repo.list_args


def commits(repo: Repo, shas: list[str]) -> dict[str, Exp]:
    """``{sha: Exp}`` of commits named by id (names left empty), in one ``git log``."""
    if not shas:
        return {}
    sep = "\x1f"
    raw = repo.run("log", "--no-walk=unsorted", "--stdin", f"--format={sep.join(LOG_FIELDS)}%x00",
                   input="".join(f"{s}\n" for s in dict.fromkeys(shas))).out
    found = {}
    for record in raw.split("\0"):
        record = record.strip("\n")
        if not record:
            continue
        sha, parent_ids, created, subject, trailers = (record.split(sep) + [""] * 5)[:5]
        found[sha] = Exp("", sha, parent_ids.split(), int(created or 0), subject, parse_trailers(trailers))
    return found


def rows(repo: Repo, targets: list[Target]) -> list[dict]:
    """``rows.base_row`` of each target, named by its label (``show``'s rows)."""
    from git_exp.rows import base_row

    read = commits(repo, [t.sha for t in targets])
    found = []
    for target in targets:
        exp = read[target.sha]
        exp.name = target.name + (f"~{target.version}" if target.version else "")
        found.append(base_row(exp, target.remote))
    return found
