"""What a killed git-exp (or a git it ran) leaves behind, how to tell it is stale, and removal.

Four kinds, each with its own rule:

- **Staging refs** ``refs/exp-staging/<pid>-<hex>/<name>`` of a subset push (see
  ``commands.push``): stale when process ``pid`` is gone, or when that pid now belongs to
  a process started after the refs were written (pid reuse; Linux ``/proc``, the loose
  ref's or ``packed-refs``' mtime).  Removed through ``git update-ref --stdin`` with each
  ref's expected value, like every ref change, never by removing files.
- **Temporary index files** ``<git dir>/exp-index.<pid>.<hex>`` (and their ``.lock``) of
  ``snapshot.temp_index``, in the git directory of every worktree: stale by the same pid
  rule (their ctime is when they were made).  ``sweep_indexes`` removes them on the way
  into the next save or run (one ``os.listdir``).  The facts' part files
  ``<common dir>/git-exp/facts.<pid>.<section>.part`` of a cold ``show --json``
  (``cache.Pieces``) follow the same rule; the next one removes them.
- **Lock files** ``*.lock`` under ``refs/exp/``, ``refs/remote-exp/``,
  ``refs/exp-staging/``, ``refs/exp-archive/``, ``refs/exp-tombstones/``,
  ``refs/notes/remote-exp/`` and ``packed-refs.lock`` (files ref backend), ``config.lock``
  (a killed ``git config`` of ``install``: every later write of the config fails), and reftable's
  ``reftable/tables.list.lock`` (its one lock for every ref) and ``reftable/<table>.ref.lock``
  (a table being compacted: left, git never compacts that table again and ``git
  pack-refs`` fails): git creates them to write a ref and removes them itself, even on
  failure; one is left only when a git was killed (SIGKILL, power loss), and then every
  later update of that ref fails with "File exists".  A lock file does not say who holds
  it, so one is stale when it is older than LOCK_AGE seconds (git holds a ref's lock only
  for the moment it writes it), or when no process that could hold it is running: on
  Linux, no process named ``git*`` (other than git-exp itself) works in this repository
  (its working directory, ``GIT_DIR`` or command line inside the repository or one of its
  worktrees) and none is hidden from us.  git has no command to remove a stale lock (its
  message says to remove the file by hand); this module is the only code of ours that
  removes a file under ``.git/refs``, and only such a ``.lock`` file, never a ref.

Symbolic refs and refs to objects that are not commits under our namespaces are
reported by ``odd_refs`` for the user to inspect; nothing here removes them.
"""
from __future__ import annotations

import os
import time

from git_exp.names import shown
from git_exp.record import Record
from git_exp.repo import Repo, decodable

STAGING = "refs/exp-staging/"
OUR_REFS = ("refs/exp", "refs/remote-exp", "refs/exp-staging", "refs/exp-archive", "refs/exp-tombstones",
            "refs/notes/remote-exp")
INDEX_PREFIX = "exp-index."
PARTS_PREFIX = "facts."  # ``cache.NAME``: the facts' part files, ``facts.<pid>.<section>.part``
LOCK_AGE = 600  # seconds: older locks are stale whatever runs


# -- processes --------------------------------------------------------------------------

