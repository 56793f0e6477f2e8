"""Hostile input: a remote that advertises what no honest git server would, names and
remote names built to break parsers and ref rules, symbolic and non-commit refs under
``refs/exp/``, a reference-transaction hook that refuses, a lock another git holds, a YAML
bomb, and secrets in commands, URLs and the environment."""
from __future__ import annotations

import os
import resource
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.stress import checks
from tests.stress.checks import crashed, expect_clean, expect_refused
from tests.stress.core import Ctx, scenario
from tests.stress.env import World
from tests.stress.world import import_commits

LONG = "x" * 10_000
NON_UTF8 = os.fsdecode(b"\xff\xfe-bytes")
PWNED = "PWNED"
ODD_NAMES = [NON_UTF8, "long-" + LONG, "-rf", "$(touch${IFS}PWNED)", "\u202eevil-rtl", "`touch${IFS}PWNED`"]


def pwned(ctx: Ctx, where: str) -> None:
    """A name or URL that ran a command: count it (as a write outside) and clean up."""
    for dirpath, _, files in os.walk(ctx.sb.root):
        if PWNED in files:
            ctx.tally.add("outside", f"{where}: a command from a name or URL ran (made {dirpath}/{PWNED})")
            os.unlink(Path(dirpath) / PWNED)


# ---------------------------------------------------------------------- a hostile remote

def evil_repo(ctx: Ctx, path: Path, *, flood: int = 0, broken: bool = False) -> dict:
    """A bare repository whose refs no honest server has: symrefs, a blob, a tree and an
    annotated tag under refs/exp/, ``a`` and ``a/b``, odd names, ``flood`` more refs
    (``broken``: also a ref to a missing object and a dangerous name).  Its packed-refs is
    written by hand: it is the attacker's repository, not one of ours."""
    sb = ctx.sb
    repo = sb.init(path, bare=True, hook=False, env={"GIT_DEFAULT_REF_FORMAT": "files"})  # hand-written refs
    blob = sb.git(path, "hash-object", "-w", "--stdin", input=b"not a commit\n").decode().strip()
    made = import_commits(sb, repo, {"refs/heads/main": {"x": b"main\n"}}, None)
    main = made["refs/heads/main"]
    exps = import_commits(sb, repo, {"refs/exp/ok": {"x": b"ok\n"}, "refs/exp/ok2": {"x": b"ok2\n"}}, main)
    e1, e2 = exps["refs/exp/ok"], exps["refs/exp/ok2"]
    tree = sb.git(path, "rev-parse", f"{e1}^{{tree}}").decode().strip()
    tag = sb.git(path, "hash-object", "-t", "tag", "-w", "--stdin", input=(
        f"object {e1}\ntype commit\ntag t\ntagger T <t@example.com> 1700000000 +0000\n\nt\n").encode()).decode().strip()
    refs = [(main, "refs/heads/main"), (e1, "refs/exp/a"), (e2, "refs/exp/a/b"), (blob, "refs/exp/blob"),
            (e1, "refs/exp/ok"), (e2, "refs/exp/ok2"), (tag, "refs/exp/tag"), (tree, "refs/exp/tree")]
    refs += [(e1, f"refs/exp/{n}") for n in ODD_NAMES]
    refs += [(e1, f"refs/exp/flood/{i:06d}") for i in range(flood)]
    if broken:
        refs += [("1" * len(e1), "refs/exp/missing"), (e1, "refs/exp/x/../y")]
    lines = [b"# pack-refs with: peeled fully-peeled \n"]
    for oid, name in sorted(refs, key=lambda r: os.fsencode(r[1])):
        lines.append(f"{oid} ".encode() + os.fsencode(name) + b"\n")
        if name == "refs/exp/tag":
            lines.append(f"^{e1}\n".encode())
    (path / "packed-refs").write_bytes(b"".join(lines))
    for name in ("refs/exp/ok", "refs/exp/ok2"):   # fast-import made them loose
        (path / name).unlink()
    (path / "refs" / "exp" / "link").write_text("ref: refs/heads/main\n")
    (path / "refs" / "exp" / "alias").write_text("ref: refs/exp/ok\n")
    return {"main": main, "ok": e1, "ok2": e2}


