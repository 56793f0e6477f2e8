"""The invariants every scenario checks, and the tally of what broke them.

Refs and reflogs are read through git only (``for-each-ref``, ``reflog``, ``rev-list``), so
the checks hold under either ref backend; the git dir is walked only for litter (lock,
temp index and ``.keep`` files are not refs).
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional

from tests.stress.env import Repo, Result, Sandbox

KINDS = ("lost", "corrupt", "outside", "unhooked", "litter", "secrets", "crashes", "unclear", "failed")
OURS = ("refs/exp/", "refs/remote-exp/")                        # where experiments live
# what we may write locally: experiments, staging, remote-tracking ones, tombstones kept by
# pull --prune, tags and notes and the remote's as last fetched (git_exp.notes, notesync)
ALLOWED = ("refs/exp/", "refs/exp-staging/", "refs/remote-exp/", "refs/exp-tombstones/", "refs/notes/exp",
           "refs/notes/remote-exp/")
ALLOWED_ON_REMOTE = ("refs/exp/", "refs/exp-tombstones/", "refs/notes/exp")  # rm/rename --remote leave tombstones
MAX_FINDINGS = 40
MESSAGE_MAX = 512  # one bounded line: a full sha and advice fit, a 10 kB name does not


@dataclass
class Tally:
    """One row of the table: rounds, a count per kind, and what was seen."""

    scenario: str
    rounds: int = 0
    counts: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    findings: list = field(default_factory=list)
    seconds: float = 0.0

    def add(self, kind: str, detail: str, n: int = 1) -> None:
        self.counts[kind] += n
        line = f"{kind}: {detail}"
        if len(self.findings) < MAX_FINDINGS and line not in self.findings:
            self.findings.append(line)

    @property
    def ok(self) -> bool:
        return not any(self.counts.values())

    def as_dict(self) -> dict:
        return {"scenario": self.scenario, "rounds": self.rounds, **self.counts,
                "seconds": round(self.seconds, 1), "findings": self.findings}


@dataclass(frozen=True)
class Ref:
    oid: str
    type: str
    symref: str


@dataclass
class Snap:
    """A repository's refs (and HEAD) and config at one moment."""

    refs: dict
    config: bytes


def _git(sb: Sandbox, repo: Repo, *args: str, input: bytes = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo.path, env=sb.env, input=input, capture_output=True)


def _dec(b: bytes) -> str:
    return os.fsdecode(b)


def read_refs(sb: Sandbox, repo: Repo, tally: Optional[Tally] = None, where: str = "") -> dict:
    """{refname: Ref} of every ref, HEAD included, read by git; a failing listing is corrupt."""
    proc = _git(sb, repo, "for-each-ref", "--format=%(objectname) %(objecttype) %(symref) %(refname)")
    trouble = proc.returncode or b"ignoring" in proc.stderr
    if trouble and tally is not None:
        tally.add("corrupt", f"{where}: git for-each-ref in {repo.name}: {_first(proc.stderr)}")
    refs = {}
    for line in proc.stdout.split(b"\n"):
        if line:
            oid, typ, sym, name = line.split(b" ", 3)
            refs[_dec(name)] = Ref(_dec(oid), _dec(typ), _dec(sym))
    head = _git(sb, repo, "symbolic-ref", "-q", "HEAD").stdout.strip()
    oid = _git(sb, repo, "rev-parse", "-q", "--verify", "HEAD").stdout.strip()
    refs["HEAD"] = Ref(_dec(oid), "commit" if oid else "", _dec(head))
    return refs


def snapshot(sb: Sandbox, repo: Repo) -> Snap:
    """The state to compare with later; empties the repository's hook log."""
    for entry in repo.log.iterdir():
        if entry.name.startswith(("tx.", "prep.")):
            entry.unlink()
    return Snap(read_refs(sb, repo), _git(sb, repo, "config", "--list", "-z").stdout)


def snapshots(sb: Sandbox, repos: Iterable[Repo]) -> dict:
    return {repo: snapshot(sb, repo) for repo in repos}


def hooked(repo: Repo) -> set:
    """(refname, new oid) of every ref change git's reference-transaction hook saw prepared
    (a git killed after writing a ref but before the "committed" call still prepared it)."""
    seen = set()
    for entry in repo.log.iterdir():
        if entry.name.startswith(("tx.", "prep.")):
            for line in entry.read_bytes().split(b"\n"):
                parts = line.split(b" ", 2)
                if len(parts) == 3:
                    seen.add((_dec(parts[2]), _dec(parts[1])))
    return seen


def reachable(sb: Sandbox, repo: Repo, refs: Mapping, reflogs: Iterable[str] = ()) -> set:
    """Commits reachable from the experiment refs and from the reflogs of ``reflogs``."""
    tips = {r.oid for name, r in refs.items() if name.startswith(OURS) and r.type == "commit"}
    for name in reflogs:
        entries = _dec(_git(sb, repo, "reflog", "show", "--format=%H", name, "--").stdout).split()
        tips.update(entries)
        if entries:  # the value before the oldest entry: what the first logged update replaced
            tips.update(_dec(_git(sb, repo, "rev-parse", "-q", "--verify", f"{name}@{{{len(entries)}}}").stdout).split())
    if not tips:
        return set()
    proc = _git(sb, repo, "rev-list", "--stdin", input="\n".join(sorted(tips)).encode() + b"\n")
    return set(_dec(proc.stdout).split())


