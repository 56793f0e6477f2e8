"""The temporary work tree of an isolated run, with the user's ignored inputs in it.

``Worktree(repo, head, tree)`` registers a linked worktree (``git worktree add --detach
--no-checkout`` at ``head``, then ``read-tree -u --reset tree``), in a temporary directory
named ``leftovers.RUN_WORKTREE<pid>-...`` so that one left by a killed run is found and
dropped later, and removes it on the way out.  ``run --isolated`` and ``rerun`` use it.

**Ignored inputs.**  A checkout has only what git tracks; the data a run reads is usually
ignored (``data/train.csv`` under ``data/`` in ``.gitignore``).  So the files git ignores
in the user's work tree (``git ls-files --others --ignored --exclude-standard
--directory``, one git, whole ignored directories as one entry) are made available in the
worktree, chosen by ``exp.isolate`` globs (``selection``), without copying their bytes:

- Directories are made for real, so a file the run creates inside one stays in the run's
  worktree (and, being ignored, out of the snapshot, as in a plain run).
- Each file is, by the first method that works: a **reflink** (``FICLONE``: btrfs, XFS,
  bcachefs, ...; a copy-on-write clone, so nothing the run does reaches the user's file),
  else a **hardlink** (same filesystem: the user's file itself, under a second name), else
  a **symlink** to the user's file (the worktree is on another filesystem, e.g. ``/tmp`` as
  tmpfs).  A symlink in the user's tree becomes a symlink to that symlink's own path, so it
  resolves as it does there.
- ``exp.isolateShared`` globs name ignored directories to link **whole**, as one symlink
  to the user's directory: nothing per file, for data sets of many small files, at the
  price of isolation (what the run writes or deletes there happens in the user's
  directory, as in a plain run, and is not watched).
- A run that **writes into** an input in place (``open(path, "w")``) through a hardlink or
  symlink changes the user's file, exactly as the same command would in a plain run; one
  that replaces it (write elsewhere, then rename) or deletes it changes only the worktree.
  Hardlinks share the file's mode, so an input made read-only (``chmod a-w``) is read-only
  in the run too: that is how to protect a data set.  After the run, ``changed`` names the
  linked inputs whose size or modification time moved, and the run warns about them.

Cost, measured on this machine (``python -m tests.bench.isolate``, not part of ``make
bench``; README has the table): one ``link`` and one ``lstat`` per file whatever its size —
on ext4 under load, a 1 GiB directory of 100 files is linked in 12 ms and adds ~17 ms to a
run and no data blocks; 10,000 files take 0.8 s to link and ~2 s more per run in all
(``exp.isolateShared`` makes that one symlink).
"""
from __future__ import annotations

import os

from git_exp import leftovers
from git_exp.repo import Repo

# Ignored paths that are never inputs: caches and environments that tools rebuild (and
# that hold many files); ``exp.isolate`` values are read after them and can bring any back.
DEFAULT_GLOBS = (
    "*",
    "!**/__pycache__", "!**/*.py[cod]", "!**/.venv", "!**/venv", "!**/node_modules", "!**/.tox", "!**/.nox",
    "!**/.mypy_cache", "!**/.pytest_cache", "!**/.ruff_cache", "!**/.ipynb_checkpoints", "!**/*.egg-info",
    "!**/.DS_Store", "!**/.idea", "!**/.vscode",
)
FICLONE = 0x40049409  # _IOW(0x94, 9, int), linux/fs.h
_NO_CLONE = {18, 22, 25, 95}  # EXDEV, EINVAL, ENOTTY, EOPNOTSUPP: this filesystem does not clone


