"""DVC's experiments: its ref layout, its names, and the files its ``dvc.yaml`` declares.

DVC (3.x) keeps an experiment as a commit whose parent is its baseline, under
``refs/exps/<first 2 hex of the baseline>/<the other hex digits>/<name>``
(``ExpRefInfo`` in DVC).  Beside them live DVC's internals, never shown or sent:
``refs/exps/celery/*`` (queued runs), ``refs/exps/exec/*`` (runs in progress), the stash
refs ``refs/exps/stash``, ``refs/exps/apply/stash``, ... — only a ref of exactly the
experiment shape is one.  Every ref name read (here or from a remote) is validated
(``name_of``): the two hex directories together as long as an object id, the name one
path component git-exp would accept (``names.problem``), so no ``/`` (DVC's rule too).

git-exp names them ``dvc:NAME`` (``:`` cannot be in a git-exp name, so the two never
clash); the same DVC name on two baselines is two experiments, and a command that takes
one refuses ``dvc:NAME`` then and names both full refs (``refs/exps/ab/cd.../NAME``),
which choose.  Remote-tracking copies (``git exp install --dvc REMOTE``'s fetch refspec)
live under ``refs/remote-exps/<remote>/<2 hex>/<hex>/<name>``: a namespace DVC never
reads, so a fetch does not make experiments appear to DVC; ``git exp pull`` creates the
real refs.

Params and metrics: the files ``dvc.yaml`` declares (``files``): ``params.yaml`` (DVC's
default params file), every stage's ``params`` entries (a key names params.yaml, a
``FILE: [keys]`` mapping names FILE; the whole file is shown), its ``metrics`` and the
top-level ``params`` and ``metrics`` lists; ``plots`` entries (stage and top level) are
metric histories (``history``).  ``dvc.yaml`` is data: read with ``results``' limits and
parser, never by importing DVC.
"""
from __future__ import annotations

from git_exp.names import problem

PREFIX = "refs/exps/"
REMOTE_PREFIX = "refs/remote-exps/"
MARK = "dvc:"
DVC_YAML = "dvc.yaml"
HEX = frozenset("0123456789abcdef")
MAX_PATHS = 100  # files one dvc.yaml may declare that we read


def name_of(ref: str, prefix: str = PREFIX, hexsz: int | None = None) -> str | None:
    """The DVC experiment name in ``ref`` (``prefix`` + ``2hex/hex/NAME``), or None when
    ``ref`` is no experiment ref (a DVC internal, or a name git-exp refuses)."""
    if not ref.startswith(prefix):
        return None
    parts = ref[len(prefix):].split("/")
    if len(parts) != 3:
        return None
    high, low, name = parts
    if len(high) != 2 or not HEX.issuperset(high) or not HEX.issuperset(low):
        return None
    if (hexsz is not None and len(high) + len(low) != hexsz) or len(high) + len(low) not in (40, 64):
        return None
    if problem(name):
        return None
    return name


def baseline_of(ref: str, prefix: str = PREFIX) -> str:
    """The baseline commit id in an experiment ref ``name_of`` accepted."""
    high, low, _ = ref[len(prefix):].split("/")
    return high + low


def ref_for(baseline: str, name: str, prefix: str = PREFIX) -> str:
    return f"{prefix}{baseline[:2]}/{baseline[2:]}/{name}"


def label(name: str) -> str:
    return MARK + name


def is_label(text: str) -> bool:
    return text.startswith(MARK)


def tracking_prefix(remote: str) -> str:
    return f"{REMOTE_PREFIX}{remote}/"


def filter_listing(shas: list[str], refs: list[str]) -> tuple[list[str], list[str]]:
    """``(shas, refs)`` without the refs under ``refs/exps/`` or ``refs/remote-exps/`` that
    are no experiment (DVC's internals, names refused)."""
    keep = []
    for i, (sha, ref) in enumerate(zip(shas, refs)):
        if ref.startswith(PREFIX):
            if name_of(ref, PREFIX, len(sha)) is None:
                continue
        elif ref.startswith(REMOTE_PREFIX):
            remote, _, rest = ref[len(REMOTE_PREFIX):].partition("/")
            if not remote or name_of(PREFIX + rest, PREFIX, len(sha)) is None:
                continue
        keep.append(i)
    if len(keep) == len(refs):
        return shas, refs
    return [shas[i] for i in keep], [refs[i] for i in keep]


