"""SIGKILL at random points: each command is run once to measure it, then, on fresh copies
of the same world, killed (its whole process group) after a delay drawn uniformly from
its runtime, checked, rerun, and checked again.  The rerun must finish the work: exit 0,
or refuse cleanly because the killed run had already finished it, or name the command
that finishes it (``finish it with `git exp ...` ``), which then must."""
from __future__ import annotations

import os
import re
import shlex
import shutil
from dataclasses import dataclass
from typing import Callable, Optional

from tests.stress import checks
from tests.stress.checks import expect_ok
from tests.stress.core import Ctx, scenario
from tests.stress.env import World

ADVICE = re.compile(r"finish it with `(git exp [^`]+)`")
SUBSET = tuple(f"p{i:02d}" for i in range(10)) + tuple(f"e{i:02d}" for i in range(8))  # > 16: staged


@dataclass(frozen=True)
class Kill:
    name: str
    args: tuple
    done: Callable[[Ctx, World], list]        # what of the command's work is still missing
    prepare: Optional[Callable[[Ctx, World], None]] = None
    gone: Callable[[Ctx, World], set] = lambda ctx, w: set()   # local refs it may delete
    overwrite: tuple = ()                     # local refs whose reflog keeps the old commit
    env: Optional[dict] = None                # for the command, killed or not


# ---------------------------------------------------------------------- preparations and checks

def dirty(ctx: Ctx, w: World) -> None:
    (w.local.path / "dirty.txt").write_text("changed\n")
    (w.local.path / "src" / "f0000.txt").write_text("edited\n")


def has_file(ref: str, path: str):
    def done(ctx: Ctx, w: World) -> list:
        res = ctx.sb.git_result(w.local.path, "cat-file", "-e", f"{ref}:{path}")
        return [] if res.code == 0 else [f"{ref} has no {path}"]
    return done


def appended(ctx: Ctx, w: World) -> list:
    missing = has_file("refs/exp/e06", "dirty.txt")(ctx, w)
    history = ctx.sb.git(w.local.path, "rev-list", "refs/exp/e06").decode().split()
    return missing + ([] if w.shas["e06"] in history else ["e06's previous version is not in its history"])


def same(names, *, local: bool = True, remote: bool = False, src: str = "local"):
    """Every name in ``names`` at its setup sha (or, with src='remote', at the remote's)."""
    def done(ctx: Ctx, w: World) -> list:
        want = ctx.exps(w.remote if src == "remote" else w.local)
        want = {n: want.get(n, w.shas.get(n)) for n in (names(ctx, w) if callable(names) else names)}
        missing = []
        for repo, on in ((w.local, local), (w.remote, remote)):
            have = ctx.exps(repo) if on else {}
            missing += [f"{repo.name} lacks {n} at {sha[:12]}" for n, sha in want.items()
                        if on and have.get(n) != sha]
        return missing
    return done


def many_and_cold(ctx: Ctx, w: World) -> None:
    """120 more experiments (``show --json`` reads a part at a time from LINES_MIN rows on), no facts."""
    from tests.stress.world import make_exps

    main = ctx.sb.git(w.local.path, "rev-parse", "main").decode().strip()
    make_exps(ctx.sb, w.local, [f"cold/{i:03d}" for i in range(120)], main, first=100)
    shutil.rmtree(w.local.gitdir / "git-exp", ignore_errors=True)


def facts_whole(ctx: Ctx, w: World) -> list:
    """The facts file holds what a cold ``show --json`` learnt, and no part file is left."""
    folder = w.local.gitdir / "git-exp"
    names = sorted(os.listdir(folder)) if folder.is_dir() else []
    problems = [f"{n} left" for n in names if n.endswith(".part")]
    data = (folder / "facts").read_bytes() if "facts" in names else b""
    return problems + [f"no {s} facts" for s in ("heads", "files", "lines") if s.encode() not in data[:4096]]


def all_local(ctx: Ctx, w: World) -> list:
    return list(ctx.exps(w.local))


