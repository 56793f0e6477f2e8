"""Bringing a remote's objects without writing a ref: ``git fetch-pack``, then git's own checks.

``git exp pull`` writes the refs itself (one packed-refs rewrite, see ``packed``), so
it needs git only to bring the objects.  ``git fetch --dry-run`` does that, but after
the pack is in it still walks every ref it will not write (``consume_refs``: 0.21-0.23 s
of a 0.64-0.79 s dry run at 10k experiments, connectivity check included).
``git fetch-pack`` is the plumbing ``git fetch`` itself uses for git's native
transports: it negotiates, receives and indexes one pack and prints the refs it
fetched — 0.43-0.57 s for the same 10k.  Measured on the bench fixture (tmpfs, 2 cores)::

    git fetch-pack -q -k -k --stdin PATH < refs            # 0.43-0.57 s
    git rev-list --objects --stdin --not --all --quiet     # 0.10-0.13 s (the check below)
    git fetch --dry-run ... '+refs/exp/*:refs/remote-exp/origin/*'   # 0.64-0.79 s

It is exactly as safe as ``git fetch``:

- the pack is locked with a ``.keep`` file (``-k -k``) until our refs are written, so a
  concurrent repack cannot drop it; ``Fetched.release`` removes the lock, as git does;
- before any ref is written, ``verify`` runs the connectivity check ``git fetch`` runs
  (``rev-list --objects --stdin --not --all --quiet --alternate-refs`` over the fetched
  tips): a remote that sent an incomplete history changes nothing here.  Many tips are
  split over one rev-list per core (each tip's history is checked by one of them, so
  together they check exactly what one would): 10k tips take ~0.05 s instead of ~0.1 s
  (git 2.39 has no ``--unsorted-input``; the walk's cost grows faster than its input);
- ``fetch.fsckObjects``, ``fetch.unpackLimit``, ``protocol.*``, ``core.sshCommand`` and
  the user's ssh config are read by fetch-pack itself; ``url.<base>.insteadOf`` is
  applied by taking the URL from ``git ls-remote --get-url``, and
  ``remote.<name>.uploadpack`` is passed on.

What fetch-pack does not speak goes through ``git fetch --dry-run`` (``native``
returns None): http(s) and other remote helpers (``scheme::url``,
``remote.<name>.vcs``), bundle files, partial clones (promisor remotes, filters), and
shallow clones, where git must record the new shallow boundary.
"""
from __future__ import annotations

import os

from git_exp.git import Running, wait_all
from git_exp.record import Record
from git_exp.remotes import Remote, TransportError, explain
from git_exp.repo import Repo

CHECK_PARTS = min(4, os.cpu_count() or 1)  # rev-lists side by side: 10k tips, 1 in ~0.1 s, 2 in ~0.05 s
CHECK_MIN = 400  # tips per rev-list, at least (1k tips: one rev-list 14.5 ms, two 10 ms)
NATIVE_SCHEMES = ("file", "git", "ssh", "git+ssh", "ssh+git")
SETTINGS = r"^(remote\..*\.(uploadpack|vcs|promisor|partialclonefilter)|extensions\.partialclone)$"


class Native(Record):
    """How to reach a remote with fetch-pack: its URL after insteadOf, and its upload-pack."""

    __slots__ = ("remote", "url", "upload_pack")


def _scheme(url: str) -> tuple[str, str]:
    """``(scheme, what follows it)`` as git's transport.c reads a URL's start: letters,
    then letters, digits, ``+ - .``; ``("", url)`` when there is none."""
    i = 0
    while i < len(url) and (url[i].isascii() and (url[i].isalpha() or (i and (url[i].isdigit() or url[i] in "+-.")))):
        i += 1
    return (url[:i], url[i:]) if i else ("", url)


def _local_file(repo: Repo, url: str) -> bool:
    """A local path (git's ``url_is_local_not_ssh``) naming a file: perhaps a bundle."""
    colon, slash = url.find(":"), url.find("/")
    local = colon == -1 or (slash != -1 and slash < colon)
    return local and os.path.isfile(os.path.join(repo.worktree or repo.git_dir, url))


def start_probe(repo: Repo, remote: Remote) -> list[Running]:
    """Start what ``native`` reads (the URL after insteadOf, the remote's settings), to
    run beside other work; nothing for a shallow clone."""
    if repo.shallow:
        return []
    return [repo.start("ls-remote", "--get-url", "--", remote.name), repo.start("config", "-z", "--get-regexp", SETTINGS)]