def check(sb: Sandbox, tally: Tally, before: Mapping, expected: Mapping, *, where: str,
          overwrite: Mapping = None, litter: bool = False, refused: bool = False) -> dict:
    """Check every invariant for each repo of ``before`` ({Repo: Snap}); return {Repo: refs now}.

    ``expected``: {Repo: shas that must stay reachable}; ``overwrite``: {Repo: ref names
    whose reflog may hold an expected sha (the user asked to replace them)}; ``litter``:
    also look for what a finished command must not leave; ``refused``: the hook refused
    every transaction, so any ref change at all went around it."""
    now = {}
    for repo, snap in before.items():
        refs = now[repo] = read_refs(sb, repo, tally, where)
        for name, ref in snap.refs.items():  # for-each-ref does not list a symref whose target is gone
            if ref.symref and name not in refs:
                target = _dec(_git(sb, repo, "symbolic-ref", "-q", name).stdout.strip())
                if target:
                    refs[name] = Ref("", "", target)
        _corrupt(sb, tally, repo, snap.refs, refs, where)
        _changes(tally, repo, snap.refs, refs, where, refused)
        keep = reachable(sb, repo, refs, (overwrite or {}).get(repo, ()))
        lost = []
        for sha in sorted(set(expected.get(repo, ())) - keep):
            was = [n for n, r in snap.refs.items() if r.oid == sha] or ["(reported saved)"]
            lost.append(f"{sha[:12]} (was {_names(was)})")
        _add_many(tally, "lost", f"{where}: {repo.name}:", lost, "reachable from no experiment ref")
        if litter:
            find_litter(sb, tally, repo, refs, where)
    return now


