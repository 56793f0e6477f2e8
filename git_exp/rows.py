"""Reading experiment rows through git and the caches: the common columns of ``ls`` and
``show`` (how they are shown is ``present.rows``)."""
from __future__ import annotations

from git_exp import cache, git
from git_exp.names import PREFIX, REMOTE_PREFIX
from git_exp.repo import Exp, Repo, decodable, list_args

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing imports re (~12 ms)
    from typing import Any

CACHED = ("sha", "baseline", "created", "status", "exit_code", "duration", "executor", "command", "run_url", "message")
# the facts' "heads" section (``cache``): {commit: its base_row's CACHED values, or None for no commit},
# keyed by the trailer settings


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value.rstrip("s")) if value else None
    except ValueError:
        return None


def base_row(exp: Exp, remote: str | None = None) -> dict[str, Any]:
    code = _int(exp.trailers.get("Exp-Exit-Code"))
    status = exp.trailers.get("Exp-Status") or ("saved" if code is None else ("ok" if code == 0 else "failed"))
    return {
        "name": exp.name,
        "remote": remote,
        "sha": exp.sha,
        "baseline": exp.baseline,
        "created": exp.created,
        "status": status,
        "exit_code": code,
        "duration": _seconds(exp.trailers.get("Exp-Duration")),
        "executor": exp.trailers.get("Exp-Executor"),
        "command": exp.trailers.get("Exp-Command"),
        "run_url": exp.trailers.get("Exp-Run-URL"),
        "message": exp.subject,
    }


LISTING = "--format=%(objectname)%09%(refname)%09%(symref)"  # ``listed``: empty last field, no symbolic ref


def start_listing(repo: Repo | None = None, *, remotes: bool = False, refs: list[str] | None = None) -> git.Running:
    """Start the ref listing ``listed`` reads, in ``repo`` or here (before the repository
    has been looked at: it needs nothing from it): names and commits only, no object read
    (0.1 s at 100k); ``refs``: ``narrowed``'s patterns instead of every experiment."""
    from git_exp import dvc

    start = repo.start if repo is not None else git.start
    if refs is None:
        refs = [PREFIX, dvc.PREFIX, *([REMOTE_PREFIX, dvc.REMOTE_PREFIX] if remotes else [])]
    return start("for-each-ref", LISTING, "--", *refs).roomy()  # git writes on while Python starts


def narrowed(patterns: list[str], remotes: bool = False) -> list[str] | None:
    """``for-each-ref`` patterns that list every local experiment ``patterns`` (globs or
    names, as ``names.select`` reads them) may select, and few others; None when they
    cannot be narrowed (no pattern, ``remotes``, a pattern starting with a glob character).

    Each pattern's literal start ``L`` (up to its first ``*``, ``?`` or ``[``) becomes
    ``refs/exp/L*`` and ``refs/exp/L*/**`` (git's ``*`` stops at ``/``, ours does not): git
    seeks to ``refs/exp/L`` in packed refs or a reftable instead of reading every ref
    (10 of 100k: 4 ms against 130 ms), and the listing is then matched as before.  DVC's
    refs (``dvc:NAME``) are listed whole when a pattern may name one."""
    from git_exp import dvc
    from git_exp.names import GLOB_CHARS

    if not patterns or remotes:
        return None
    refs: list[str] = []
    for pattern in patterns:
        literal = pattern
        for at, char in enumerate(pattern):
            if char in GLOB_CHARS:
                literal = pattern[:at]
                break
        if not literal:
            return None
        refs += [f"{PREFIX}{literal}*", f"{PREFIX}{literal}*/**"] if literal != pattern else [PREFIX + literal]
        if literal[:4] == "dvc:"[:len(literal[:4])] and dvc.PREFIX not in refs:
            refs.append(dvc.PREFIX)
    return sorted(refs, key=lambda ref: ref.startswith(dvc.PREFIX))  # local ones first, as ``listed`` says