def all_remote(ctx: Ctx, w: World) -> list:
    return list(ctx.exps(w.remote))


def renamed(old: str, new: str, *, remote: bool = False):
    def done(ctx: Ctx, w: World) -> list:
        sha, problems = w.shas[old], []
        for repo in (w.local, w.remote) if remote else (w.local,):
            have = ctx.exps(repo)
            if have.get(new) != sha:
                problems.append(f"{repo.name}: {new} is not at {old}'s {sha[:12]}")
            if old in have:
                problems.append(f"{repo.name}: {old} still exists")
        return problems
    return done


def newest(n: int):
    def names(ctx: Ctx, w: World) -> list:
        out = ctx.sb.git(w.local.path, "for-each-ref", "--sort=-committerdate", "--format=%(refname)", "refs/exp/")
        return out.decode().split()[:n]
    return names


def kept_newest(n: int):
    def done(ctx: Ctx, w: World) -> list:
        have = set(ctx.exps(w.local))
        keep = set(w.notes["newest"])
        return [f"{x} should have been kept" for x in keep - have] + [f"{x} should be gone" for x in have - keep]
    return done


def gc_gone(ctx: Ctx, w: World) -> set:
    w.notes["newest"] = [r[len("refs/exp/"):] for r in newest(20)(ctx, w)]
    return {f"refs/exp/{n}" for n in ctx.exps(w.local)} - {f"refs/exp/{n}" for n in w.notes["newest"]}


def config(ctx: Ctx, w: World) -> bytes:
    res = ctx.sb.git_result(w.local.path, "config", "--get-regexp", r"^(remote\.origin\.(fetch|push)|exp\.)")
    return res.out


def same_config_as_unkilled(ctx: Ctx, w: World) -> list:
    want = ctx.memo.setdefault("config", config(ctx, w))
    return [] if config(ctx, w) == want else [f"config after install differs from an uninterrupted install's: "
                                              f"{_diff(config(ctx, w), want)}"]


def _diff(have: bytes, want: bytes) -> str:
    a, b = have.decode().splitlines(), want.decode().splitlines()
    return "; ".join([f"+{x}" for x in a if x not in b] + [f"-{x}" for x in b if x not in a])


def installed_and_fetched(ctx: Ctx, w: World) -> None:
    w.notes["config"] = config(ctx, w)
    expect_ok(ctx.tally, ctx.sb.exp(w.local.path, "install", "origin"), "uninstall: preparing install")
    ctx.sb.git(w.local.path, "fetch", "-q", "origin")


def uninstalled(ctx: Ctx, w: World) -> list:
    left = ctx.exps(w.local, "refs/remote-exp/origin/")
    problems = [f"{len(left)} refs left under refs/remote-exp/origin/"] if left else []
    if config(ctx, w) != w.notes["config"]:
        problems.append(f"config after uninstall differs from before install: {_diff(config(ctx, w), w.notes['config'])}")
    return problems


def remote_tracking(ctx: Ctx, w: World) -> set:
    return {f"refs/remote-exp/origin/{n}" for n in ctx.exps(w.local, "refs/remote-exp/origin/")}


E1 = tuple(f"e1{i}" for i in range(10))

