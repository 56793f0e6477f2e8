"""What a careful colleague says before an experiment is written.

**Large untracked files.**  A snapshot takes every untracked file that is not ignored
(``git add -A``), so a 2 GB checkpoint left beside the code would be committed, and then
pushed with the experiment.  ``large_untracked`` lists the untracked files over
``exp.largeFile`` bytes (default 10 MiB; ``0`` turns the check off), leaving out those that
git-lfs would store as a pointer (``filter=lfs`` in ``.gitattributes``).  Why not
``exp.maxFileSize``: that key already bounds the params and metrics files git-exp *reads*
(default 1 MiB, ``results``), a limit for data from outside; the limit on what a save
*writes* is another question with another default, so it has its own key.

- ``save`` refuses (``LargeFiles``, exit 2, no experiment written, the large files never
  hashed) — nothing is lost by saying so, and ``--allow-large`` saves anyway.  The check
  runs inside the snapshot (``Vetting``), on the listing of untracked files that the
  snapshot then adds by name, while ``git add -u`` stages the tracked changes beside it:
  a refused save may leave blobs of changed *tracked* files as loose objects, unreachable
  (as after ``git add`` then ``git reset``), which ``git gc`` prunes.
- ``run`` refuses the same way before the command starts; large files the command itself
  made are saved (refusing then would throw the run away) with a warning printed before
  the commit is written.

**No results.**  ``missing_results`` is the one line ``run`` says when the command finished
(exit 0: a failed one says why itself) and no metrics file (nor params file) of the configured names is in what will be saved:
absent, or present but ignored by git.
"""
from __future__ import annotations

import os

from git_exp import snapshot
from git_exp.errors import ExpError, UsageError
from git_exp.repo import Repo

DEFAULT_LIMIT = 10 << 20
SHOWN = 3  # files named in a message; the rest are counted


LIMIT = ("config", "--type=int", "--get", "exp.largeFile")
UNTRACKED = snapshot.UNTRACKED


def limit(repo: Repo, running=None) -> int:
    """``exp.largeFile`` in bytes (git reads ``10m``, ``1g``); 0 means no check.
    ``running``: the ``LIMIT`` git, already started."""
    result = (running or repo.start(*LIMIT)).wait(check=False)
    if result.returncode == 1:
        return DEFAULT_LIMIT
    if result.returncode:
        from git_exp.names import shown

        value = repo.run("config", "--get", "exp.largeFile", check=False).out.strip()
        raise UsageError(f"exp.largeFile is not a size: {shown(value)} — set it to a byte count such as 10m, "
                         "or 0 for no check (`git config exp.largeFile 50m`)")
    return max(int(result.out.strip() or 0), 0)


def large_untracked(repo: Repo, max_bytes: int | None = None, running=None) -> list[tuple[str, int]]:
    """``(path, size)`` of the untracked, not ignored files over the limit, largest first,
    except those git-lfs stores as pointers; ``running``: the ``UNTRACKED`` git, started."""
    max_bytes = limit(repo) if max_bytes is None else max_bytes
    if not max_bytes:
        if running is not None:
            running.kill()
        return []
    raw = (running or repo.start(*UNTRACKED)).wait().out
    return over(repo, [path for path in raw.split("\0") if path], max_bytes)


def over(repo: Repo, paths: list[str], max_bytes: int) -> list[tuple[str, int]]:
    """``large_untracked`` of the untracked ``paths``."""
    if not max_bytes:
        return []
    top = repo.worktree or ""
    found = []
    for path in paths:
        try:
            size = os.lstat(os.path.join(top, path)).st_size
        except OSError:
            continue
        if size > max_bytes:
            found.append((path, size))
    if found:
        found = [(path, size) for path, size in found if path not in _lfs(repo, [p for p, _ in found])]
    return sorted(found, key=lambda item: (-item[1], item[0]))


def _lfs(repo: Repo, paths: list[str]) -> set[str]:
    text = repo.run("check-attr", "-z", "--stdin", "filter", input="\0".join(paths) + "\0", check=False).out
    fields = text.split("\0")
    return {fields[i] for i in range(0, len(fields) - 2, 3) if fields[i + 2] == "lfs"}


