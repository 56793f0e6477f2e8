"""Seeing a remote's experiments without pulling them: commits, trees and the few result
files (``show REMOTE``, ``diff REMOTE/NAME``), in a private object store.

What git does (checked with git 2.39.5 and 2.47.3): ``git fetch --filter=blob:none
origin ...`` in a repository that is not a partial clone does not refuse; it silently
makes it one, writing ``remote.origin.promisor=true`` and
``remote.origin.partialclonefilter=blob:none`` into ``.git/config`` (and raising
``core.repositoryformatversion`` to 1).  From then on every command that meets a
missing blob fetches it from origin one at a time, and later fetches are filtered.
That is the silent change the user must never get.  So nothing here fetches into the
user's object store or writes a ref:

- **The store** is a bare object directory, ``<git common dir>/git-exp/peek/objects``,
  and nothing else: no refs, no config.  Every git that writes or reads it runs in the
  user's repository with ``GIT_OBJECT_DIRECTORY`` pointing at the store and
  ``GIT_ALTERNATE_OBJECT_DIRECTORIES`` at the user's objects (``View``): the user's
  baselines are found there, so they are neither fetched again nor copied, and the
  user's remotes, ssh command, credential helpers and ``insteadOf`` all apply.  The
  user's repository never points at the store, so its refs reach only its own objects
  (``git fsck`` and ``git gc`` see nothing new), and ``git exp pull`` later fetches
  whole experiments as before.  ``git exp gc`` deletes the store (``forget``).
- **The fetch** is ``git fetch --filter=blob:none --stdin REMOTE`` of the experiments'
  commit ids, with ``--no-write-fetch-head --refmap= --no-tags`` (no ref, not even a
  remote-tracking one git would otherwise update opportunistically), no auto gc, no
  submodules, and ``remote.<R>.promisor=true`` and ``remote.<R>.partialclonefilter=blob:none``
  given to that one git only (``GIT_CONFIG_KEY_<n>``, as ``-c`` would, but a URL may hold
  the '=' that ``-c`` splits at): git then finds the remote already registered and writes no
  config, and its connectivity check knows the blobs are promised.  Then the blobs
  ``show`` reads (params, metrics, history files: ``needed``) are listed from the
  trees with one ``diff-tree --stdin`` against the empty tree, restricted to those
  paths, and fetched by id in one more ``git fetch --stdin``.  Reading never fetches:
  the store is not a promisor, so a blob not fetched is an error, not a lazy download.
- **Without filters** (``uploadpack.allowFilter`` off) git says "filtering not
  recognized by server" and fetches the commits whole: ``fetch`` reports it (``whole``)
  and ``show`` says so once.  A server that refuses objects by id (protocol v0 without
  ``uploadpack.allowAnySHA1InWant``; protocol v2 serves them) gets the commits fetched
  again whole (``--refetch``), said the same way.

Measured by ``make bench`` (``show-remote-1k``): see tests/bench.  A second ``show
REMOTE`` costs the ``ls-remote``, one ``cat-file --batch-check`` of the listed commits
against the store, and the caches of ``rows``, ``results`` and ``history`` (keyed by
commit, shared with the local rows: a commit's row is the same wherever it is read).
"""
from __future__ import annotations

import os

from git_exp.record import Record
from git_exp.repo import Repo

EMPTY_TREE = {
    "sha1": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "sha256": "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
}
NOT_FILTERED = "filtering not recognized by server"
FETCH = ("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--refmap=", "--no-prune",
         "--recurse-submodules=no", "--no-auto-gc", "--no-auto-maintenance", "--no-show-forced-updates")


def store(repo: Repo) -> str:
    return os.path.join(repo.common_dir, "git-exp", "peek", "objects")


def forget(repo: Repo) -> None:
    """Delete the store (``git exp gc``): nothing outside it points into it."""
    import shutil

    shutil.rmtree(os.path.dirname(store(repo)), ignore_errors=True)


def _quoted(path: str) -> str:
    """An entry of ``GIT_ALTERNATE_OBJECT_DIRECTORIES`` (':'-separated; C-quoted when it must be)."""
    if ":" not in path and not path.startswith('"'):
        return path
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