def add_evil_remote(ctx: Ctx, w: World, name: str, evil: Path) -> Path:
    """Remote ``name`` whose upload-pack is a wrapper serving ``evil`` whatever URL is asked."""
    decoy = ctx.sb.init(w.root / f"{name}-decoy.git", bare=True, hook=False)
    log = w.root / f"{name}-upload-pack.log"
    wrapper = w.root / f"{name}-upload-pack"
    wrapper.write_text(f"#!/bin/sh\necho \"$@\" >> '{log}'\nexec git upload-pack '{evil}'\n")
    wrapper.chmod(0o755)
    ctx.sb.git(w.local.path, "config", f"remote.{name}.url", str(decoy.path))
    ctx.sb.git(w.local.path, "config", f"remote.{name}.uploadpack", str(wrapper))
    return log


def attack(ctx: Ctx, w: World, commands: list, where: str, *, timeout: float = 120) -> dict:
    """Run each ``git exp`` command in the victim; no crash, clean errors. {args: Result}"""
    out = {}
    for args in commands:
        res = out[args] = ctx.sb.exp(w.local.path, *args, timeout=timeout)
        expect_clean(ctx.tally, res, where)
        ctx.tally.rounds += 1
        if res.seconds > 5:
            ctx.tally.findings.append(f"note: {where}: `{res}` took {res.seconds:.1f} s")
    return out


@scenario("hostile remote", "hostile")
def hostile_remote(ctx: Ctx) -> None:
    """``evil`` advertises symrefs, non-commits, a and a/b, non-UTF-8, 10 kB, '-rf' and
    shell-looking names; ``broken`` also a missing object and ``x/../y``."""
    sb, tally = ctx.sb, ctx.tally
    w = ctx.fresh()
    shas = evil_repo(ctx, w.root / "evil.git")
    evil_repo(ctx, w.root / "broken.git", broken=True)
    logs = [add_evil_remote(ctx, w, "evil", w.root / "evil.git"),
            add_evil_remote(ctx, w, "broken", w.root / "broken.git")]
    before = checks.snapshots(sb, w.repos)
    expected = ctx.expected(w)
    attack(ctx, w, [("ls", "evil"), ("ls", "--json", "evil"), ("pull", "evil", "ok")], "evil")
    if ctx.exps(w.local).get("ok") != shas["ok"]:
        tally.add("failed", "`git exp pull evil ok` did not bring the one honest experiment")
    expected[w.local].add(shas["ok"])
    attack(ctx, w, [("pull", "evil", "--all"), ("pull", "evil", "a*"), ("pull", "evil", "link"),
                    ("pull", "-f", "evil", "--all"), ("ls", "-r"), ("ls", "--json", "-r"), ("show", "-r"),
                    ("show", "--json", "-r"), ("show",), ("doctor",), ("install", "evil"), ("gc",)], "evil")
    attack(ctx, w, [("ls", "broken"), ("pull", "broken", "--all"), ("pull", "broken", "ok"), ("show", "-r")], "broken")
    if not all(log.exists() for log in logs):
        tally.add("failed", "harness: the hostile upload-pack was never run")
    overwrite = {w.local: [f"refs/exp/{n}" for n in ctx.exps(w.local)] + ["refs/exp/a"]}  # pull -f replaces
    checks.check(sb, tally, before, expected, where="after the attack", overwrite=overwrite, litter=True)
    pwned(ctx, "hostile remote")
    checks.tmp_litter(sb, tally, "hostile remote")


@scenario("hostile remote: many refs", "hostile")
def flood_remote(ctx: Ctx) -> None:
    sb, tally = ctx.sb, ctx.tally
    w = ctx.fresh()
    n = ctx.size.flood
    tally.scenario = f"hostile remote: {n // 1000}k refs"
    shas = evil_repo(ctx, w.root / "evil.git", flood=n)
    add_evil_remote(ctx, w, "evil", w.root / "evil.git")
    before = checks.snapshots(sb, w.repos)
    expected = ctx.expected(w)
    expected[w.local].add(shas["ok"])
    attack(ctx, w, [("ls", "evil"), ("pull", "evil", "ok"), ("pull", "evil", "--all"), ("ls", "-r"),
                    ("show", "-r", "evil/ok"), ("pull", "evil", "--all")], "flood", timeout=900)
    if ctx.exps(w.local).get("ok") != shas["ok"]:
        tally.add("failed", f"`git exp pull evil ok` from a remote with {n} refs did not bring ok")
    checks.check(sb, tally, before, expected, where="flood", litter=True)