def listed(listing: git.Running) -> tuple[list[str], list[str]]:
    """``(shas, refs)`` from ``start_listing``'s output, local refs first, then DVC's
    (``refs/exps/``: only experiment refs, ``dvc.filter_listing``), then remote-tracking;
    no symbolic ref, no name that is not UTF-8 (``fields``): ``Reading`` to its end."""
    reading = Reading(listing)
    for _ in reading:
        pass
    return reading.shas, reading.refs


class Reading:
    """``start_listing``'s output split as git prints it, block by block (100k refs: 6.5
    MB, ~20 ms to split, while git still writes): iterating it reads one more block each
    step, and ``shas`` and ``refs`` hold what has come so far, in git's order (sorted by
    refname); once the iteration ends they are ``listed``'s, DVC's refs filtered.  The
    local names come too (``Refs.local``), so that nothing is left to split once git ends
    (100k: ~15 ms where ``split_names`` did it after)."""

    def __init__(self, listing: git.Running) -> None:
        self.listing, self.shas, self.refs = listing, [], Refs()

    def __iter__(self):
        shas, refs, dvc_refs, local = self.shas, self.refs, False, []
        for text in _pieces(self.listing):
            block = fields(text)
            shas += block[0::2]
            mine = block[1::2]
            refs += mine
            dvc_refs = dvc_refs or "\trefs/exps/" in text or "\trefs/remote-exps/" in text
            if local is not None:  # sorted: once a ref is not local, none after it is
                if refs and not refs[-1].startswith(PREFIX):
                    local = None
                else:
                    local += [ref[len(PREFIX):] for ref in mine]
            yield
        if dvc_refs:
            from git_exp import dvc

            self.shas, self.refs = shas, refs = dvc.filter_listing(shas, refs)
            local = None
        if isinstance(refs, Refs):
            refs.local = local

    def all_local(self, count: int) -> bool:
        """Whether the first ``count`` refs are listed already and all local experiments."""
        return len(self.refs) >= count and (count == 0 or self.refs[count - 1].startswith(PREFIX))


class Refs(list):
    """``listed``'s refs; ``local``: their names when all are local experiments, made as
    the listing came in (else None), for ``split_names``."""

    local: list[str] | None = None


def _pieces(listing: git.Running):
    """``listing``'s output as text, in whole lines, block by block while git writes, or
    at once when it is read already (or read by a thread: ``Running.background``)."""
    if listing.result is not None or listing.thread is not None or listing.proc is not None:
        yield listing.wait().out
        return
    rest, read, blocks = b"", 0, []
    streams = git.Streams()
    streams.add(listing)
    for _one, block in streams:
        blocks.append(block)
        read += len(block)
        if read > git.PIPE_SIZE:  # a long listing that git still writes: look at the pipe less often
            streams.pace = PACE
        end = block.rfind(b"\n") + 1
        if not end:
            rest += block
            continue
        yield (rest + block[:end] if rest else block[:end]).decode("utf-8", "surrogateescape")
        rest = block[end:]
    if rest:  # pragma: no cover - git ends each line
        yield rest.decode("utf-8", "surrogateescape")
    done = listing.result  # Streams keeps no output: for a later ``listing.wait()``, as after any other read
    listing.result = git.Result(done.returncode, b"".join(blocks), done.stderr)


PACE = 0.002  # seconds between looks at a long listing's pipe (``git.Streams``): blocks of ~100 KB, not 4 KiB


def fields(text: str) -> list[str]:
    """``[sha, refname, sha, refname, ...]`` of ``LISTING`` lines (``<sha> TAB <refname> TAB
    <symref target>``), leaving out symbolic refs and names that are not UTF-8 (read with
    ``surrogateescape``).  ASCII text is split once on whitespace, in C: ref names hold
    none, so each line gives two fields exactly when no target follows (at 100k: ~20 ms,
    where a replace of the NULs, one of the newlines and a split on tabs took ~50)."""
    if text.isascii():
        flat = text.split()
        if len(flat) == 2 * text.count("\n"):
            return flat
    flat = []
    for line in text.split("\n"):
        sha, _, rest = line.partition("\t")
        ref, _, target = rest.partition("\t")
        if ref and not target and decodable(ref):
            flat += (sha, ref)
    return flat