KILLS = [
    Kill("save", ("save", "-n", "new"), has_file("refs/exp/new", "dirty.txt"), dirty),
    Kill("save -f", ("save", "-f", "-n", "e05"), has_file("refs/exp/e05", "dirty.txt"), dirty,
         overwrite=("refs/exp/e05",)),
    Kill("save --append", ("save", "--append", "-n", "e06"), appended, dirty),
    Kill("run", ("run", "-n", "ran", "--", "sh", "-c", "echo out > result.txt; sleep 0.05"),
         has_file("refs/exp/ran", "result.txt")),
    Kill("run --isolated", ("run", "--isolated", "-n", "ran", "--", "sh", "-c", "echo out > result.txt; sleep 0.05"),
         has_file("refs/exp/ran", "result.txt")),
    Kill("push --all", ("push", "origin", "--all"), same(all_local, remote=True)),
    Kill("push subset", ("push", "origin", *SUBSET), same(SUBSET, remote=True)),
    Kill("pull --all", ("pull", "origin", "--all"), same(all_remote, src="remote")),
    Kill("rm", ("rm", "e1*"), lambda ctx, w: [f"{n} still exists" for n in ctx.exps(w.local) if n in E1],
         gone=lambda ctx, w: {f"refs/exp/{n}" for n in E1}),
    Kill("rename", ("rename", "e07", "renamed/e07"), renamed("e07", "renamed/e07")),
    Kill("rename a a/b", ("rename", "a", "a/b"), renamed("a", "a/b")),
    Kill("rename --remote", ("rename", "--remote", "origin", "e08", "moved-08"),
         renamed("e08", "moved-08", remote=True)),
    Kill("rename --remote b b/c", ("rename", "--remote", "origin", "b", "b/c"), renamed("b", "b/c", remote=True)),
    Kill("gc --keep", ("gc", "--keep", "20"), kept_newest(20), gone=gc_gone),
    Kill("install", ("install", "origin"), same_config_as_unkilled),
    Kill("show --json, cold, in parts", ("show", "--json"), facts_whole, many_and_cold,
         env={"GIT_EXP_SHOW_PART": "16"}),
    Kill("uninstall", ("uninstall", "origin"), uninstalled, installed_and_fetched, gone=remote_tracking),
]


def unfinished(tally, problems: list, where: str) -> None:
    """The work left undone counts once per round, with its first problems."""
    if problems:
        more = f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
        tally.add("failed", f"{where}: {'; '.join(checks._cut(p, 200) for p in problems[:2])}{more}")


def kill_rounds(spec: Kill):
    def run(ctx: Ctx) -> None:
        sb, tally = ctx.sb, ctx.tally
        w = ctx.fresh()
        if spec.prepare:
            spec.prepare(ctx, w)
        spec.gone(ctx, w)
        res = sb.exp(w.local.path, *spec.args, env=spec.env)
        expect_ok(tally, res, "unkilled run")
        unfinished(tally, spec.done(ctx, w), "unkilled run")
        spent = res.seconds
        ctx.drop(w)
        for i in range(ctx.size.kill_rounds):
            tally.rounds += 1
            w = ctx.fresh()
            if spec.prepare:
                spec.prepare(ctx, w)
            before = checks.snapshots(sb, w.repos)
            expected = ctx.expected(w, gone=spec.gone(ctx, w))
            overwrite = {w.local: spec.overwrite}
            delay = ctx.rng.uniform(0, spent)
            where = f"round {i + 1}, SIGKILL at {delay * 1000:.0f} of {spent * 1000:.0f} ms"
            res = sb.exp(w.local.path, *spec.args, kill_after=delay, env=spec.env)
            if not res.killed:
                expect_ok(tally, res, where + " (finished first)")
            checks.check(sb, tally, before, expected, where=where, overwrite=overwrite)
            finished = not spec.done(ctx, w)
            rerun = sb.exp(w.local.path, *spec.args, env=spec.env)
            advice = ADVICE.search(rerun.err_text)
            if rerun.code and advice and not checks.crashed(tally, rerun, where):
                # "an interrupted rename left X — finish it with `git exp rename X NEW`": do as told
                tally.findings.append(f"note: {where}: the rerun said to run `{advice.group(1)}`")
                rerun = sb.exp(w.local.path, *shlex.split(advice.group(1))[2:])
            if rerun.code == 0 or not finished:
                expect_ok(tally, rerun, where + ", rerun")
            else:
                checks.expect_clean(tally, rerun, where + ", rerun")
            checks.check(sb, tally, before, expected, where=where + ", after rerun", overwrite=overwrite, litter=True)
            unfinished(tally, spec.done(ctx, w), where + ", after rerun")
            checks.tmp_litter(sb, tally, where)
            ctx.drop(w)
    return run


for _spec in KILLS:
    scenario(f"kill {_spec.name}", "kill")(kill_rounds(_spec))