# ---------------------------------------------------------------------- hostile names

BAD_NAMES = ["..", "x" * 10_000, NON_UTF8, "-rf", "a b", "ctl\x01x", "../heads/main", "a..b", "a\tb", "a/", "/a",
             "a//b", ".hidden", "a/.b", "x.lock", "a@{1}", "a~1", "a^", "a:b", "a\\b"]
NAME_COMMANDS = [("save", "-n", "{}"), ("run", "-n", "{}", "--", "true"), ("rm", "{}"), ("rename", "e00", "{}"),
                 ("rename", "{}", "e01"), ("show", "{}"), ("diff", "{}"), ("apply", "{}"), ("branch", "{}"),
                 ("push", "origin", "{}"), ("pull", "origin", "{}"), ("rm", "--remote", "origin", "{}"),
                 ("rename", "--remote", "origin", "e00", "{}")]


def names_to_try(ctx: Ctx, names: list) -> list:
    return names[:ctx.size.names] if ctx.size.names else names


def refuse_all(ctx: Ctx, w: World, jobs: list, where: str, *, may_succeed: bool = False) -> None:
    """Run the ``git exp`` argument lists two at a time; each must be refused in one line and
    change no ref anywhere (``may_succeed``: a clean success is allowed too)."""
    sb, tally = ctx.sb, ctx.tally
    before = {repo: checks.read_refs(sb, repo) for repo in w.repos}
    config = sb.git(w.local.path, "config", "--list", "-z")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda args: sb.exp(w.local.path, *args), jobs))
    for res in results:
        tally.rounds += 1
        (expect_clean if may_succeed else expect_refused)(tally, res, where)
    if may_succeed:
        return
    for repo, refs in before.items():
        now = checks.read_refs(sb, repo)
        changed = sorted(n for n in set(refs) | set(now) if refs.get(n) != now.get(n))
        if changed:
            tally.add("unclear", f"{where}: refused commands changed {repo.name}'s {checks._names(changed[:3])}",
                      len(changed))
    if sb.git(w.local.path, "config", "--list", "-z") != config:
        tally.add("unclear", f"{where}: refused commands changed the config")


@scenario("hostile names", "hostile")
def hostile_names(ctx: Ctx) -> None:
    """Every command refuses a bad experiment name in one line and writes nothing; then
    refs with odd but valid names (made by git) break no command."""
    sb, tally = ctx.sb, ctx.tally
    w = ctx.fresh()
    with sb.setup(w.local):
        sb.git(w.local.path, "update-ref", "refs/exp/renamed/e07", w.shas["e07"])
    before = checks.snapshots(sb, w.repos)
    for name in names_to_try(ctx, BAD_NAMES):
        jobs = [tuple(a.replace("{}", name) for a in args) for args in NAME_COMMANDS]
        refuse_all(ctx, w, jobs, f"name {checks._names([name])}", may_succeed=name == NON_UTF8)
    refuse_all(ctx, w, [("save", "-n", "e00/x"), ("run", "-n", "e00/x", "--", "true"), ("save", "-n", "renamed"),
                        ("rename", "e01", "renamed"), ("rename", "e01", "renamed/e07/x")],
               "a name below or above an existing one")
    checks.check(sb, tally, before, ctx.expected(w), where="hostile names", litter=True)
    # refs git allows but that are hard to print or to pass on: made by git update-ref
    with sb.setup(w.local):
        for name in ODD_NAMES[:1] + ODD_NAMES[2:]:  # a 10 kB name cannot be a loose ref file
            sb.git(w.local.path, "update-ref", f"refs/exp/{name}", w.shas["e00"])
    before = checks.snapshots(sb, w.repos)
    expected = ctx.expected(w)
    attack(ctx, w, [("ls",), ("ls", "--json"), ("show",), ("show", "--json"), ("show", "--md"), ("show", "--csv"),
                    ("ls", "origin"), ("doctor",), ("push", "origin", "--all"), ("gc", "--keep", "100"), ("gc",)],
           "odd refs")
    checks.check(sb, tally, before, expected, where="odd refs", litter=True)
    pwned(ctx, "hostile names")