class Selection:
    """Which ignored paths come in: ``exp.isolate`` globs after ``DEFAULT_GLOBS``, the last
    one that matches a path deciding (``!`` excludes), as in ``.gitignore``.  A glob is
    matched from the top of the work tree, ``*`` within one name, ``**`` across any number;
    matching a directory matches everything in it."""

    def __init__(self, globs: list[str]) -> None:
        import re

        self.rules = []  # (include, regex, segments)
        for glob in globs:
            include = not glob.startswith("!")
            body = glob[0 if include else 1:].strip("/")
            if body:
                self.rules.append((include, _regex(body), body.split("/")))
        # One regex for all: alternatives in reverse order, so the one that matches is the
        # last rule that does (each is anchored at both ends); ~1 µs a path.
        self.last = re.compile("|".join(f"(?P<r{i}>{rule[1]})" for i, rule in reversed(list(enumerate(self.rules))))
                               or "(?!)")

    def _deciding(self, path: str) -> int:
        """The index of the last rule that matches ``path``, or -1."""
        found = self.last.match(path)
        return int(found.lastgroup[1:]) if found else -1

    def wanted(self, path: str) -> bool:
        index = self._deciding(path)
        return index >= 0 and self.rules[index][0]

    def worth_entering(self, path: str) -> bool:
        """Whether anything below the directory ``path`` can be wanted."""
        index = self._deciding(path)
        if index >= 0 and self.rules[index][0]:
            return True
        parts = path.split("/")
        return any(include and _may_match_below(segments, parts) for include, _, segments in self.rules[index + 1:])


def _regex(glob: str) -> str:
    import re

    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i + 2:]:
            end = glob.index("]", i + 2)
            inner = glob[i + 1:end]
            out.append("[" + ("^" + inner[1:] if inner[:1] == "!" else inner).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out) + "(?:/.*)?$"


def _may_match_below(segments: list[str], parts: list[str]) -> bool:
    from fnmatch import fnmatchcase

    for i, part in enumerate(parts):
        if i >= len(segments):
            return False  # the glob ended above: it matched (or not) an ancestor
        if "**" in segments[i]:
            return True
        if not fnmatchcase(part, segments[i]):
            return False
    return True


def selection(repo: Repo) -> tuple[Selection, Selection]:
    """``(chosen, shared)``: ``DEFAULT_GLOBS`` then the ``exp.isolate`` values, and the
    ``exp.isolateShared`` globs (directories linked whole), as Selections."""
    values: dict[str, list[str]] = {"exp.isolate": [], "exp.isolateshared": []}
    text = repo.run("config", "-z", "--get-regexp", r"^exp\.isolate(shared)?$", check=False).out
    for item in text.split("\0"):
        key, _, value = item.partition("\n")
        if key.lower() in values and value.strip():
            values[key.lower()].append(value.strip())
    return Selection([*DEFAULT_GLOBS, *values["exp.isolate"]]), Selection(values["exp.isolateshared"])


def ignored(repo: Repo) -> list[str]:
    """The ignored paths of ``repo``'s work tree, an ignored directory as ``dir/`` (its
    contents not listed), none inside another listed directory."""
    raw = repo.run("ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory").out
    found: list[str] = []
    for path in sorted(p for p in raw.split("\0") if p):
        if found and found[-1].endswith("/") and path.startswith(found[-1]):
            continue  # git lists a/ and a/b/ when a holds nothing but ignored b
        found.append(path)
    return found