FEW = 1000  # a narrowed listing (``narrowed``) of at most this many experiments is read without the caches:
#            reading them costs what they are (~20 ms for 1000), loading a cache file what every experiment is


def split_names(refs: list[str], remotes: bool) -> tuple[list[str], list[str | None]]:
    """``(names, remotes)`` of ``listed``'s refs: None for a local experiment; a DVC
    experiment is named ``dvc:NAME`` (``dvc``)."""
    if not refs or (not remotes and refs[-1].startswith(PREFIX)):  # no DVC experiment: the quick way
        local = getattr(refs, "local", None)
        if local is None or len(local) != len(refs):
            local = [ref[len(PREFIX):] for ref in refs]
        return local, [None] * len(refs)
    local = sum(1 for ref in refs if ref.startswith(PREFIX))
    names = [ref[len(PREFIX):] for ref in refs[:local]]
    owners: list[str | None] = [None] * local
    for ref in refs[local:]:
        if ref.startswith("refs/exps/"):
            owners.append(None)
            names.append("dvc:" + ref.rpartition("/")[2])
            continue
        dvc_ref = ref.startswith("refs/remote-exps/")
        remote, _, name = ref[len("refs/remote-exps/" if dvc_ref else REMOTE_PREFIX):].partition("/")
        owners.append(remote)
        names.append("dvc:" + name.rpartition("/")[2] if dvc_ref else name)
    return names, owners


def labels(names: list[str], owners: list[str | None]) -> list[str]:
    """How experiments are named to the user: ``NAME``, or ``REMOTE/NAME`` for a
    remote-tracking one (``split_names`` gives the two columns)."""
    return [f"{owner}/{name}" if owner else name for name, owner in zip(names, owners)]


