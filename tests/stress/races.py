"""Concurrency: many ``git exp`` processes at once, and ``git exp`` racing git's own
maintenance.  Every process that reports success must have done its work, and nothing a
racing process did may be lost."""
from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.stress import checks
from tests.stress.checks import expect_clean, expect_ok
from tests.stress.core import Ctx, scenario
from tests.stress.env import Repo
from tests.stress.world import T0, make_exps

RACE_NEW = 70
SAVED = re.compile(r"saved experiment (\S+) \(([0-9a-f]+)\)")


def clone(ctx: Ctx, remote: Repo, name: str) -> Repo:
    path = ctx.dir(name)
    ctx.sb.git(ctx.sb.root, "clone", "-q", str(remote.path), str(path))
    return ctx.sb.hook(path, path / ".git")


def together(jobs: list) -> list:
    """Run the callables at the same moment (as far as threads allow); their results."""
    barrier = threading.Barrier(len(jobs))

    def go(job):
        barrier.wait()
        return job()
    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(go, jobs))


@scenario("concurrent saves+pushes", "race")
def saves_and_pushes(ctx: Ctx) -> None:
    """``workers`` processes, four per clone, each saving and pushing ``iterations`` times
    to one remote; every fifth a ``save --append`` to a name its clone shares, and once a
    push of more than 16 names (staged)."""
    sb, tally, size = ctx.sb, ctx.tally, ctx.size
    w = ctx.fresh()
    clones = [w.local] + [clone(ctx, w.remote, f"clone{c}") for c in range(1, (size.workers + 3) // 4)]
    for c, repo in enumerate(clones):
        expect_ok(tally, sb.exp(repo.path, "save", "-n", f"shared-{c}"), "setup")
    before = checks.snapshots(sb, clones + [w.remote])
    lock = threading.Lock()
    saved, pushed, appends = [], [], [0] * len(clones)

    def worker(wi: int) -> None:
        c = wi % len(clones)
        repo = clones[c]
        mine = []
        for j in range(size.iterations):
            name = f"w{wi}-{j:03d}"
            (repo.path / f"w{wi}").mkdir(exist_ok=True)
            (repo.path / f"w{wi}" / f"f{j}.txt").write_text(f"{wi} {j}\n")
            res = sb.exp(repo.path, "save", "-n", name)
            if expect_ok(tally, res, f"w{wi} save {j}"):
                got = SAVED.search(res.err_text)
                with lock:
                    saved.append((repo, name, got.group(2) if got else ""))
                mine.append(name)
                if expect_ok(tally, sb.exp(repo.path, "push", "origin", name), f"w{wi} push {j}"):
                    with lock:
                        pushed.append((repo, name))
            if j % 5 == 4:
                res = sb.exp(repo.path, "save", "--append", "-n", f"shared-{c}")
                if expect_clean(tally, res, f"w{wi} save --append {j}"):
                    with lock:
                        appends[c] += 1
            if j == size.iterations // 2:
                names = (mine + [f"e{k:02d}" for k in range(17)])[:17]
                expect_ok(tally, sb.exp(repo.path, "push", "origin", *names), f"w{wi} push of 17 names")
            tally.rounds += 1

    together([lambda wi=wi: worker(wi) for wi in range(size.workers)])
    for c, repo in enumerate(clones):
        expect_ok(tally, sb.exp(repo.path, "push", "origin", "--all"), f"clone {c}: final push --all")
    local = {repo: ctx.exps(repo) for repo in clones}
    remote = ctx.exps(w.remote)
    for repo, name, short in saved:
        if not local[repo].get(name, "-").startswith(short):
            tally.add("lost", f"{repo.name}: {name}, reported saved as {short}, is at {local[repo].get(name, 'nothing')}")
    for repo, name in pushed:
        if remote.get(name) != local[repo].get(name):
            tally.add("lost", f"remote: {name}, reported pushed, is at {remote.get(name, 'nothing')}")
    for c, repo in enumerate(clones):
        versions = sb.git(repo.path, "rev-list", "--count", f"refs/exp/shared-{c}", f"^{w.main}").decode().strip()
        if int(versions or 0) != appends[c] + 1:
            tally.add("lost", f"{repo.name}: shared-{c} has {versions} versions after {appends[c]} reported appends")
    expected = {repo: set(local[repo].values()) for repo in clones}
    expected[w.remote] = set(remote.values())
    checks.check(sb, tally, before, expected, where="after all workers", litter=True)
    checks.tmp_litter(sb, tally, "after all workers")


@scenario("pulls racing gc, pack-refs, update-ref", "race")
def pulls_racing_maintenance(ctx: Ctx) -> None:
    """Each round the remote gains 70 experiments n<i>-00..69 and the local repository
    starts ``git exp pull --all`` while, after random delays within the pull's runtime,
    ``git gc`` (or ``pack-refs --all``), ``git update-ref`` of ``n<i>-00/sub`` (clashing
    with an incoming name) and of ``n<i>-99`` (a neighbour) run."""
    sb, tally = ctx.sb, ctx.tally
    w = ctx.fresh()
    spent = sb.exp(w.local.path, "pull", "origin", "--all")
    expect_ok(tally, spent, "setup pull")

    def later(*args):
        delay = ctx.rng.uniform(0, spent.seconds)
        return lambda: (time.sleep(delay), sb.git_result(w.local.path, *args))[1]
    for i in range(ctx.size.race_rounds):
        tally.rounds += 1
        where = f"round {i + 1}"
        with sb.setup(w.remote):  # more than 64: what once took a path of its own
            new = make_exps(sb, w.remote, [f"n{i:03d}-{k:02d}" for k in range(RACE_NEW)], w.main,
                            t0=T0 + 10**6 + 10**4 * i)
        before = checks.snapshots(sb, w.repos)
        expected = ctx.expected(w)
        maintenance = ("gc", "--quiet") if i % 2 == 0 else ("pack-refs", "--all")
        clash, neighbour_name = f"n{i:03d}-00", f"n{i:03d}-99"
        pull, _, sub, neighbour = together([
            lambda: sb.exp(w.local.path, "pull", "origin", "--all"),
            later(*maintenance),
            later("update-ref", f"refs/exp/{clash}/sub", w.main),
            later("update-ref", f"refs/exp/{neighbour_name}", w.main),
        ])
        expect_clean(tally, pull, where + ": pull")
        reported = re.findall(r"^(?:new|updated|forced)\s+(\S+)$", pull.out_text, re.M)
        for name in reported:
            expected[w.local].add(new.get(name, ""))
        if sub.code == 0 or neighbour.code == 0:
            expected[w.local].add(w.main)
        checks.check(sb, tally, before, expected, where=where)
        have = ctx.exps(w.local)
        for name in reported:
            if have.get(name) != new.get(name):
                tally.add("lost", f"{where}: pull reported {name} but it is at {have.get(name, 'nothing')}")
        for ref, res in ((f"{clash}/sub", sub), (neighbour_name, neighbour)):
            if res.code == 0 and have.get(ref) != w.main:
                tally.add("lost", f"{where}: git update-ref refs/exp/{ref} succeeded but it is at {have.get(ref, 'nothing')}")
        rerun = sb.exp(w.local.path, "pull", "origin", "--all")
        expect_clean(tally, rerun, where + ": pull again")
        checks.check(sb, tally, before, expected, where=where + ", pulled again", litter=True)
        have = ctx.exps(w.local)
        blocked = clash if f"{clash}/sub" in have else None
        for name, sha in new.items():
            if name != blocked and have.get(name) != sha:
                tally.add("failed", f"{where}: after a second pull {name} is at {have.get(name, 'nothing')}, not {sha[:12]}")


def concurrent_pulls(n: int) -> None:
    @scenario(f"{n} concurrent pulls", "race")
    def run(ctx: Ctx) -> None:
        """Each round the remote gains ``pull_exps`` experiments, and ``n`` ``git exp pull
        --all`` start at once: each must succeed, as ``git fetch`` run twice does."""
        sb, tally = ctx.sb, ctx.tally
        w = ctx.fresh()
        for i in range(ctx.size.pull_rounds):
            tally.rounds += 1
            where = f"round {i + 1}"
            with sb.setup(w.remote):
                new = make_exps(sb, w.remote, [f"c{i:02d}-{k:04d}" for k in range(ctx.size.pull_exps)], w.main,
                                t0=T0 + 2 * 10**6 + 10**5 * i)
            before = checks.snapshots(sb, w.repos)
            expected = ctx.expected(w)
            expected[w.local] |= set(new.values())
            results = together([lambda: sb.exp(w.local.path, "pull", "origin", "--all")] * n)
            for k, res in enumerate(results):
                expect_ok(tally, res, f"{where}: pull {k + 1} of {n}")
            checks.check(sb, tally, before, expected, where=where, litter=True)
            have = ctx.exps(w.local)
            missing = [name for name, sha in new.items() if have.get(name) != sha]
            if missing:
                tally.add("failed", f"{where}: {len(missing)} new experiments not pulled, such as {missing[0]}")
            checks.tmp_litter(sb, tally, where)


concurrent_pulls(2)
concurrent_pulls(3)