def human(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{size} bytes"


def listing(found: list[tuple[str, int]]) -> str:
    from git_exp.names import shown

    text = ", ".join(f"{shown(path)} ({human(size)})" for path, size in found[:SHOWN])
    return text + (f" and {len(found) - SHOWN} more" if len(found) > SHOWN else "")


class LargeFiles(UsageError):
    def __init__(self, found: list[tuple[str, int]], max_bytes: int, command: str) -> None:
        super().__init__(
            f"{'an untracked file' if len(found) == 1 else f'{len(found)} untracked files'} over "
            f"exp.largeFile ({human(max_bytes)}) would be saved into the experiment: {listing(found)} — "
            f"add {'it' if len(found) == 1 else 'them'} to .gitignore or track with git-lfs, "
            f"or `git exp {command} --allow-large` to save anyway")


def refuse_large(repo: Repo, command: str) -> None:
    """Raise ``LargeFiles`` when a save would take untracked files over the limit (the
    two gits side by side: ~10 ms on ``save``)."""
    from git_exp.git import stopped_on_error

    configured, listing = repo.start(*LIMIT), repo.start(*UNTRACKED)
    with stopped_on_error(configured, listing):
        max_bytes = limit(repo, configured)
        found = large_untracked(repo, max_bytes, listing)
    if found:
        raise LargeFiles(found, max_bytes, command)


class Vetting:
    """``refuse_large`` inside ``save``'s snapshot (its ``vet``): ``exp.largeFile`` is read
    from now on, beside the snapshot's gits, and the snapshot lists the untracked files
    once for this check and for ``git add`` (``snapshot.add_vetted``).  Called with the
    untracked paths before any of them is hashed; raises ``LargeFiles``.  ``configured``
    is the git reading the limit (stop it if the vetting never comes)."""

    def __init__(self, repo: Repo, command: str) -> None:
        self.repo, self.command = repo, command
        self.configured = repo.start(*LIMIT)

    def __call__(self, paths: list[str]) -> None:
        max_bytes = limit(self.repo, self.configured)
        found = over(self.repo, paths, max_bytes)
        if found:
            raise LargeFiles(found, max_bytes, self.command)


def saved_large(repo: Repo) -> str | None:
    """The warning for large untracked files a command made, or None."""
    max_bytes = limit(repo)
    found = large_untracked(repo, max_bytes)
    if not found:
        return None
    return (f"git-exp: warning: the command wrote {'a file' if len(found) == 1 else f'{len(found)} files'} over "
            f"exp.largeFile ({human(max_bytes)}), saved into the experiment: {listing(found)} — "
            f".gitignore {'it' if len(found) == 1 else 'them'} or track with git-lfs to keep such files out of git "
            "(--allow-large: no warning)")


def _stats(top: str, paths) -> dict[str, tuple[int, int, int]]:
    found = {}
    for path in paths:
        try:
            st = os.stat(os.path.join(top, path))
        except OSError:
            continue
        found[path] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return found


def missing_results(repo: Repo, before: dict | None = None) -> str | None:
    """The warning for a run whose work tree holds no metrics file (nor params file) that
    will be saved, or only ones the command did not write (their ``_stats`` are as
    ``before`` it ran); None when all is well."""
    from git_exp import results

    files = results.configured_files(repo)
    top = repo.worktree or ""
    present = {kind: [p for p in files[kind] if os.path.isfile(os.path.join(top, p))] for kind in results.KINDS}
    candidates = present["params"] + present["metrics"]
    ignored = set()
    if candidates:
        text = repo.run("check-ignore", "-z", "--stdin", input="\0".join(candidates) + "\0", check=False).out
        ignored = {p for p in text.split("\0") if p}
    saved = {kind: [p for p in present[kind] if p not in ignored] for kind in results.KINDS}
    if saved["metrics"]:
        if before is None:
            return None
        now = _stats(top, saved["metrics"])
        if any(before.get(path) != stat for path, stat in now.items()):
            return None
        old = ", ".join(saved["metrics"])
        return (f"git-exp: warning: the command finished without writing {old}: the "
                f"{'file' if len(saved['metrics']) == 1 else 'files'} saved with it {'is' if len(saved['metrics']) == 1 else 'are'} "
                "from before the run — check where it writes its metrics (`git config --add exp.metrics PATH`)")
    looked = list(files["metrics"]) + ([] if saved["params"] else list(files["params"]))
    what = "no metrics file" if saved["params"] else "no params or metrics file"
    why = ""
    lost = [p for p in candidates if p in ignored and (p in files["metrics"] or not saved["params"])]
    if lost:
        why = f"; {', '.join(lost)} {'is' if len(lost) == 1 else 'are'} ignored by git, so not saved"
    return (f"git-exp: warning: the command finished but {what} was found to save (looked for "
            f"{', '.join(looked)}{why}) — write one, or name yours with `git config --add exp.metrics PATH`")


def changed_inputs(paths: list[str]) -> str:
    from git_exp.names import shown

    named = ", ".join(shown(p) for p in paths[:SHOWN]) + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")
    return (f"git-exp: warning: {'an ignored input' if len(paths) == 1 else f'{len(paths)} ignored inputs'} of your "
            f"work tree changed during the isolated run: {named} — the run reached "
            f"{'it' if len(paths) == 1 else 'them'} through a link (no reflinks on this filesystem); "
            "make inputs read-only (chmod a-w) to protect them")


class Careful:
    """The cautions of one ``run``: ``before`` the command (may refuse), ``after`` it
    (warnings through ``warn``, before the commit is written)."""

    def __init__(self, *, untracked: bool = True, allow_large: bool = False, warn=None) -> None:
        self.large = untracked and not allow_large
        self.warn = warn
        self.metrics: dict | None = None

    def before(self, repo: Repo, command: str) -> None:
        if self.large:
            refuse_large(repo, command)

    def starting(self, repo: Repo) -> None:
        """Just before the command starts in ``repo``'s work tree: note its metrics files,
        to tell afterwards whether the command wrote them."""
        self.metrics = None
        if self.warn is not None:
            from git_exp import results

            try:
                self.metrics = _stats(repo.worktree or "", results.configured_files(repo)["metrics"])
            except ExpError:
                pass  # said after the run, where it cannot stop the save

    def after(self, repo: Repo, status: str, linked=None) -> None:
        """Warn about what the command of ``status`` left; a failed or interrupted one is
        not told that it wrote no metrics (it says why itself)."""
        if self.warn is None:
            return
        try:  # the command has run: nothing here may stop its result from being saved
            said = [saved_large(repo) if self.large else None, missing_results(repo, self.metrics) if status == "ok" else None]
            moved = linked.changed() if linked is not None else []
            if moved:
                said.append(changed_inputs(moved))
        except ExpError as exc:
            said = [f"git-exp: warning: {exc}"]
        for text in said:
            if text:
                self.warn(text)