def load(repo: Repo, *, remotes: bool = False, listing: git.Running | None = None,
         refs: list[str] | None = None, trailers: str | None | git.Running = ...,
         unknown=None) -> list[dict[str, Any]]:
    """Every experiment's ``base_row``, local ones first, then (with ``remotes``) the
    remote-tracking ones, each sorted by name; ``listing`` is ``start_listing``'s (with
    ``refs``, ``narrowed``'s patterns: only the experiments they list); ``trailers``: the
    cache key of the trailer settings (``cache.trailer_key``), or the ``git config`` that
    prints them (``cache.TRAILER_CONFIG``), started here if not given; ``unknown``: called
    with the listed commits the facts do not know before they are read (``show`` starts
    what it will need of them, to run while git and Python read the commits).

    The fields after name and remote come from the commit alone, so they are cached per
    commit (the facts' ``heads``, as tuples: at 10k, 11 ms to read back where dicts took 25):
    when every listed commit is known, nothing else is read, where the listing of
    subjects and trailers reads every commit (10k: ~50 ms of git, ~30 ms to parse).
    """
    narrow = [ref for ref in refs if ref.startswith(PREFIX)] if refs else []
    listing = listing or start_listing(repo, remotes=remotes, refs=refs)
    if trailers is ...:
        trailers = repo.start(*cache.TRAILER_CONFIG)
    if isinstance(trailers, git.Running):
        trailers = cache.trailer_key(trailers.wait(check=False).out)
    where = cache.of_commits(repo, "heads")
    if narrow:  # a few of many: the listing is instant, and loading every cached row is not
        shas, refs = listed(listing)
        if len(shas) <= FEW:
            where = None  # neither read nor written: the rows of a few commits cost less than the file
    known = cache.load(where, trailers)  # while git lists the refs
    if not narrow:
        shas, refs = listed(listing)
    if all(sha in known for sha in shas):
        names, owners = split_names(refs, remotes)
        return [{"name": name, "remote": owner, **dict(zip(CACHED, known[sha]))}
                for name, owner, sha in zip(names, owners, shas) if known[sha] is not None]
    missing = [] if narrow else list(dict.fromkeys(sha for sha in shas if sha not in known))
    if len(missing) >= LOGS_FROM:  # many: read by git logs beside each other, each parsed while others run
        if unknown is not None:
            unknown(missing)
        _read_logs(repo, missing, known)
        cache.save(where, known, trailers, listed=shas)
        names, owners = split_names(refs, remotes)
        return [{"name": name, "remote": owner, **dict(zip(CACHED, known[sha]))}
                for name, owner, sha in zip(names, owners, shas) if known.get(sha) is not None and decodable(name)]
    found, others = [], []
    prefixes = (PREFIX, REMOTE_PREFIX)[:2 if remotes else 1]
    started = [repo.start(*list_args(prefix, patterns=narrow if prefix == PREFIX else ())) for prefix in prefixes]
    with git.stopped_on_error(*started):
        if unknown is not None:
            unknown([sha for sha in shas if sha not in known])
        for prefix, running in zip(prefixes, started):
            for exp in repo.each(prefix, running=running, skipped=others):
                remote = None
                if prefix == REMOTE_PREFIX:
                    remote, _, exp.name = exp.name.partition("/")
                found.append(base_row(exp, remote))
    for row in found:
        known[row["sha"]] = tuple(row[key] for key in CACHED)
    known.update(dict.fromkeys(others))  # no commit: a blob, tree or tag, and so for ever
    unread = [sha for sha, ref in zip(shas, refs) if sha not in known and "/exps/" in ref[:17]]
    if unread:  # DVC's experiments (refs/exps/, refs/remote-exps/): by id
        _read_dvc(repo, unread, known)
    cache.save(where, known, trailers, listed=None if narrow else shas)  # a narrowed listing: not all
    if len(found) == len(shas):
        return found
    names, owners = split_names(refs, remotes)
    return [{"name": name, "remote": owner, **dict(zip(CACHED, known[sha]))}
            for name, owner, sha in zip(names, owners, shas) if known.get(sha) is not None]


def heads(repo: Repo, *, remotes: bool = False, listing: git.Running | None = None,
          trailers: str | None = None) -> tuple[list[str], list[str | None], list[str], dict]:
    """``(names, owners, shas, known)`` of every experiment ``load`` lists (in its order,
    commits only), ``known`` each commit's ``CACHED`` values as a tuple, read by
    ``_read_logs`` where the facts lack them, and saved: ``load`` without building a row
    of each (at 100k, ~115 MB of dicts), for a caller that builds rows a part at a time
    (``commands.show_cold``)."""
    where = cache.of_commits(repo, "heads")
    known = cache.load(where, trailers)
    shas, refs = listed(listing or start_listing(repo, remotes=remotes))
    missing = list(dict.fromkeys(sha for sha in shas if sha not in known))
    if missing:
        _read_logs(repo, missing, known)
        cache.save(where, known, trailers, listed=shas)
    names, owners = split_names(refs, remotes)
    keep = [known.get(sha) is not None for sha in shas]
    if not all(keep):
        names, owners, shas = ([v for v, kept in zip(column, keep) if kept] for column in (names, owners, shas))
    return names, owners, shas, known


SHARED = ("baseline", "status", "executor")  # values most rows share (``_read_logs`` keeps one of each)
LOGS_FROM = 2000  # unknown commits from which ``load`` reads them with ``_read_logs``
LOG_PART = 10_000  # commits per git log of ``_read_logs``
LOGS_AT_ONCE = 2