NON_UTF8_REMOTE = os.fsdecode(b"\xff")  # git allows it: handled or refused, cleanly
BAD_REMOTES = ["..", "a b", "x/../y", NON_UTF8_REMOTE, "a/b", "-oops", "ctl\x01x", "r" * 10_000, ".",
               "a:b", "a*", "a..b", "refs/heads/main"]
REMOTE_COMMANDS = [("ls", "{}"), ("ls", "--json", "{}"), ("pull", "{}", "--all"), ("pull", "{}", "e00"),
                   ("push", "{}", "--all"), ("push", "{}", "e00"), ("install", "{}"), ("uninstall", "{}"),
                   ("rm", "--remote", "{}", "e00"), ("rename", "--remote", "{}", "e00", "zz")]
BAD_URLS = {"u-upload": "--upload-pack=touch PWNED", "u-ext": "ext::sh -c touch% PWNED",
            "u-ssh": "ssh://-oProxyCommand=touch${IFS}PWNED/x"}


@scenario("hostile remote names", "hostile")
def hostile_remote_names(ctx: Ctx) -> None:
    """Remotes configured under names git itself would refuse, and URLs that try to run a
    command: every command naming one refuses in one line and writes nothing; commands
    that look at every remote work on and leave ``git fetch origin`` working."""
    sb, tally = ctx.sb, ctx.tally
    w = ctx.fresh()
    bad = names_to_try(ctx, BAD_REMOTES)
    scratch = sb.init(w.root / "scratch.git", bare=True, hook=False)  # what a remote that works may change
    for name in bad:
        url = scratch.path if name == NON_UTF8_REMOTE else w.remote.path
        sb.git(w.local.path, "config", f"remote.{name}.url", str(url))
    for name, url in BAD_URLS.items():
        sb.git(w.local.path, "config", f"remote.{name}.url", url)
    before = checks.snapshots(sb, w.repos)
    for name in bad:
        jobs = [tuple(a.replace("{}", name) for a in args) for args in REMOTE_COMMANDS]
        refuse_all(ctx, w, jobs, f"remote {checks._names([name])}", may_succeed=name == NON_UTF8_REMOTE)
    for name in BAD_URLS:
        jobs = [tuple(a.replace("{}", name) for a in args) for args in REMOTE_COMMANDS[:6:1 if ctx.size.every_case else 2]]
        refuse_all(ctx, w, jobs, f"URL of {name}", may_succeed=True)
    attack(ctx, w, [("ls", "-r"), ("show", "-r"), ("doctor",), ("doctor", "--fix"), ("pull", "--all"),
                    ("push", "--all"), ("install", "--all"), ("ls", "origin"), ("uninstall", "--all")], "every remote")
    for args in (("fetch", "-q", "origin"), ("ls-remote", "origin"), ("config", "--list")):
        res = sb.git_result(w.local.path, *args)
        if res.code:
            tally.add("corrupt", f"`git {' '.join(args)}` fails after the commands: {checks._first(res.err)}")
    checks.check(sb, tally, before, ctx.expected(w), where="hostile remote names", litter=True)
    pwned(ctx, "hostile remote names")


# ---------------------------------------------------------------------- symbolic and non-commit refs

SYMREF_COMMANDS = [("rm", "link"), ("rm", "alias"), ("rename", "link", "x"), ("save", "-f", "-n", "link"),
                   ("save", "--append", "-n", "alias"), ("pull", "origin", "--all"), ("push", "origin", "--all"),
                   ("gc", "--keep", "0"),  # the reduced size runs these eight
                   ("rm", "l*"), ("rename", "alias", "y"), ("save", "--append", "-n", "link"),
                   ("save", "-f", "-n", "alias"), ("pull", "origin", "link"), ("pull", "-f", "origin", "--all"),
                   ("push", "origin", "link"), ("ls",), ("show",), ("show", "--json"), ("doctor",), ("rm", "blob"),
                   ("rename", "tag", "z"), ("push", "origin", "tree"), ("show", "tag"), ("diff", "blob"),
                   ("apply", "alias"), ("branch", "link", "from-link")]