class View(Repo):
    """The user's repository with the store as its object directory and the user's
    objects as an alternate: reads see both, writes go to the store."""

    def __init__(self, repo: Repo):  # not super().__init__: that would look the repository up again
        self.__dict__.update(repo.__dict__)
        self.store = store(repo)
        self.env = {"GIT_OBJECT_DIRECTORY": self.store,
                    "GIT_ALTERNATE_OBJECT_DIRECTORIES": _quoted(os.path.join(repo.common_dir, "objects")),
                    "GIT_NO_LAZY_FETCH": "1"}  # git >= 2.44; before, the store is no promisor anyway
        os.makedirs(self.store, exist_ok=True)  # git finds no repository while its object directory is missing

    def run(self, *args: str, **kw):
        kw["env"] = {**self.env, **(kw.get("env") or {})}
        return super().run(*args, **kw)

    def start(self, *args: str, **kw):
        kw["env"] = {**self.env, **(kw.get("env") or {})}
        return super().start(*args, **kw)


class Fetched(Record):
    """What ``fetch`` did: commits and blobs fetched, and ``whole``: why the experiments
    came whole (no filter, no object by id), or None."""

    __slots__ = ("commits", "blobs", "whole")
    _defaults = {"commits": 0, "blobs": 0, "whole": None}


def needed(view: View, commits: list[str], paths: tuple[str, ...]) -> list[str]:
    """The ids of the blobs at ``paths`` (files, or directories: everything below) in the
    trees of ``commits``, from one ``diff-tree --stdin`` of each tree against the empty
    tree: trees only, no blob read."""
    if not commits:
        return []
    trees = view.run("log", "--no-walk=unsorted", "--stdin", "--format=%T",
                     input="".join(f"{c}\n" for c in commits)).out.split()
    empty = EMPTY_TREE[view.object_format]
    raw = view.run("--literal-pathspecs", "diff-tree", "-r", "-z", "--no-renames", "--stdin", "--", *paths,
                   input="".join(f"{empty} {t}\n" for t in dict.fromkeys(trees))).out
    oids: dict[str, None] = {}
    for field in raw.split("\0"):
        field = field.rpartition("\n")[2]  # each tree pair's header line ends in a newline, not a NUL
        if field.startswith(":"):
            parts = field.split()
            if len(parts) >= 4 and parts[1] != "160000":  # not a submodule's commit
                oids[parts[3]] = None
    return list(oids)


def _record(view: View):
    """Where the store remembers which commits it holds with their result files,
    ``{commit: None}``: the ``fetched`` section of a facts file (``cache``) inside it, so
    that deleting the store forgets them too."""
    from git_exp import cache

    return cache.Where(os.path.join(os.path.dirname(view.store), cache.NAME), "fetched")


def _missing(view: View, commits: list[str]) -> list[str]:
    """Those of ``commits`` neither fetched into the store before (its record) nor named
    by one of the user's experiment refs (then the user's objects hold them whole).  A
    ``cat-file --batch-check`` would say it too, but git rescans the pack directories
    after each object it does not find: 60 ms for 1k missing commits here, 0.6 s at 10k,
    where the record and one ``for-each-ref`` cost a few ms."""
    from git_exp import cache
    from git_exp.repo import sha_map

    recorded = cache.load(_record(view))
    left = [sha for sha in dict.fromkeys(commits) if sha not in recorded]
    if left:
        named = set(sha_map(view.start_refs("refs/").wait().out, "refs/").values())
        left = [sha for sha in left if sha not in named]
    return left


def fetch(repo: Repo, remote, commits: list[str], paths: tuple[str, ...]) -> tuple[View, Fetched]:
    """Bring ``commits`` (and their trees) into the store, blob-less where the remote
    allows filters, then the blobs at ``paths``.  TransportError when git could not
    talk to the remote; nothing is written outside the store."""
    from git_exp import cache

    view = View(repo)
    done = Fetched()
    missing = _missing(view, commits)
    if not missing:
        return view, done
    record = cache.load(_record(view))
    _store(view, remote, missing, paths, done)
    record.update(dict.fromkeys(missing))
    cache.save(_record(view), record)
    return view, done


