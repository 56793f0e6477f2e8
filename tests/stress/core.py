"""What every scenario gets: the sizes, a context (sandbox, seeded random, tally, worlds),
and the registry that keeps scenarios in table order."""
from __future__ import annotations

import random
import shutil
import time
from dataclasses import dataclass, field
from typing import Callable

from tests.stress import checks
from tests.stress.checks import Tally
from tests.stress.env import Repo, Sandbox, World
from tests.stress.world import make_world


@dataclass(frozen=True)
class Size:
    kill_rounds: int     # SIGKILLs per command
    workers: int         # concurrent save+push processes ...
    iterations: int      # ... each doing this many saves and pushes
    race_rounds: int     # pulls racing gc / pack-refs / update-ref
    pull_rounds: int     # rounds of 2 and of 3 concurrent pulls
    pull_exps: int       # new remote experiments per concurrent-pull round
    flood: int           # refs a hostile remote advertises
    names: int           # hostile names tried per command (0: all)
    patience: float      # seconds one command on hostile files may take
    big_file: int        # lines of the oversized params.yaml
    every_case: bool     # every symref command and every command per hostile URL


SIZES = {
    "reduced": Size(kill_rounds=1, workers=3, iterations=5, race_rounds=2, pull_rounds=1, pull_exps=80,
                    flood=2_000, names=4, patience=10, big_file=300_000, every_case=False),
    "full": Size(kill_rounds=10, workers=8, iterations=50, race_rounds=20, pull_rounds=5, pull_exps=300,
                 flood=200_000, names=0, patience=30, big_file=2_000_000, every_case=True),
}


@dataclass
class Ctx:
    sb: Sandbox
    size: Size
    rng: random.Random
    tally: Tally
    memo: dict = field(default_factory=dict)
    _n: int = 0

    def fresh(self, **kw) -> World:
        """A new copy of a template world (built on first use by :func:`make_world` with ``kw``)."""
        key = tuple(sorted(kw.items()))
        if key not in self.sb.templates:
            self.sb.templates[key] = make_world(self.sb, self.dir("template"), **kw)
        return self.sb.copy(self.sb.templates[key], self.dir("w"))

    def dir(self, stem: str):
        self._n += 1
        slug = "".join(c if c.isalnum() else "-" for c in self.tally.scenario)
        return self.sb.root / f"{slug}-{stem}{self._n}"

    def drop(self, world: World) -> None:
        if not self.sb.keep:
            shutil.rmtree(world.root, ignore_errors=True)

    def exps(self, repo: Repo, prefix: str = "refs/exp/") -> dict:
        """{name: sha} of the commits under ``prefix``, read by git."""
        return {n[len(prefix):]: r.oid for n, r in checks.read_refs(self.sb, repo).items() if n.startswith(prefix)}

    def expected(self, world: World, gone=(), gone_remote=()) -> dict:
        """{Repo: shas that must stay reachable}: every experiment now, but those whose refs
        the command is meant to delete."""
        out = {}
        for repo, skip in ((world.local, gone), (world.remote, gone_remote)):
            refs = checks.read_refs(self.sb, repo)
            out[repo] = {r.oid for n, r in refs.items() if n.startswith(checks.OURS) and n not in skip
                         and r.type == "commit" and not r.symref}
        return out


Scenario = Callable[[Ctx], None]
REGISTRY: dict = {}


def scenario(name: str, group: str):
    """Register ``fn`` as scenario ``name``; ``group`` lets test_stress split the suite."""
    def wrap(fn: Scenario) -> Scenario:
        REGISTRY[name] = (group, fn)
        return fn
    return wrap


def run_scenario(name: str, size: Size, *, seed: int, sb: Sandbox) -> Tally:
    """Run one scenario in ``sb``; its tally (a harness error is a ``failed`` finding)."""
    tally = Tally(name)
    ctx = Ctx(sb, size, random.Random(f"{seed}:{name}"), tally)
    start = time.monotonic()
    try:
        REGISTRY[name][1](ctx)
    except Exception as exc:  # the harness itself broke: say so in the row, go on
        tally.add("failed", f"harness: {type(exc).__name__}: {exc}")
    tally.seconds = time.monotonic() - start
    return tally