class Linked:
    """What ``link_inputs`` did: counts per method, the bytes the inputs hold, and the
    files reached through a link (their size and mtime then), for ``changed``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.counts = {"reflink": 0, "hardlink": 0, "symlink": 0, "directory": 0, "shared": 0}
        self.size = 0
        self.shared: dict[str, tuple[int, int]] = {}  # relative path -> (size, mtime_ns)

    def changed(self) -> list[str]:
        """The linked inputs (hardlinks, symlinks) whose size or mtime differ from before the run."""
        moved = []
        for rel, before in self.shared.items():
            try:
                st = os.stat(os.path.join(self.source, rel))
                now = (st.st_size, st.st_mtime_ns)
            except OSError:
                now = None
            if now != before:
                moved.append(rel)
        return moved


class _Linker:
    def __init__(self, source: str, target: str) -> None:
        self.source, self.target = source, target
        same_fs = os.stat(source).st_dev == os.stat(target).st_dev
        self.clone = same_fs and hasattr(os, "O_CLOEXEC") and os.uname().sysname == "Linux"
        self.hardlink = same_fs
        self.linked = Linked(source)
        self.shared = Selection([])

    def file(self, rel: str, st: os.stat_result) -> None:
        src, dst = f"{self.source}/{rel}", f"{self.target}/{rel}"
        if self.clone and self._clone(src, dst, st):
            self.linked.counts["reflink"] += 1
        else:
            if self.hardlink:
                try:
                    os.link(src, dst, follow_symlinks=False)
                    self.linked.counts["hardlink"] += 1
                    self.linked.shared[rel] = (st.st_size, st.st_mtime_ns)
                    self.linked.size += st.st_size
                    return
                except FileExistsError:
                    return
                except OSError:  # EXDEV, EPERM (protected_hardlinks), EMLINK: a symlink will do
                    pass
            self.symlink(rel)
            self.linked.shared[rel] = (st.st_size, st.st_mtime_ns)
        self.linked.size += st.st_size

    def _clone(self, src: str, dst: str, st: os.stat_result) -> bool:
        import fcntl

        try:
            fd_in = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fd_out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, st.st_mode & 0o7777)
        except OSError:
            os.close(fd_in)
            return False
        try:
            fcntl.ioctl(fd_out, FICLONE, fd_in)
        except OSError as exc:
            os.close(fd_out)
            os.unlink(dst)
            if exc.errno in _NO_CLONE:
                self.clone = False  # the filesystem cannot: don't ask for every file
            return False
        finally:
            os.close(fd_in)
        os.fchmod(fd_out, st.st_mode & 0o7777)  # as the user's, whatever the umask
        os.close(fd_out)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
        return True

    def symlink(self, rel: str) -> None:
        try:
            os.symlink(os.path.join(self.source, rel), os.path.join(self.target, rel))
            self.linked.counts["symlink"] += 1
        except FileExistsError:
            pass

    def directory(self, rel: str) -> bool:
        try:
            os.mkdir(os.path.join(self.target, rel))
            self.linked.counts["directory"] += 1
        except FileExistsError:
            if not os.path.isdir(os.path.join(self.target, rel)):
                return False  # the run's tree has a file there: the tree wins
        except OSError:
            return False
        return True


def link_inputs(repo: Repo, target: str, chosen: tuple[Selection, Selection] | None = None) -> Linked:
    """Make the ignored files of ``repo``'s work tree that ``chosen`` (default: ``selection``)
    wants available at the same paths under ``target``, by reflink, hardlink or symlink; a
    directory its shared Selection matches becomes one symlink to the user's.  Paths the
    worktree already has are left as they are (what the run's tree holds wins)."""
    source = repo.worktree or ""
    wanted, shared = chosen or selection(repo)
    linker = _Linker(source, target)
    linker.shared = shared
    for entry in ignored(repo):
        rel = entry.rstrip("/")
        if not entry.endswith("/"):
            if wanted.wanted(rel):
                _one(linker, rel)
            continue
        if not wanted.worth_entering(rel) or not _parents(linker, rel):
            continue
        _walk(linker, wanted, rel)
    return linker.linked


def _parents(linker: _Linker, rel: str) -> bool:
    """Make the directories above ``rel`` in the target (untracked ones have none there)."""
    parent = os.path.dirname(rel)
    if not parent or os.path.isdir(os.path.join(linker.target, parent)):
        return True
    return _parents(linker, parent) and linker.directory(parent)


def _one(linker: _Linker, rel: str) -> None:
    try:
        st = os.lstat(os.path.join(linker.source, rel))
    except OSError:
        return  # gone since git listed it
    if not _parents(linker, rel):
        return
    if os.path.lexists(os.path.join(linker.target, rel)):
        return
    import stat

    if stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode):
        linker.symlink(rel)
    elif stat.S_ISREG(st.st_mode):
        linker.file(rel, st)