def _store(view: View, remote, missing: list[str], paths: tuple[str, ...], done: Fetched) -> None:
    config = _promised(remote.name)
    result = _fetch(view, remote, config, ("--filter=blob:none",), missing)
    done.commits = len(missing)
    if NOT_FILTERED in result.err:
        done.whole = "filters"
        return
    blobs = needed(view, missing, paths)  # git fetch leaves out those it has (a check first would cost what _missing avoids)
    if blobs:
        got = _fetch(view, remote, config, (), blobs, check=False)
        if got.returncode:
            if "not our ref" not in got.err and "unadvertised object" not in got.err:
                from git_exp.remotes import explain

                raise explain(remote, got, "fetching result files from")
            _fetch(view, remote, {}, ("--refetch",), missing)
            done.whole = "ids"
        else:
            done.blobs = len(blobs)


def _promised(name: str) -> dict[str, str]:
    """The environment that gives one git ``remote.<name>.promisor=true`` and its filter,
    as ``-c`` would, but by ``GIT_CONFIG_KEY_<n>``: a URL may hold '=', which ``-c`` splits at."""
    first = int(os.environ.get("GIT_CONFIG_COUNT") or 0)
    pairs = ((f"remote.{name}.promisor", "true"), (f"remote.{name}.partialclonefilter", "blob:none"))
    env = {"GIT_CONFIG_COUNT": str(first + len(pairs))}
    for i, (key, value) in enumerate(pairs, first):
        env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"] = key, value
    return env


def _fetch(view: View, remote, config: dict, options: tuple, oids: list[str], *, check: bool = True):
    result = view.run(*FETCH, *options, "--stdin", "--", remote.name, env=config,
                      input="".join(f"{o}\n" for o in oids), check=False)
    if result.returncode and check:
        from git_exp.remotes import explain

        raise explain(remote, result, "fetching experiments from")
    return result


def paths(files: dict) -> tuple[str, ...]:
    """What ``show`` reads of a commit: the params and metrics files, the history paths
    and DVCLive's summary (``results.configured_files``' ``files``)."""
    from git_exp import history

    return tuple(dict.fromkeys((*files["params"], *files["metrics"], *history.entries(files),
                                history.DVCLIVE_SUMMARY)))


def base_rows(view: View, label: str, listed: list[tuple[str, str]]) -> list[dict]:
    """``rows.base_row`` of each ``(name, sha)`` of remote ``label``, sorted by name, from
    the commit facts ``rows.load`` keeps (``heads``) and one ``git log`` of the
    commits it lacks."""
    from git_exp import cache, revisions, rows

    where = cache.of_commits(view, "heads")
    known = cache.load(where)
    fresh = [sha for _, sha in listed if sha not in known]
    if fresh:
        read = revisions.commits(view, fresh)
        for sha in fresh:
            exp = read.get(sha)
            row = None if exp is None else rows.base_row(exp)
            known[sha] = None if row is None else tuple(row[key] for key in rows.CACHED)
        cache.save(where, known)
    return [{"name": name, "remote": label, **dict(zip(rows.CACHED, known[sha]))}
            for name, sha in sorted(listed) if known.get(sha) is not None]


def find(repo: Repo, spec: str, files: dict):
    """``(View, revisions.Target)`` for ``REMOTE/NAME`` (or ``REMOTE/NAME~N``) of a
    configured remote whose experiment has not been fetched, fetched into the store;
    None when ``spec`` names no configured remote or the remote has no such experiment
    (one ``ls-remote`` of that name)."""
    from git_exp import names, remotes, revisions
    from git_exp.errors import UsageError

    base, version = revisions.split(spec)
    remote_name, _, name = base.partition("/")
    if not name or remote_name not in remotes.configured(repo) or names.problem(name):
        return None
    remote = remotes.get(repo, remote_name)
    sha = remotes.ls_remote(repo, remote, f"refs/exp/{name}").get(name)
    if sha is None:
        return None  # the caller says there is no such experiment, as for any name
    view, _ = fetch(repo, remote, [sha], paths(files))
    if version:
        chain = revisions.versions(view, sha, version + 1)
        if len(chain) <= version:
            raise UsageError(f"{names.shown(base)} has no version ~{version}: it has {len(chain)} — "
                             f"`git exp pull {remote.label} {name}` and `git exp log {base}` list them")
        sha = chain[version]
    target = revisions.Target(revisions.label_of(remote.label, name, version), name, remote.label, version,
                              f"refs/exp/{name}", sha)
    return view, target