def _corrupt(sb: Sandbox, tally: Tally, repo: Repo, old: Mapping, refs: Mapping, where: str) -> None:
    # what refs reach must be whole; a killed git fetch may leave unreachable, incomplete
    # trees behind, as it does when git-exp is not involved
    fsck = _git(sb, repo, "fsck", "--connectivity-only", "--no-dangling", "--no-progress")
    if fsck.returncode:
        tally.add("corrupt", f"{where}: git fsck in {repo.name}: {_first(fsck.stderr or fsck.stdout)}")
    walk = _git(sb, repo, "rev-list", "--all", "--count")
    if walk.returncode:
        tally.add("corrupt", f"{where}: git rev-list --all in {repo.name}: {_first(walk.stderr)}")
    names = set(refs)
    for name in names:
        parts = name.split("/")
        for i in range(2, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in names:
                tally.add("corrupt", f"{where}: {repo.name} has both {_names([prefix])} and {_names([name])}")
    for name, ref in refs.items():
        was = old.get(name)
        if name.startswith(OURS) and _odd(ref) and (was is None or not _odd(was) or was.symref != ref.symref):
            what = f"a symbolic ref to {ref.symref}" if ref.symref else f"a {ref.type or 'missing object'}"
            tally.add("corrupt", f"{where}: {repo.name}: {_names([name])} is now {what}")


def _odd(ref: Ref) -> bool:
    return bool(ref.symref) or ref.type != "commit"


def _changes(tally: Tally, repo: Repo, old: Mapping, refs: Mapping, where: str, refused: bool) -> None:
    allowed = ALLOWED_ON_REMOTE if repo.remote else ALLOWED
    seen = hooked(repo)
    outside, unhooked = [], []
    for name in sorted(set(old) | set(refs)):
        a, b = old.get(name), refs.get(name)
        if a == b or (a and b and a.symref and a.symref == b.symref):
            continue  # a symbolic ref moves with its target, which is checked on its own
        if not name.startswith(allowed):
            outside.append(f"{_names([name])} {_move(a, b)}")
        new = b.oid if b else "0" * len((a or b).oid or "0" * 40)
        if refused or (name, new) not in seen:
            unhooked.append(f"{_names([name])} {_move(a, b)}")
    why = "although the hook refused every transaction" if refused else "without git's reference-transaction hook"
    _add_many(tally, "outside", f"{where}: {repo.name}:", outside, "")
    _add_many(tally, "unhooked", f"{where}: {repo.name}:", unhooked, why)


def _add_many(tally: Tally, kind: str, head: str, items: list, tail: str) -> None:
    """One finding for many alike: the first two and a count."""
    if items:
        more = f" (and {len(items) - 2} more)" if len(items) > 2 else ""
        tally.add(kind, f"{head} {'; '.join(items[:2])}{more} {tail}".rstrip(), len(items))


def find_litter(sb: Sandbox, tally: Tally, repo: Repo, refs: Mapping, where: str) -> None:
    staging = [n for n in refs if n.startswith("refs/exp-staging/")]
    if staging:
        tally.add("litter", f"{where}: {repo.name}: {len(staging)} refs under refs/exp-staging/", len(staging))
    found = []
    for dirpath, dirnames, filenames in os.walk(repo.gitdir):
        rel = Path(dirpath).relative_to(repo.gitdir)
        if rel.parts[:1] == ("hooks",):
            continue
        for f in filenames:
            if f.endswith(".lock") or f.startswith("exp-index") or (f.startswith("pack-") and f.endswith(".keep")) \
                    or (rel == Path("git-exp") and f.endswith(".part")):  # ``show --json``'s parts of facts
                found.append(str(rel / f))
        if rel == Path("worktrees"):
            found += [f"worktrees/{d}" for d in dirnames]
    if found:
        shown = ", ".join(sorted(found)[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        tally.add("litter", f"{where}: {repo.name}: {shown}", len(found))


def tmp_litter(sb: Sandbox, tally: Tally, where: str) -> None:
    """Temp files and dirs a finished ``git exp`` left in TMPDIR."""
    tmp = Path(sb.env["TMPDIR"])
    for entry in sorted(tmp.iterdir()):
        tally.add("litter", f"{where}: {entry.name} left in TMPDIR")
        _rm(entry)


def _rm(path: Path) -> None:
    import shutil
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------- judging results

def crashed(tally: Tally, res: Result, where: str) -> bool:
    """Count a crash (traceback, internal error, signal, timeout, out of memory)."""
    err = res.err
    if res.timed_out:
        tally.add("crashes", f"{where}: `{res}` ran past its timeout ({res.seconds:.0f} s)")
    elif res.code < 0 and not res.killed:
        tally.add("crashes", f"{where}: `{res}` died of signal {-res.code}")
    elif any(s in err for s in (b"Traceback", b"internal error", b"MemoryError", b"RecursionError")):
        tally.add("crashes", f"{where}: `{res}`: {_first(err, b'internal error') or _first(err, b'Error')}")
    else:
        return False
    return True


def expect_ok(tally: Tally, res: Result, where: str) -> bool:
    """The command must succeed (exit 0)."""
    if crashed(tally, res, where):
        return False
    if res.code != 0:
        tally.add("failed", f"{where}: `{res}` exited {res.code}: {_first(res.err, b'error') or _first(res.err)}")
        return False
    return True


def expect_clean(tally: Tally, res: Result, where: str) -> bool:
    """Success, or a failure that says so in one bounded ``git-exp: error:`` line."""
    if crashed(tally, res, where):
        return False
    if res.code == 0:
        return True
    lines = [ln for ln in res.err_text.splitlines() if ln.startswith("git-exp: error: ")]
    if res.code not in (1, 2) or not lines:
        tally.add("unclear", f"{where}: `{res}` exited {res.code} without a git-exp error line: {_first(res.err)}")
    elif len(lines[0]) > MESSAGE_MAX:
        tally.add("unclear", f"{where}: `{res}`: error line of {len(lines[0])} characters")
    return False


def expect_refused(tally: Tally, res: Result, where: str) -> bool:
    """A refusal: exit 1 or 2 and exactly one bounded ``git-exp: error:`` line."""
    if crashed(tally, res, where):
        return False
    lines = res.err_text.strip().splitlines()
    if res.code == 0:
        tally.add("unclear", f"{where}: `{res}` was accepted (exit 0)")
    elif res.code not in (1, 2) or len(lines) != 1 or not lines[0].startswith("git-exp: error: "):
        tally.add("unclear", f"{where}: `{res}` exited {res.code} with {len(lines)} lines: {_first(res.err)}")
    elif len(lines[0]) > MESSAGE_MAX:
        tally.add("unclear", f"{where}: `{res}`: error line of {len(lines[0])} characters")
    else:
        return True
    return False


def scan_secrets(tally: Tally, where: str, data: bytes, secrets: Iterable[str]) -> None:
    for secret in secrets:
        n = data.count(secret.encode())
        if n:
            tally.add("secrets", f"{where}: {secret!r} found {n}x", n)


# ---------------------------------------------------------------------- small helpers

def _first(text: bytes, marker: bytes = b"") -> str:
    for line in text.split(b"\n"):
        if line.strip() and marker.lower() in line.lower():
            return _cut(line.decode("utf-8", "replace").strip())
    return ""


def _cut(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[:n] + "…"


def _names(names: Iterable[str]) -> str:
    return ", ".join(_cut(repr(n) if not n.isprintable() or not n.isascii() else n, 70) for n in names)


def _move(a: Optional[Ref], b: Optional[Ref]) -> str:
    if a is None:
        return f"created at {b.oid[:12]}"
    if b is None:
        return f"deleted (was {a.oid[:12]})"
    if a.symref != b.symref:
        return f"retargeted {a.symref or a.oid[:12]} -> {b.symref or b.oid[:12]}"
    return f"moved {a.oid[:12]} -> {b.oid[:12]}"