def _walk(linker: _Linker, chosen: Selection, rel: str) -> None:
    """Bring in the directory ``rel`` (the user's) and what ``chosen`` wants inside it."""
    is_link = os.path.islink(os.path.join(linker.source, rel))
    if is_link or (linker.shared.rules and linker.shared.wanted(rel)):
        if chosen.wanted(rel) and _parents(linker, rel):
            linker.symlink(rel)  # exp.isolateShared: the whole directory, the user's own
            linker.linked.counts["shared"] += not is_link
        return
    made = chosen.wanted(rel) and _parents(linker, rel) and linker.directory(rel)  # else made when something inside comes in
    try:
        entries = list(os.scandir(os.path.join(linker.source, rel)))
    except OSError:
        return
    for entry in entries:
        child = f"{rel}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            if chosen.worth_entering(child):
                _walk(linker, chosen, child)
            continue
        if not chosen.wanted(child):
            continue
        if not made:
            made = _parents(linker, child)
            if not made:
                return  # the run's tree has a file where this directory would be
        if entry.is_symlink():
            linker.symlink(child)
        elif entry.is_file(follow_symlinks=False):
            linker.file(child, entry.stat(follow_symlinks=False))


def drop_stale(repo: Repo) -> None:
    """Remove the worktrees killed runs left (``leftovers.stale_worktrees``), and the
    temporary directories of runs killed before they made one (``stale_run_dirs``)."""
    leftovers.drop_worktrees(repo, leftovers.stale_worktrees(repo))
    leftovers.drop_run_dirs(leftovers.stale_run_dirs())


class Worktree:
    """``with Worktree(repo, head, tree) as wt``: a temporary linked worktree at commit
    ``head`` whose files are ``tree`` (a tree or commit), with the ignored inputs linked in
    (``wt.linked``); ``wt.path`` is its top and ``wt.repo`` a Repo there.  Removed on exit,
    whatever happened; one left by a killed run is dropped by the next (``leftovers``)."""

    def __init__(self, repo: Repo, head: str, tree: str, *, inputs: bool = True) -> None:
        self.origin, self.head, self.tree, self.inputs = repo, head, tree, inputs
        self.path = ""
        self.linked: Linked | None = None

    def __enter__(self) -> Worktree:
        import tempfile

        drop_stale(self.origin)
        self.path = tempfile.mkdtemp(prefix=f"{leftovers.RUN_WORKTREE}{os.getpid()}-")
        try:
            self._add()
            self.repo = Repo(self.path)
            self.repo.run("read-tree", "-u", "--reset", self.tree)
            if self.inputs:
                self.linked = link_inputs(self.origin, self.path)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _add(self) -> None:
        """``git worktree add``, again when it tripped over another run's worktree that git
        was still making (git reads every worktree's files, and dies on one half made:
        ``failed to read .git/worktrees/<other>/commondir``; it made nothing then)."""
        import time

        from git_exp.git import GitError

        for pause in (0.05, 0.1, 0.2, 0.4, 0.8, None):
            try:
                # apart: killed with us half-way, git leaves a HEAD pointing at nothing (git.start)
                self.origin.run("worktree", "add", "--detach", "--no-checkout", self.path, self.head, apart=True)
                return
            except GitError as exc:
                text = exc.stderr.decode("utf-8", "replace")
                if pause is None or "failed to read" not in text or "worktrees/" not in text:
                    raise
            time.sleep(pause)

    def __exit__(self, *exc) -> None:
        self.origin.run("worktree", "remove", "--force", self.path, check=False, apart=True)  # as the add
        if os.path.exists(self.path):
            import shutil

            shutil.rmtree(self.path, ignore_errors=True)  # never follows a symlink
            self.origin.run("worktree", "prune", check=False, apart=True)
