"""Worlds to attack: a local repository with experiments and a bare remote, built with real git.

Experiments are made with ``git fast-import`` (one process for hundreds of commits), each a
commit on top of ``main`` with its own ``params.yaml`` and ``metrics.json`` and a commit
date one minute after the previous one, so ``gc --keep N`` knows which are newest.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Optional

from tests.stress.env import Repo, Sandbox, World

T0 = 1_700_000_000


def import_commits(sb: Sandbox, repo: Repo, refs: Mapping[str, Mapping[str, bytes]], base: Optional[str],
                   *, t0: int = T0, message: str = "run: python train.py") -> dict:
    """Create one commit per ``refs`` entry ({refname: {path: content}}) on top of ``base``;
    return {refname: sha}."""
    chunks = []
    for i, (ref, files) in enumerate(refs.items()):
        msg = (f"{message}\n\nExp-Command: python train.py\nExp-Exit-Code: 0\nExp-Duration: 1.5\n").encode()
        chunks.append(b"commit %s\ncommitter C O Mitter <committer@example.com> %d +0000\ndata %d\n%s"
                      % (ref.encode("utf-8", "surrogateescape"), t0 + 60 * i, len(msg), msg))
        if base:
            chunks.append(b"from %s\n" % base.encode())
        for path, content in files.items():
            chunks.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(content), content))
        chunks.append(b"\n")
    sb.git(repo.path, "fast-import", "--quiet", "--force", input=b"".join(chunks))
    listing = sb.git(repo.path, "for-each-ref", "--format=%(refname) %(objectname)")
    shas = dict(line.rsplit(" ", 1) for line in listing.decode("utf-8", "surrogateescape").splitlines())
    return {r: shas[r] for r in refs}


def exp_files(i: int) -> dict:
    return {"params.yaml": b"lr: %g\nseed: %d\n" % (i / 1000, i), "metrics.json": b'{"acc": 0.%03d}' % (i % 1000)}


def make_exps(sb: Sandbox, repo: Repo, names: Iterable[str], base: str, *, t0: int = T0, first: int = 0) -> dict:
    """Experiments ``refs/exp/<name>`` on ``base``; return {name: sha}."""
    names = list(names)
    refs = {f"refs/exp/{n}": exp_files(first + i) for i, n in enumerate(names)}
    made = import_commits(sb, repo, refs, base, t0=t0)
    return {n: made[f"refs/exp/{n}"] for n in names}


def make_world(sb: Sandbox, root: Path, *, exps: int = 40, local_only: int = 10, remote_only: int = 20,
               files: int = 30) -> World:
    """``root/local`` with ``files`` files on ``main`` and experiments ``a``, ``b``, e00..
    (half packed, half loose), all pushed to ``root/remote.git``, then ``local_only`` newer
    ones p00.. not pushed; the remote has ``remote_only`` experiments r00.. of its own."""
    remote = sb.init(root / "remote.git", bare=True, hook=False)
    local = sb.init(root / "local", hook=False)
    tree = {"README": b"hello\n", "params.yaml": b"lr: 0.1\nseed: 0\n", "train.py": b"print('train')\n"}
    tree.update({f"src/f{i:04d}.txt": b"line %d\n" % i for i in range(files)})
    for rel, content in tree.items():
        target = local.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    sb.git(local.path, "add", "-A")
    sb.git(local.path, "commit", "-q", "-m", "initial", env={"GIT_COMMITTER_DATE": f"{T0 - 3600} +0000",
                                                            "GIT_AUTHOR_DATE": f"{T0 - 3600} +0000"})
    main = sb.git(local.path, "rev-parse", "HEAD").decode().strip()
    sb.git(local.path, "remote", "add", "origin", str(remote.path))
    sb.git(local.path, "push", "-q", "origin", "main")
    names = ["a", "b"] + [f"e{i:02d}" for i in range(exps)]
    half = len(names) // 2
    shas = make_exps(sb, local, names[:half], main)
    sb.git(local.path, "pack-refs", "--all")
    shas.update(make_exps(sb, local, names[half:], main, t0=T0 + 60 * half, first=half))
    sb.git(local.path, "push", "-q", "origin", "refs/exp/*:refs/exp/*")
    n = len(names)
    shas.update(make_exps(sb, local, [f"p{i:02d}" for i in range(local_only)], main, t0=T0 + 60 * n, first=n))
    n += local_only
    shas.update(make_exps(sb, remote, [f"r{i:02d}" for i in range(remote_only)], main, t0=T0 + 60 * n, first=n))
    for repo in (local, remote):  # one pack: a copy per round is then cheap
        sb.git(repo.path, "repack", "-adq")
        sb.git(repo.path, "prune-packed")
    return World(root, local, remote, shas, main)