def native(repo: Repo, remote: Remote, probe: list[Running] | None = None) -> Native | None:
    """How fetch-pack reaches ``remote``, or None when only ``git fetch`` can
    (``probe``: ``start_probe``'s, if started)."""
    probe = start_probe(repo, remote) if probe is None else probe
    if not probe:
        return None
    url_run, settings_run = probe
    wait_all(probe)
    url = url_run.wait(check=False).out.rstrip("\n")
    settings = {}
    for record in settings_run.wait(check=False).out.split("\0"):
        key, _, value = record.partition("\n")
        settings[key] = value
    prefix = f"remote.{remote.name}."
    if (not url or url.startswith("-") or "extensions.partialclone" in settings
            or any(prefix + key in settings for key in ("vcs", "promisor", "partialclonefilter"))):
        return None
    scheme, rest = _scheme(url)
    if rest.startswith("::"):
        return None  # a remote helper
    if rest.startswith("://"):
        return Native(remote, url, settings.get(prefix + "uploadpack")) if scheme in NATIVE_SCHEMES else None
    if _local_file(repo, url):
        return None  # a bundle: git fetch reads those
    return Native(remote, url, settings.get(prefix + "uploadpack"))


class Fetched:
    """The refs fetch-pack brought (``{ref: sha}``), their pack's lock, the running check."""

    def __init__(self, repo: Repo, how: Native, shas: dict[str, str], keep: str | None):
        self.repo, self.how, self.shas, self.keep = repo, how, shas, keep
        tips = sorted(set(shas.values()))
        parts = max(1, min(CHECK_PARTS, len(tips) // CHECK_MIN)) if tips else 0
        self.checks: list[Running] = [
            repo.start("rev-list", "--objects", "--stdin", "--not", "--all", "--quiet", "--alternate-refs",
                       input="".join(f"{sha}\n" for sha in tips[i::parts]))
            for i in range(parts)]

    def verify(self) -> None:
        """Wait for the connectivity check; raise (changing nothing) when history is missing."""
        if not self.checks:
            return
        wait_all(self.checks)
        failed = [result for result in (one.wait(check=False) for one in self.checks) if result.returncode]
        self.checks = []
        if failed:
            self.release()
            remote = self.how.remote
            detail = "\n".join("    " + line for line in failed[0].err.strip().splitlines()[-6:])
            raise TransportError(
                f"{remote.name} ({remote.shown_url}) sent an incomplete history (git's connectivity check "
                f"failed) — nothing was changed here; the remote may be a shallow clone, or damaged "
                f"(`git fsck` there)\n{detail}".rstrip())

    def release(self) -> None:
        """Unlock the pack (after the refs that keep its objects alive are written)."""
        if self.checks:
            wait_all(self.checks)
            self.checks = []
        if self.keep:
            try:
                with open(self.keep, "rb") as f:
                    ours = f.read().startswith(b"fetch-pack ")
                if ours:
                    os.unlink(self.keep)
            except FileNotFoundError:
                pass
            self.keep = None

    def __enter__(self) -> Fetched:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def fetch(repo: Repo, how: Native, refs: list[str]) -> Fetched:
    """Fetch ``refs`` (full names) with fetch-pack; the connectivity check starts at once."""
    args = ["fetch-pack", "-q", "--no-progress", "--thin", "-k", "-k", "--stdin"]
    if how.upload_pack:
        args.append(f"--upload-pack={how.upload_pack}")
    result = repo.run(*args, how.url, input="".join(f"{ref}\n" for ref in refs), check=False)
    shas, keep = {}, None
    for line in result.out.splitlines():
        word, tab, rest = line.partition("\t")
        if tab and word in ("keep", "pack"):
            if word == "keep":
                keep = os.path.join(_objects(repo), "pack", f"pack-{rest}.keep")
            continue
        sha, _, ref = line.partition(" ")
        if ref.startswith("refs/"):
            shas[ref] = sha
    if result.returncode or set(refs) - set(shas):
        Fetched(repo, how, {}, keep).release()  # no check to run: just unlock what came
        raise explain(how.remote, result, "fetching experiments from")
    return Fetched(repo, how, shas, keep)


def _objects(repo: Repo) -> str:
    return os.environ.get("GIT_OBJECT_DIRECTORY") or os.path.join(repo.common_dir, "objects")