@scenario("symbolic and non-commit refs", "hostile")
def symbolic_refs(ctx: Ctx) -> None:
    """refs/exp/link -> refs/heads/main, refs/exp/alias -> refs/exp/e01, and refs/exp/blob,
    tree, tag made by git; the remote's ``link`` is a commit ahead of main.  No command may
    move or delete main or e01 through them, or write a non-commit anywhere."""
    sb, tally = ctx.sb, ctx.tally
    for args in SYMREF_COMMANDS if ctx.size.every_case else SYMREF_COMMANDS[:8]:
        w = ctx.fresh()
        with sb.setup(*w.repos):
            sb.git(w.local.path, "symbolic-ref", "refs/exp/link", "refs/heads/main")
            sb.git(w.local.path, "symbolic-ref", "refs/exp/alias", "refs/exp/e01")
            blob = sb.git(w.local.path, "hash-object", "-w", "--stdin", input=b"blob\n").decode().strip()
            sb.git(w.local.path, "update-ref", "refs/exp/blob", blob)
            sb.git(w.local.path, "update-ref", "refs/exp/tree", f"{w.main}^{{tree}}")
            sb.git(w.local.path, "tag", "-a", "-m", "t", "t", w.shas["e02"])
            sb.git(w.local.path, "update-ref", "refs/exp/tag", "refs/tags/t")
            import_commits(sb, w.remote, {"refs/exp/link": {"x": b"ahead\n"}}, w.main)
        gc = args[0] == "gc"
        if gc:  # gc --keep 0 deletes e01 as asked: alias would dangle, as the user made it
            sb.git(w.local.path, "symbolic-ref", "-d", "refs/exp/alias")
        before = checks.snapshots(sb, w.repos)
        expected = {} if gc else ctx.expected(w)
        where = " ".join(args)
        res = sb.exp(w.local.path, *args)
        tally.rounds += 1
        expect_clean(tally, res, where)
        checks.check(sb, tally, before, expected, where=where)
        e01 = checks.read_refs(sb, w.local).get("refs/exp/e01")
        if not gc and (e01 is None or e01.oid != w.shas["e01"]):
            tally.add("lost", f"{where}: e01, which refs/exp/alias points to, is {e01.oid[:12] if e01 else 'deleted'}")
        ctx.drop(w)


# ---------------------------------------------------------------------- blocked writes

BLOCKED_COMMANDS = [("save", "-n", "x"), ("save", "-f", "-n", "e04"), ("run", "-n", "y", "--", "true"),
                    ("rm", "e04"), ("rename", "e04", "z"), ("gc", "--keep", "0"), ("pull", "-f", "origin", "--all"),
                    ("pull", "origin", "--all"), ("uninstall", "origin")]