def holder_alive(pid: int, since: float | None = None) -> bool:
    """Whether process ``pid`` may still be the one that made something at time ``since``
    (a Unix time, or None when unknown): it exists, and did not start after ``since``."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    if _zombie(pid):
        return False  # killed, and not yet reaped by its parent
    if since is not None:
        started = _start_time(pid)
        if started is not None and started > since + 2:  # pid reused by a younger process
            return False
    return True


def _ancestors() -> set[int]:
    """This process and the processes above it (Linux; just this one elsewhere)."""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                pid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return found


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has ended and waits only to be reaped (Linux; False elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def _start_time(pid: int) -> float | None:
    """The Unix time process ``pid`` started (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of proc(5), counted after the command name
        with open("/proc/stat", "rb") as stat:
            boot = next(int(line.split()[1]) for line in stat if line.startswith(b"btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _pid_of(text: str, sep: str) -> int | None:
    head = text.split(sep, 1)[0]
    return int(head) if head.isdigit() else None


# -- staging refs ---------------------------------------------------------------------

def staging(repo: Repo) -> dict[str, str]:
    """{ref: sha} of every ref under refs/exp-staging/ that is not symbolic."""
    raw = repo.out("for-each-ref", "--format=%(refname) %(symref) %(objectname)", "--", STAGING)
    found = {}
    for line in raw.splitlines():
        ref, symref, sha = line.rsplit(" ", 2)
        if not symref and decodable(ref):
            found[ref] = sha
    return found


def stale_staging(repo: Repo, listed: dict[str, str] | None = None) -> dict[str, str]:
    """{ref: sha} of the staging refs whose push is no longer running (of ``listed``, the
    result of ``staging``, when given)."""
    found = {}
    verdict: dict[str, bool] = {}
    for ref, sha in (staging(repo) if listed is None else listed).items():
        stage = ref[len(STAGING):].split("/", 1)[0]
        if stage not in verdict:
            pid = _pid_of(stage, "-")
            verdict[stage] = pid is None or not holder_alive(pid, _written(repo, ref))
        if verdict[stage]:
            found[ref] = sha
    return found


def _written(repo: Repo, ref: str) -> float | None:
    """No earlier than when ``ref`` was last written (files backend), or None."""
    for path in (os.path.join(repo.common_dir, ref), os.path.join(repo.common_dir, "packed-refs")):
        try:
            return os.stat(path).st_mtime
        except OSError:
            continue
    return None


def drop_staging(repo: Repo, refs: dict[str, str]) -> None:
    """Delete ``refs`` ({ref: expected sha}) in one transaction; a ref that moved meanwhile
    makes it fail (ExpError) and nothing is deleted."""
    repo.transaction([(ref, repo.zero, sha) for ref, sha in sorted(refs.items())],
                     "git exp: remove staging refs of a push that was interrupted", reflog=False)


# -- temporary index files --------------------------------------------------------------

def git_dirs(repo: Repo) -> list[str]:
    """The git directory of every worktree: the common one and common/worktrees/*."""
    dirs = [repo.common_dir]
    linked = os.path.join(repo.common_dir, "worktrees")
    try:
        dirs += sorted(os.path.join(linked, name) for name in os.listdir(linked))
    except OSError:
        pass
    if repo.git_dir not in dirs:
        dirs.append(repo.git_dir)
    return dirs


def stale_indexes(git_dir: str) -> list[str]:
    """Paths of the temporary index files (and their locks) in ``git_dir`` left by a save
    or run that is no longer running."""
    return _stale_files(git_dir, INDEX_PREFIX, "")


def stale_parts(common_dir: str) -> list[str]:
    """Paths of the facts' part files (``cache.Pieces``: ``<common dir>/git-exp/
    facts.<pid>.<section>.part``) of a ``show --json`` that is no longer running (the
    next one removes them too)."""
    from git_exp import cache

    return _stale_files(os.path.dirname(cache.path(common_dir)), PARTS_PREFIX, cache.PART)


def _stale_files(folder: str, prefix: str, suffix: str) -> list[str]:
    """Paths of the files in ``folder`` named ``<prefix><pid>.<...><suffix>`` whose
    process ``pid`` is gone (or was not the one that made them: ``holder_alive``)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in names:
        if not (name.startswith(prefix) and name.endswith(suffix)):
            continue
        path = os.path.join(folder, name)
        pid = _pid_of(name[len(prefix):], ".")
        try:
            made = os.lstat(path).st_ctime
        except OSError:
            continue
        if pid is None or not holder_alive(pid, made):
            found.append(path)
    return sorted(found)


def remove_files(paths: list[str]) -> int:
    """Remove ``paths``; return the bytes freed (a file already gone is fine)."""
    freed = 0
    for path in paths:
        try:
            size = os.lstat(path).st_size
            os.unlink(path)
            freed += size
        except FileNotFoundError:
            pass
    return freed


def sweep_indexes(git_dir: str) -> None:
    """Remove stale temporary index files from ``git_dir``; never fails (a save goes on)."""
    try:
        remove_files(stale_indexes(git_dir))
    except OSError:
        pass


# -- lock files -------------------------------------------------------------------------

class Lock(Record):
    """A lock file: its path, the ref (or packed-refs) it locks, its age in seconds and
    its mtime (checked again just before removal)."""

    __slots__ = ("path", "ref", "age", "mtime")


def locks(repo: Repo, namespaces: tuple[str, ...] = OUR_REFS) -> list[Lock]:
    """Every lock file under our ref namespaces (or those of them in ``namespaces``), and
    packed-refs.lock, with its age."""
    found = []
    now = time.time()
    reftable = os.path.join(repo.common_dir, "reftable")
    candidates = [os.path.join(repo.common_dir, "packed-refs.lock"),
                  os.path.join(repo.common_dir, "packed-refs.new"),  # written under packed-refs.lock
                  os.path.join(repo.common_dir, "config.lock"),  # a killed `git config` of install's
                  *(os.path.join(reftable, f) for f in sorted(_listdir(reftable)) if f.endswith(".lock"))]
    for sub in namespaces:
        for root, _dirs, files in os.walk(os.path.join(repo.common_dir, sub)):
            candidates += [os.path.join(root, f) for f in files if f.endswith(".lock")]
    for path in candidates:
        try:
            stat = os.lstat(path)
        except OSError:
            continue
        rel = os.path.relpath(path, repo.common_dir)
        ref = rel[:-len(".lock")] if rel.endswith(".lock") else "packed-refs"  # "config": the config file's
        found.append(Lock(path, ref.replace(os.sep, "/"), max(0.0, now - stat.st_mtime), stat.st_mtime))
    return found


def stale(repo: Repo, found: list[Lock]) -> list[Lock]:
    """The locks of ``found`` that no running process can hold (see the module docstring)."""
    if not found:
        return []
    if all(lock.age >= LOCK_AGE for lock in found):
        return found
    busy = git_running_here(repo)
    return [lock for lock in found if lock.age >= LOCK_AGE or busy is False]


def clear_stale_locks(repo: Repo, namespaces: tuple[str, ...] = OUR_REFS) -> list[Lock]:
    """Remove the stale lock files under our namespaces (or ``namespaces``); return them
    (for a command whose update failed with "File exists": if this returns any, the
    update may be retried)."""
    return drop_locks(stale(repo, locks(repo, namespaces)))


def sweep_table_locks(repo: Repo) -> None:
    """Remove the stale table locks of a killed reftable compaction (``reftable/*.ref.lock``),
    once a command's own ref writes are done: they make no write fail, so nothing else
    would find them before ``gc``, and git never compacts those tables again.  One
    ``listdir`` when there are none; never fails (the write went through)."""
    if not any(f.endswith(".ref.lock") for f in _listdir(os.path.join(repo.common_dir, "reftable"))):
        return
    try:
        tables = [lock for lock in locks(repo, ()) if lock.ref.endswith(".ref")]
        drop_locks(stale(repo, tables))
    except OSError:
        pass


def git_running_here(repo: Repo) -> bool | None:
    """Whether a git process (other than us) may be working in this repository: True,
    False, or None when we cannot tell (no /proc)."""
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    roots = _roots(repo)
    ours = _ancestors()  # `git exp ...` is git running git-exp: that git waits for us
    from git_exp import git

    mine = {one.pid if one.proc is None else one.proc.pid for one in list(git._live)}
    for pid in pids:
        if pid in ours:
            continue
        try:
            with open(f"/proc/{pid}/comm", "rb") as comm:
                name = comm.read().strip()
        except OSError:
            continue  # gone meanwhile
        if not name.startswith(b"git") or name == b"git-exp" or _zombie(pid) or pid in mine:
            continue  # gits we started (a listing running beside this check) hold no lock of before
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            places: list = [cwd]
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                places += [a.split(b"=", 1)[-1] if a.startswith(b"--") else a
                           for a in cmdline.read().split(b"\0") if b"/" in a]
            with open(f"/proc/{pid}/environ", "rb") as environ:
                places += [v.split(b"=", 1)[1] for v in environ.read().split(b"\0")
                           if v.startswith((b"GIT_DIR=", b"GIT_COMMON_DIR=", b"GIT_WORK_TREE="))]
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended (a process exiting meanwhile: ESRCH reading its environ)
        except OSError:
            return True  # a git we may not look at (another user's): it might be working here
        for place in places:
            if isinstance(place, bytes):
                place = place.decode("utf-8", "surrogateescape")
            place = os.path.realpath(os.path.join(cwd, place))
            if any(place == root or place.startswith(root + os.sep) for root in roots):
                return True
    return False


def _roots(repo: Repo) -> list[str]:
    """Directories a git working in this repository would be in: the git directories and
    every worktree (read from ``worktrees/*/gitdir``)."""
    roots = {os.path.realpath(d) for d in git_dirs(repo)}
    if repo.worktree:
        roots.add(os.path.realpath(repo.worktree))
    linked = os.path.join(repo.common_dir, "worktrees")
    for name in _listdir(linked):
        try:
            with open(os.path.join(linked, name, "gitdir"), encoding="utf-8", errors="surrogateescape") as f:
                roots.add(os.path.realpath(os.path.dirname(f.read().strip())))
        except OSError:
            continue
    parent = os.path.dirname(os.path.realpath(repo.common_dir))
    if os.path.basename(repo.common_dir.rstrip(os.sep)) == ".git":
        roots.add(parent)
    return sorted(roots)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def drop_locks(found: list[Lock]) -> list[Lock]:
    """Remove the lock files of ``found``, each only if it is still the same plain
    ``.lock`` file (not a symlink, not written since); return those removed."""
    import stat

    removed = []
    for lock in found:
        try:
            now = os.lstat(lock.path)
            if not lock.path.endswith((".lock", "packed-refs.new")) or not stat.S_ISREG(now.st_mode) or now.st_mtime != lock.mtime:
                continue
            os.unlink(lock.path)
        except FileNotFoundError:
            continue
        removed.append(lock)
    return removed


# -- refs that are not experiments ------------------------------------------------------

class OddRef(Record):
    """A ref under our namespaces that is no experiment: ``symref`` is its target when it
    is symbolic (else ""), ``kind`` the type of the object it leads to."""

    __slots__ = ("ref", "symref", "kind", "sha")

    def what(self) -> str:
        if self.kind == "name":
            return (f"{shown(self.ref)} has a name that is not UTF-8: git-exp skips it — find it with "
                    f"`git for-each-ref {self.ref.split('/')[0]}/{self.ref.split('/')[1]}/` and remove it with "
                    "`git update-ref -d`")
        if self.symref:
            return (f"{self.ref} is a symbolic ref to {self.symref}: git-exp skips it — inspect with "
                    f"`git symbolic-ref {self.ref}`, remove it (not its target) with "
                    f"`git symbolic-ref --delete {self.ref}`")
        return (f"{self.ref} points at a {self.kind or 'missing object'}, not a commit: git-exp skips it — "
                f"inspect with `git cat-file -p {self.sha}`, remove it with `git update-ref -d {self.ref} {self.sha}`")


def odd_refs(repo: Repo) -> list[OddRef]:
    """Symbolic refs, and refs to anything but a commit, under our namespaces."""
    raw = repo.out("for-each-ref", "--format=%(refname)%00%(symref)%00%(objecttype)%00%(objectname)",
                   "--", *(sub + "/" for sub in OUR_REFS))
    found = []
    for line in raw.splitlines():
        ref, symref, kind, sha = line.split("\0")
        if not decodable(ref):
            found.append(OddRef(ref, symref, "name", sha))
        elif symref or kind != "commit":
            found.append(OddRef(ref, symref, kind, sha))
    return found


def commit_refs(repo: Repo, prefix: str) -> dict[str, str]:
    """{ref: sha} of the refs under ``prefix`` that are plain refs to commits (what
    uninstall and doctor --fix may delete; the others are the user's to look at)."""
    raw = repo.out("for-each-ref", "--format=%(refname)%00%(symref)%00%(objecttype)%00%(objectname)", "--", prefix)
    found = {}
    for line in raw.splitlines():
        ref, symref, kind, sha = line.split("\0")
        if not symref and kind == "commit" and decodable(ref):
            found[ref] = sha
    return found


# -- everything at once -----------------------------------------------------------------

RUN_WORKTREE = "git-exp-run-"  # + <pid>-<random>: the temporary worktree of `run --isolated`


def stale_worktrees(repo: Repo) -> list[str]:
    """The worktrees ``run --isolated`` registered whose run is no longer going (the pid in
    their name is dead), as their paths (or names, when git never recorded the path): a
    killed run leaves one in ``.git/worktrees/``, perhaps half made by a killed ``git
    worktree add`` (locked "initializing", a ``HEAD`` pointing at nothing).  A ``git
    worktree`` the dead run started apart is waited for (``APART_WAIT`` at most); one
    still running after that keeps its worktree out of the list."""
    found = []
    entries = os.path.join(repo.common_dir, "worktrees")
    busy = None
    for name in _listdir(entries):
        pid = _pid_of(name[len(RUN_WORKTREE):], "-") if name.startswith(RUN_WORKTREE) else None
        if pid is None or holder_alive(pid):
            continue
        busy = _worktree_gits() if busy is None else busy
        if not _apart_ended(pid, busy):
            continue  # its run is gone, but the `git worktree add`/`remove` it started apart still runs
        try:
            with open(os.path.join(entries, name, "gitdir"), encoding="utf-8", errors="surrogateescape") as f:
                found.append(os.path.dirname(f.read().strip()))
        except OSError:  # killed before git wrote where it is: only `prune` can drop it,
            # once the "initializing" lock of `git worktree add` (which git left) is gone
            _unlink(os.path.join(entries, name, "locked"))
            found.append(name)
    return found


def stale_run_dirs() -> list[str]:
    """The temporary directories of ``run --isolated`` (``RUN_WORKTREE``, in the temporary
    directory) that no worktree was made in, whose run is gone: a run killed after it made
    the directory and before its ``git worktree add`` started.  One with a ``.git`` is a
    worktree (of this repository or another): ``stale_worktrees`` of its repository
    finds it.  One a ``git worktree`` of its run still works in is left alone."""
    import stat
    import tempfile

    top = tempfile.gettempdir()
    found, busy = [], None
    for name in _listdir(top):
        pid = _pid_of(name[len(RUN_WORKTREE):], "-") if name.startswith(RUN_WORKTREE) else None
        path = os.path.join(top, name)
        try:
            made = os.lstat(path)
        except OSError:
            continue
        if pid is None or not stat.S_ISDIR(made.st_mode) or holder_alive(pid, made.st_mtime) or \
                os.path.lexists(os.path.join(path, ".git")):
            continue
        busy = _worktree_gits() if busy is None else busy
        if not _apart_ended(pid, busy) or os.path.lexists(os.path.join(path, ".git")):
            continue  # a `git worktree add` of the killed run made it a worktree after all
        found.append(path)
    return found


def drop_run_dirs(paths: list[str]) -> None:
    """Remove ``stale_run_dirs`` (ours: no git knows of them)."""
    import shutil

    for path in paths:
        shutil.rmtree(path, ignore_errors=True)  # never follows a symlink


def _worktree_gits() -> list[tuple[int, bytes]]:
    """The pids and command lines of running ``git worktree`` processes (Linux; none
    elsewhere): ``run --isolated`` starts them apart (``git.start``), so they outlive a
    killed run."""
    from git_exp.git import proc_files

    return [(pid, line) for pid, line in proc_files("cmdline") if b"\0worktree\0" in line and not _zombie(pid)]


APART_WAIT = 10.0  # seconds a run waits for a killed run's `git worktree` to end before it cleans up after it


def _apart_ended(pid: int, busy: list[tuple[int, bytes]]) -> bool:
    """Whether no ``git worktree`` of dead run ``pid`` among ``busy`` (``_worktree_gits``)
    runs, after waiting ``APART_WAIT`` at most for those that do.  A `git worktree add`
    the killed run started apart finishes the worktree it was making: waiting for it lets
    this run remove that worktree, where leaving it would leave it to the run after."""
    mark = f"{RUN_WORKTREE}{pid}-".encode()
    running = [git for git, line in busy if mark in line]
    deadline = time.monotonic() + APART_WAIT
    while running:
        running = [git for git in running if holder_alive(git)]
        if running and time.monotonic() >= deadline:
            return False
        time.sleep(0.02 if running else 0)
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def drop_worktrees(repo: Repo, paths: list[str]) -> None:
    """Unregister and remove the stale run worktrees ``paths``, through ``git worktree``
    (the temporary directory itself is ours to remove)."""
    import shutil

    for path in paths:
        repo.run("worktree", "unlock", path, check=False)  # a killed `worktree add` leaves it locked
        repo.run("worktree", "remove", "--force", "--force", path, check=False)
        if os.path.isabs(path) and os.path.basename(path).startswith(RUN_WORKTREE) and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
    if paths:
        repo.run("worktree", "prune", check=False)


class Swept(Record):
    """What ``sweep`` removed: staging refs, index files and facts' part files (and the
    bytes freed), lock files, run worktrees."""

    __slots__ = ("staging", "indexes", "freed", "locks", "worktrees", "parts")
    _defaults = {"staging": 0, "indexes": 0, "freed": 0, "locks": 0, "worktrees": 0, "parts": 0}


def sweep(repo: Repo) -> Swept:
    """Remove every stale leftover: staging refs, temporary index files, lock files."""
    swept = Swept()
    refs = stale_staging(repo)
    # a stale lock of a staging ref would make its deletion fail: locks first
    swept.locks = len(clear_stale_locks(repo))
    if refs:
        drop_staging(repo, refs)
        swept.staging = len(refs)
    paths = [p for d in git_dirs(repo) for p in stale_indexes(d)]
    parts = stale_parts(repo.common_dir)
    swept.indexes, swept.parts, swept.freed = len(paths), len(parts), remove_files(paths + parts)
    worktrees = stale_worktrees(repo)
    drop_worktrees(repo, worktrees)
    dirs = stale_run_dirs()
    drop_run_dirs(dirs)
    swept.worktrees = len(worktrees) + len(dirs)
    return swept
