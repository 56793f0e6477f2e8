"""``--with-100k``: what many experiments cost the everyday git of a team (issue 14).

Two bare remotes that each have the same 1k live experiments (the newest of N):

- ``plain.git``: those 1k and nothing more (the state of a team with 1k experiments);
- ``archived.git``: those 1k plus the N - 1k others, archived by ``git exp archive
  --keep 1000`` into archive refs (``git_exp.archives``) and sent by ``git exp push
  --archived`` (the remote never had the others' own refs, as after that push).

A clone of each, ``git exp install origin``-ed and fetched (live experiments as
remote-tracking refs, the archives as themselves), refs packed.  The rows:

- ``fetch-installed-archived``: a no-op plain ``git fetch`` in the archived clone (A)
  against the same in the plain one (B); target ≤ 1.5.
- ``push-branch-archived``: ``git push origin main`` of a new commit (made before each
  run, untimed) to each remote; target ≤ 1.5.
- ``show-archived``: ``git exp show --archived NAME`` of one archived experiment (A)
  against ``git exp show NAME`` of one live one in the plain clone (B); target: A ≤ 200 ms.

``ARCHIVE_STEPS`` records how long building took (fast-import, ``archive``, ``push
--archived``), printed with the rows: the README's numbers for archiving come from there.
"""
from __future__ import annotations

import time
from functools import cached_property
from pathlib import Path
from typing import Mapping

from tests.bench.env import Cmd, run
from tests.bench.fixtures import bare, build_repo, exp_name, git_exp_commits
from tests.bench.timing import Case

LIVE = 1000
OPS = ("fetch-installed-archived", "push-branch-archived", "show-archived")


class ArchiveFixture:
    def __init__(self, root: Path, n: int, files: int, env: Mapping[str, str]):
        self.dir = root / f"archive-n{n}"
        self.n, self.files, self.env = n, files, env
        self.live = min(LIVE, n // 2)
        self.steps: dict[str, float] = {}

    def git(self, cwd: Path, *args: str) -> str:
        return run(["git", *args], cwd, self.env)

    def _timed(self, step: str, argv: list[str], cwd: Path) -> str:
        start = time.perf_counter()
        out = run(argv, cwd, self.env)
        self.steps[step] = time.perf_counter() - start
        return out

    @cached_property
    def main(self) -> Path:
        """N experiments, all but the newest LIVE archived; both remotes filled from it."""
        path = self.dir / "main"
        start = time.perf_counter()
        build_repo(path, self.env, self.files, {}, git_exp_commits(self.n))
        self.steps["fast-import"] = time.perf_counter() - start
        archived = bare(self.dir / "archived.git", self.env)
        plain = bare(self.dir / "plain.git", self.env)
        self.git(path, "remote", "add", "archived", str(archived))
        self._timed("archive", ["git", "exp", "archive", "--keep", str(self.live)], path)
        # The remote as `git exp push --archived` leaves it (that push deletes the archived
        # experiments' refs there with a lease each: ~2-20 ms per ref here, so the fixture
        # sends the end state instead of the N - 1k deletions).
        self.git(path, "push", "-q", "archived", "main", "refs/exp/*:refs/exp/*")
        self._timed("push --archived", ["git", "exp", "push", "archived", "--archived"], path)
        self.git(path, "push", "-q", str(plain), "main", "refs/exp/*:refs/exp/*")
        for remote in (archived, plain):
            self.git(remote, "pack-refs", "--all")
        return path

    def clone(self, which: str) -> Path:
        _ = self.main
        path = self.dir / f"clone-{which}"
        run(["git", "clone", "-q", "--no-local", str(self.dir / f"{which}.git"), str(path)], self.dir, self.env)
        self.git(path, "exp", "install", "origin")
        self.git(path, "fetch", "-q")
        self.git(path, "pack-refs", "--all")
        return path

    @cached_property
    def archived_clone(self) -> Path:
        return self.clone("archived")

    @cached_property
    def plain_clone(self) -> Path:
        return self.clone("plain")

    def archived_name(self) -> str:
        return exp_name(self.n // 3, self.n)  # among the oldest: archived

    def live_name(self) -> str:
        return exp_name(self.n - 1, self.n)  # the newest: live


def cases(fx: ArchiveFixture) -> dict[str, Case]:
    a, b = fx.archived_clone, fx.plain_clone
    pushes = {"n": 0}

    def new_commits() -> None:
        pushes["n"] += 1
        for clone in (a, b):
            fx.git(clone, "commit", "-q", "--allow-empty", "-m", f"work {pushes['n']}")

    live = fx.live_name()
    fx.git(b, "exp", "pull", "origin", live)  # a local experiment for the baseline's show
    return {
        "fetch-installed-archived": Case(Cmd(("git", "fetch"), a), Cmd(("git", "fetch"), b)),
        "push-branch-archived": Case(Cmd(("git", "push", "-q", "origin", "main"), a),
                                     Cmd(("git", "push", "-q", "origin", "main"), b), new_commits),
        "show-archived": Case(Cmd(("git", "exp", "show", "--archived", fx.archived_name()), a),
                              Cmd(("git", "exp", "show", live), b)),
    }