@scenario("refusing hook, held lock", "hostile")
def blocked_writes(ctx: Ctx) -> None:
    """A reference-transaction hook that refuses every update, then a ``refs/exp/e04.lock``
    another git holds (and a remote e04 that moved): each command fails cleanly or leaves
    e04 alone; nothing is written behind git's back."""
    sb, tally = ctx.sb, ctx.tally
    w = ctx.fresh()
    with sb.setup(*w.repos):
        import_commits(sb, w.remote, {"refs/exp/e04": {"x": b"moved\n"}}, w.main)
        sb.git(w.local.path, "fetch", "-q", "origin", "+refs/exp/*:refs/remote-exp/origin/*")
    before = checks.snapshots(sb, w.repos)
    (w.local.log / "REFUSE").touch()
    for args in BLOCKED_COMMANDS:
        res = sb.exp(w.local.path, *args)
        tally.rounds += 1
        if res.code == 0 and not crashed(tally, res, "refused"):
            tally.add("unclear", f"`{res}` exited 0 although the hook refused every ref update")
        else:
            expect_clean(tally, res, "refused by hook")
    (w.local.log / "REFUSE").unlink()
    checks.check(sb, tally, {w.local: before[w.local]}, ctx.expected(w), where="hook refuses", refused=True)
    lock = w.local.gitdir / "refs" / "exp" / "e04.lock"
    if (w.local.gitdir / "reftable").exists():
        return  # a held lock looks different there
    # A real git in the middle of a transaction on e04 holds its lock (a lock file with no
    # git behind it is what a killed git leaves, and the next command may clear it).
    import subprocess

    holder = subprocess.Popen(["git", "update-ref", "--stdin"], cwd=w.local.path, env=sb.env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    holder.stdin.write(f"start\nupdate refs/exp/e04 {w.shas['e04']} {w.shas['e04']}\nprepare\n")
    holder.stdin.flush()
    held = holder.stdout.readline() == "start: ok\n" and holder.stdout.readline() == "prepare: ok\n" and lock.exists()
    try:
        if not held:
            tally.add("failed", "harness: could not hold refs/exp/e04's lock with git update-ref")
            return
        (w.local.path / "dirty.txt").write_text("dirty\n")
        for args in BLOCKED_COMMANDS:
            res = sb.exp(w.local.path, *args)
            tally.rounds += 1
            expect_clean(tally, res, "lock held")
            e04 = checks.read_refs(sb, w.local).get("refs/exp/e04")
            if e04 is None or e04.oid != w.shas["e04"]:
                tally.add("lost", f"`{res}` changed refs/exp/e04 while another git held its lock (lost update)")
                if e04 is None:
                    break
    finally:
        holder.stdin.write("abort\n")
        holder.stdin.close()
        holder.wait()
    checks.check(sb, tally, before, {}, where="lock held", litter=True)


# ---------------------------------------------------------------------- a YAML bomb

def bomb_files(size: int) -> dict:
    laughs = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return {
        "bomb": {"params.yaml": ("\n".join(laughs) + "\n").encode()},
        "deep-json": {"params.json": b"[" * 100_000 + b"]" * 100_000},
        "deep-yaml": {"params.yaml": b"a: " + b"[" * 50_000 + b"]" * 50_000 + b"\n"},
        "deep-metrics": {"metrics.json": b'{"a":' * 50_000 + b"1" + b"}" * 50_000},
        "big": {"params.yaml": b"".join(b"k%08d: %d\n" % (i, i) for i in range(size))},
        "good": {"params.yaml": b"lr: 0.1\n", "metrics.json": b'{"acc": 0.9}'},
    }


EVERY_ROW = {("show",), ("show", "--json"), ("show", "--md"), ("show", "--csv")}


@scenario("YAML bomb and deep files", "hostile")
def yaml_bomb(ctx: Ctx) -> None:
    """Params and metrics files built to exhaust memory or the stack: each command finishes
    in seconds under a 2 GB address-space limit, and the honest row is still shown."""
    sb, tally = ctx.sb, ctx.tally
    w = ctx.fresh()
    with sb.setup(w.local):
        files = bomb_files(ctx.size.big_file)
        import_commits(sb, w.local, {f"refs/exp/{n}": f for n, f in files.items()}, w.main)
    before = checks.snapshots(sb, w.repos)
    commands = [("show",), ("show", "--json"), ("show", "--md"), ("show", "--csv"), ("show", "--sort", "params.lr"),
                ("show", "--where", "params.lr > 0"), ("show", "bomb"), ("diff", "bomb"), ("diff", "bomb", "good"),
                ("diff", "deep-json"), ("diff", "--json", "deep-yaml", "good"), ("ls",), ("ls", "--json"), ("show",)]
    timeouts = 0
    for i, args in enumerate(commands):
        if timeouts == 2:
            tally.findings.append(f"not run after two timeouts: {len(commands) - i} commands")
            break
        res = sb.exp(w.local.path, *args, timeout=ctx.size.patience, preexec=_limit_memory)
        tally.rounds += 1
        timeouts += res.timed_out
        if expect_clean(tally, res, "bomb") and args in EVERY_ROW and b"good" not in res.out:
            tally.add("crashes", f"`{res}` lost the honest experiment's row")
        if res.seconds > ctx.size.patience / 2 and not res.timed_out:
            tally.add("crashes", f"`{res}` took {res.seconds:.0f} s")
    checks.check(sb, tally, before, ctx.expected(w), where="bomb", litter=True)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


# ---------------------------------------------------------------------- secrets

SECRETS = {"GITHUB_TOKEN": "ghp_stressSECRET0token", "MY_API_KEY": "key-stressSECRET1",
           "DB_PASSWORD": "pw-stressSECRET2"}
IN_ARGS = ("userinfo-stressSECRET3", "query-stressSECRET4", "url-stressSECRET5", "jobtoken-stressSECRET6",
           "ciuser-stressSECRET7")


@scenario("secrets", "hostile")
def secrets(ctx: Ctx) -> None:
    """Tokens in the command line (URL userinfo, token-like query values, values of secret
    environment variables), in a CI run URL and in a remote's URL: none may appear in any
    output, commit, reflog or cache, here or on the remote."""
    sb, tally = ctx.sb, ctx.tally
    w = ctx.fresh()
    curl = sb.root / "bin" / "curl"
    curl.write_text("#!/bin/sh\nexit 0\n")
    curl.chmod(0o755)
    sb.git(w.local.path, "config", "remote.leaky.url", f"https://user:{IN_ARGS[2]}@127.0.0.1:9/r.git")
    env = dict(SECRETS)
    gitlab = {**env, "GITLAB_CI": "true", "CI": "true", "CI_JOB_ID": "77",
              "CI_JOB_URL": f"https://gitlab.example.com/g/p/-/jobs/77?private_token={IN_ARGS[3]}&x=1"}
    github = {**env, "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_RUN_ID": "88", "GITHUB_REPOSITORY": "o/r",
              "GITHUB_SERVER_URL": f"https://{IN_ARGS[4]}:x@github.example.com"}
    before = checks.snapshots(sb, w.repos)
    first_output = len(sb.outputs)
    runs = [
        (gitlab, ("run", "-n", "s1", "--", "curl", f"https://user:{IN_ARGS[0]}@h.example/",
                  "-H", f"Authorization: Bearer {SECRETS['GITHUB_TOKEN']}",
                  f"https://h.example/api?private_token={IN_ARGS[1]}&page=2")),
        (github, ("run", "-n", "s2", "--", "curl", "--key", SECRETS["MY_API_KEY"], "-u", f"me:{SECRETS['DB_PASSWORD']}",
                  f"https://h.example/?access_token={IN_ARGS[1]}&token={IN_ARGS[1]}")),
        (env, ("run", "-n", "s3", "--", "sh", "-c", "exit 3", f"--password={SECRETS['DB_PASSWORD']}")),
    ]
    for extra, args in runs:
        res = sb.exp(w.local.path, *args, env=extra)
        tally.rounds += 1
        if not crashed(tally, res, "secrets") and res.code not in (0, 3):
            tally.add("failed", f"`{res}` exited {res.code}: {checks._first(res.err)}")
    for args in [("ls",), ("ls", "--json"), ("show",), ("show", "--json"), ("show", "--md"), ("show", "--csv"),
                 ("diff", "s1"), ("diff", "--json", "s1", "s2"), ("push", "origin", "--all"), ("ls", "origin"),
                 ("ls", "leaky"), ("pull", "leaky", "--all"), ("push", "leaky", "s1"), ("install", "leaky"),
                 ("doctor",), ("doctor", "--json")]:
        res = sb.exp(w.local.path, *args, env=env)
        tally.rounds += 1
        if args[-1] != "leaky" and args[1:2] != ("leaky",):
            expect_clean(tally, res, "secrets")
        else:
            crashed(tally, res, "secrets")
    values = list(SECRETS.values()) + list(IN_ARGS)
    for res in sb.outputs[first_output:]:
        checks.scan_secrets(tally, f"output of `{res}`", res.out + res.err, values)
    for repo in w.repos:
        objects = sb.git(repo.path, "cat-file", "--batch-all-objects", "--batch")
        checks.scan_secrets(tally, f"{repo.name}'s objects", objects, values)
        reflogs = sb.git(repo.path, "log", "-g", "--all", "--format=%gs", check=False)
        checks.scan_secrets(tally, f"{repo.name}'s reflogs", reflogs, values)
    for dirpath, _, names in os.walk(w.local.gitdir / "git-exp"):
        for name in names:
            checks.scan_secrets(tally, f"cache {name}", (Path(dirpath) / name).read_bytes(), values)
    checks.check(sb, tally, before, ctx.expected(w), where="secrets", litter=True)