def _read_logs(repo: Repo, shas: list[str], known: dict) -> None:
    """Put the ``CACHED`` values of the distinct commits ``shas`` in ``known`` (None for an
    object that is no commit), from ``git log --no-walk=unsorted --stdin`` of LOG_PART
    commits each, LOGS_AT_ONCE at a time, each read by a thread and parsed while the next
    run.  A single ``for-each-ref`` of subjects and trailers prints nothing until it has
    read every commit (at 100k, ~1 s that Python could only wait through).  log passes
    over blobs and trees and prints a tag's commit instead of the tag: an object whose
    own id it did not print is no commit."""
    from sys import intern

    from git_exp.repo import Exp, parse_trailers
    from git_exp.revisions import LOG_FIELDS

    sep = "\x1f"
    fmt = f"--format={sep.join(LOG_FIELDS)}%x00"
    parts = [shas[at:at + LOG_PART] for at in range(0, len(shas), LOG_PART)]

    def start(part: list[str]) -> git.Running:
        return repo.start("log", "--no-walk=unsorted", "--stdin", fmt, input="".join(f"{sha}\n" for sha in part)
                          ).background()

    running = [start(part) for part in parts[:LOGS_AT_ONCE]]
    try:
        for at, part in enumerate(parts):
            result = running[at].wait()
            raw = result.stdout.decode("utf-8", "surrogateescape")
            result.stdout = b""
            if at + LOGS_AT_ONCE < len(parts):
                running.append(start(parts[at + LOGS_AT_ONCE]))
            for record in raw.split("\0"):
                record = record.strip("\n")
                if not record:
                    continue
                sha, parents, created, subject, trailers = (record.split(sep) + [""] * 5)[:5]
                row = base_row(Exp("", sha, parents.split(), int(created or 0), subject, parse_trailers(trailers)))
                for key in SHARED:  # one string for every row: at 100k, ~20 MB less
                    if row[key] is not None:
                        row[key] = intern(row[key])
                known[sha] = tuple(map(row.__getitem__, CACHED))
            for sha in part:
                if sha not in known:
                    known[sha] = None  # a blob, a tree or a tag: no commit, for ever
    except BaseException:
        for one in running:
            one.kill()
        raise


def _read_dvc(repo: Repo, shas: list[str], known: dict) -> None:
    """Put the ``CACHED`` values of the commits ``shas`` in ``known`` (None for an object
    that is no commit)."""
    from git_exp.commands.pull import object_types
    from git_exp.revisions import commits

    kinds = object_types(repo, shas)
    read = commits(repo, [sha for sha in dict.fromkeys(shas) if kinds.get(sha) == "commit"])
    for sha in shas:
        exp = read.get(sha)
        if exp is None:
            known[sha] = None
        else:
            row = base_row(exp)
            known[sha] = tuple(row[key] for key in CACHED)


def limited(items: list, limit: int | None, reverse: bool) -> list:
    """``items`` (in the order shown) cut to ``limit``, then reversed if asked (``show``'s
    ``-n`` and ``--reverse``, as ``git log -n N --reverse``); a negative ``limit`` is a
    usage error."""
    if limit is not None and limit < 0:
        from git_exp.errors import UsageError

        raise UsageError(f"-n takes a count of 0 or more, not {limit} — e.g. -n 10")
    if limit is not None:
        items = items[:limit]
    return items[::-1] if reverse else items


def with_files(repo: Repo, found: list[dict[str, Any]], files=None, *, complete: bool = False,
               cached: bool = True, changes=None, kept: dict | None = None) -> dict[str, None]:
    """Add each row's params and metrics (``results.read``) to ``found``; return the keys
    they brought, in order.  ``files`` is ``results.start_files``'s git or the configured
    files; ``complete``: ``found`` holds every experiment (the row cache may drop others);
    ``changes``: a ``results.Changes`` to share; ``kept``: ``results.read``'s."""
    from git_exp import results

    files = files if isinstance(files, dict) else results.configured_files(repo, files)
    data = results.read(repo, {row["sha"]: row["baseline"] for row in found}, files, complete=complete, cached=cached,
                        changes=changes, kept=kept)
    extra: dict[str, None] = {}
    for row in found:
        values = data.get(row["sha"])
        if values:
            row.update(values)
            extra.update(dict.fromkeys(values))
    return extra