def listed(repo, prefix: str = PREFIX, under: str | None = None, text: str | None = None) -> dict[str, str]:
    """``{ref: sha}`` of the DVC experiment refs under ``prefix`` (``refs/exps/`` or a
    remote's ``refs/remote-exps/<remote>/``), or only those ``under`` a baseline's
    directory there: one for-each-ref, no object read.  ``text``: that for-each-ref's
    output (``repo.refs_args``), when a listing of more refs read it already."""
    from git_exp.repo import usable

    if text is None:
        text = repo.run("for-each-ref", "--format=%(objectname)%09%(refname)%00%(symref)", "--", under or prefix).out
    raw = usable(text)
    found = {}
    for line in raw.splitlines():
        sha, _, ref = line.partition("\t")
        if name_of(PREFIX + ref[len(prefix):], PREFIX, len(sha)) is not None:
            found[ref] = sha
    return found


# -- dvc.yaml ------------------------------------------------------------------------------

def _entry_paths(entries, default_file: str | None = None) -> list[str]:
    """Paths named by a ``params``/``metrics``/``plots`` list: ``path`` or ``{path: ...}``;
    with ``default_file`` (a stage's params) a bare string is a key of that file."""
    if isinstance(entries, dict):  # top-level plots may be a mapping of path -> options
        entries = list(entries)
    if not isinstance(entries, list):
        return []
    found = []
    for entry in entries:
        if isinstance(entry, dict):
            found.extend(str(k) for k in entry)
        elif isinstance(entry, str):
            found.append(default_file or entry)
    return found


def declared(value) -> dict[str, list[str]]:
    """``{"params": [...], "metrics": [...], "plots": [...]}`` paths a parsed ``dvc.yaml`` declares."""
    out: dict[str, list[str]] = {"params": ["params.yaml"], "metrics": [], "plots": []}
    if not isinstance(value, dict):
        return out
    stages = value.get("stages")
    groups = [value]
    if isinstance(stages, dict):
        groups += [s for s in stages.values() if isinstance(s, dict)]
    for i, group in enumerate(groups):
        out["params"] += _entry_paths(group.get("params"), "params.yaml" if i else None)
        out["metrics"] += _entry_paths(group.get("metrics"))
        out["plots"] += _entry_paths(group.get("plots"))
    clean = {}
    for kind, paths in out.items():
        kept = [p.strip().lstrip("/") for p in paths if p and ".." not in p.split("/") and "\n" not in p]
        clean[kind] = list(dict.fromkeys(p for p in kept if p))[:MAX_PATHS]
    return clean


def files(repo, commits: list[str], max_size: int) -> dict[str, dict[str, list[str]]]:
    """``{commit: declared(its dvc.yaml)}`` for each of ``commits`` that has a readable
    ``dvc.yaml`` (one ``cat-file --batch-check`` and one ``--batch``, each distinct file
    read once); one that cannot be read (too large, does not parse, past the limits)
    declares nothing."""
    from git_exp import results

    commits = list(dict.fromkeys(commits))
    if not commits:
        return {}
    check = repo.run("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
                     input="".join(f"{c}:{DVC_YAML}\n" for c in commits)).out.splitlines()
    sizes, blob_of = {}, {}
    for commit, line in zip(commits, check):
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] == "blob" and parts[2].isdigit():
            sizes[parts[0]] = int(parts[2])
            blob_of[commit] = parts[0]
    parsed = {}
    for oid, data in results.read_blobs(repo, list(sizes), sizes, max_size):
        try:
            value = results.parse(DVC_YAML, data)
            results.flatten(value, "", {}, DVC_YAML)  # the limits on values and depth
        except results.Unreadable:
            continue
        parsed[oid] = declared(value)
    return {commit: parsed[oid] for commit, oid in blob_of.items() if oid in parsed}
