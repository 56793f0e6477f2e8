"""The operations: for each, the ``git exp`` command (A) and plain git doing the same work (B).

Each builder takes the Fixture for N and returns a Case; fresh remotes and clones are
copied from templates in ``prepare``, outside the timed region.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional

from tests.bench.browser import EMPTY_PAGE, browser_missing
from tests.bench.env import Cmd, Unavailable, copy_repo, run
from tests.bench.fixtures import Fixture
from tests.bench.timing import Case

EXP = ("git", "exp")
ALL_EXPS = "refs/exp/*:refs/exp/*"
LS_FORMAT = "%(refname) %(objectname) %(parent) %(committerdate:unix) %(contents:trailers:only,unfold)"
SHOW_QUERIES = ("%(objectname) %(refname)%0a%(objectname):params.yaml %(refname)%0a"
                "%(objectname):metrics.json %(refname)")
SHOW_BASELINE = (f"git for-each-ref --format='{SHOW_QUERIES}' refs/exp/ "
                 "| git cat-file --batch='%(objectname) %(objecttype) %(objectsize) %(rest)'")
SAVE_BASELINE = """set -e
idx=.git/bench-index.$$
cp -p .git/index "$idx"
GIT_INDEX_FILE="$idx" git add -A
tree=$(GIT_INDEX_FILE="$idx" git write-tree)
commit=$(git commit-tree "$tree" -p HEAD -m "plain save")
git update-ref refs/bench/plain "$commit"
rm -f "$idx"
"""
CHANGED = b"lr: 0.5\nbatch_size: 64\nmodel:\n  depth: 3\n  width: 128\nseed: 7\n# one changed file\n"


@dataclass
class Ctx:
    env: Mapping[str, str]
    python: str  # the interpreter that runs git-exp


def _sh(script: str, cwd: Path) -> Cmd:
    return Cmd(("sh", "-c", script), cwd)


def startup(fx: Fixture, ctx: Ctx) -> Case:
    return Case(Cmd((*EXP, "ls"), fx.main), Cmd((ctx.python, "-c", "pass"), fx.main))


def save(fx: Fixture, ctx: Ctx) -> Case:
    repo = fx.main
    params = repo / "params.yaml"
    original = params.read_bytes()
    params.write_bytes(CHANGED)

    def cleanup() -> None:
        params.write_bytes(original)
        fx.git(repo, "update-ref", "-d", "refs/exp/bench-save")
        fx.git(repo, "update-ref", "-d", "refs/bench/plain")

    return Case(Cmd((*EXP, "save", "-n", "bench-save", "--force"), repo), _sh(SAVE_BASELINE, repo),
                cleanup=cleanup)


def ls(fx: Fixture, ctx: Ctx) -> Case:
    return Case(Cmd((*EXP, "ls"), fx.main), Cmd(("git", "for-each-ref", f"--format={LS_FORMAT}", "refs/exp/"), fx.main))


def show(fx: Fixture, ctx: Ctx) -> Case:
    return Case(Cmd((*EXP, "show", "--json"), fx.main), _sh(SHOW_BASELINE, fx.main))


def _no_cache(fx: Fixture) -> Callable[[], None]:
    """``prepare`` for a cold run: git-exp's caches removed (``git exp gc`` removes them too)."""
    def prepare() -> None:
        import shutil

        shutil.rmtree(fx.main / ".git" / "git-exp", ignore_errors=True)
    return prepare


def show_cold(fx: Fixture, ctx: Ctx) -> Case:
    """``show --json`` with no cache against plain git reading the same files."""
    return Case(Cmd((*EXP, "show", "--json"), fx.main), _sh(SHOW_BASELINE, fx.main), _no_cache(fx))


PEAK = Path(__file__).resolve().parent / "peak.py"


def show_rss(fx: Fixture, ctx: Ctx) -> Case:
    """``show_cold``, each run's peak memory appended to ``Case.peaks`` (KiB, ``peak.py``)."""
    fx.runs.mkdir(parents=True, exist_ok=True)
    peaks = fx.runs / "show-rss.kib"
    peaks.unlink(missing_ok=True)
    return Case(Cmd((ctx.python, str(PEAK), str(peaks), *EXP, "show", "--json"), fx.main),
                _sh(SHOW_BASELINE, fx.main), _no_cache(fx), peaks=peaks)


def select_pattern(n: int) -> str:
    """A glob selecting 10 experiments (5 at N < 20) by its literal start, as ``sweep/1*``
    would: ``sweep/lr-<i>`` for i = 0, 2, ..., 18 (``fixtures.exp_name``)."""
    width = len(str(max(n - 1, 1)))
    return f"sweep/lr-{'0' * (width - 2)}[01]*" if width >= 2 else "sweep/lr-*"


def _select_baseline(pattern: str) -> str:
    queries = SHOW_QUERIES
    return (f"git for-each-ref --format='{queries}' 'refs/exp/{pattern}' "
            "| git cat-file --batch='%(objectname) %(objecttype) %(objectsize) %(rest)'")


def show_select(fx: Fixture, ctx: Ctx) -> Case:
    """Cold ``show PATTERN`` of 10 experiments against a ``for-each-ref`` of the same
    pattern reading the same files."""
    pattern = select_pattern(fx.n)
    return Case(Cmd((*EXP, "show", "--json", pattern), fx.main), _sh(_select_baseline(pattern), fx.main),
                _no_cache(fx))


def show_select_warm(fx: Fixture, ctx: Ctx) -> Case:
    """The same, warm (caches filled by a whole ``show`` first); its target is seconds."""
    run((*EXP, "show", "--json"), fx.main, ctx.env)
    pattern = select_pattern(fx.n)
    return Case(Cmd((*EXP, "show", "--json", pattern), fx.main), _sh(_select_baseline(pattern), fx.main))


def ls_cold(fx: Fixture, ctx: Ctx) -> Case:
    """``ls`` with no cache against a ``for-each-ref`` printing the same fields, trailers included."""
    return Case(Cmd((*EXP, "ls"), fx.main), Cmd(("git", "for-each-ref", f"--format={LS_FORMAT}", "refs/exp/"), fx.main),
                _no_cache(fx))


FIRSTROW = Path(__file__).resolve().parent / "firstrow.py"


def _first_row(fx: Fixture, ctx: Ctx, name: str, prepare: Optional[Callable[[], None]] = None,
               baseline: str = SHOW_BASELINE) -> Case:
    """A: the seconds until the first row of ``show``'s table reaches a terminal (a pty,
    through the default pager ``less`` with git's ``LESS=FRX``; then ``q``, as a person
    who saw the first screen).  B: the seconds until plain git's first line of
    ``baseline`` (``SHOW_BASELINE``: the same listing and files) reaches the same
    terminal.  Both measured by ``firstrow.py``; the target is A's seconds, or A / B
    (``targets``)."""
    fx.runs.mkdir(parents=True, exist_ok=True)
    own = (fx.runs / f"{name}.a", fx.runs / f"{name}.b")
    for path in own:
        path.unlink(missing_ok=True)
    return Case(Cmd((ctx.python, str(FIRSTROW), "--out", str(own[0]), *EXP, "show"), fx.main),
                Cmd((ctx.python, str(FIRSTROW), "--lines", "1", "--hangup", "--out", str(own[1]),
                     "sh", "-c", baseline), fx.main), prepare, own=own)


def show_first_row(fx: Fixture, ctx: Ctx) -> Case:
    """``_first_row`` warm: caches filled by a whole ``show --json`` first (issue 14: ≤ 200 ms)."""
    run((*EXP, "show", "--json"), fx.main, ctx.env)
    return _first_row(fx, ctx, "show-first-row")


NEWEST_FIRST = ("git for-each-ref --sort=-committerdate --count=50 "
                "--format='%(committerdate:unix) %(objectname) %(refname)' refs/exp/")


def show_first_row_cold(fx: Fixture, ctx: Ctx) -> Case:
    """``_first_row`` with no cache, against plain git's own newest-first listing
    (``NEWEST_FIRST``): both must read every commit's date first (a ratio target)."""
    return _first_row(fx, ctx, "show-first-row-cold", _no_cache(fx), baseline=NEWEST_FIRST)


def ls_first_row(fx: Fixture, ctx: Ctx) -> Case:
    """Seconds to ``ls``'s first row (the line after its header) on a pseudo-terminal,
    with no cache, against the first line of ``ls_cold``'s ``for-each-ref`` on one; the
    target is A's own time (issue 14: 200 ms at 100k)."""
    return Case(Cmd((*EXP, "ls"), fx.main), Cmd(("git", "for-each-ref", f"--format={LS_FORMAT}", "refs/exp/"), fx.main),
                _no_cache(fx), first_row=(1, 0))


def ls_first_row_warm(fx: Fixture, ctx: Ctx) -> Case:
    """The same with the cache filled by an ``ls`` first."""
    run((*EXP, "ls"), fx.main, ctx.env)
    return Case(Cmd((*EXP, "ls"), fx.main), Cmd(("git", "for-each-ref", f"--format={LS_FORMAT}", "refs/exp/"), fx.main),
                first_row=(1, 0))


REPORT_BASELINE = ("git for-each-ref --format='%(objectname)' refs/exp/ "  # each against its first parent
                   "| git diff-tree --stdin -r -z --raw --numstat >/dev/null && "
                   f"{SHOW_BASELINE} >/dev/null && "
                   "git for-each-ref --format='%(objectname):metrics.jsonl' refs/exp/ | git cat-file --batch")


def report(fx: Fixture, ctx: Ctx) -> Case:
    """A: ``git exp report`` of every experiment (each with a ``metrics.jsonl`` of its
    steps).  B: plain git reading the same: show's reads, every experiment's changes
    against its baseline, the step files.  The target is A's own time."""
    fx.runs.mkdir(parents=True, exist_ok=True)
    return Case(Cmd((*EXP, "report", "-o", str(fx.runs / "report.html")), fx.report_repo),
                _sh(REPORT_BASELINE, fx.report_repo))


BROWSER = Path(__file__).resolve().parent / "browser.py"


def report_open(fx: Fixture, ctx: Ctx) -> Case:
    """A: a new headless Chromium opens the report of every experiment and draws it.
    B: the same browser opens an empty page.  The target is A - B: the report's own
    opening time, the browser's start-up left out."""
    missing = browser_missing(ctx.python, ctx.env)
    if missing:
        raise Unavailable(missing)
    fx.runs.mkdir(parents=True, exist_ok=True)
    page, empty = fx.runs / "open.html", fx.runs / "empty.html"
    run((*EXP, "report", "-o", str(page)), fx.report_repo, ctx.env)
    empty.write_text(EMPTY_PAGE)
    return Case(Cmd((ctx.python, str(BROWSER), str(page)), fx.runs),
                Cmd((ctx.python, str(BROWSER), str(empty)), fx.runs))


def _fresh_remotes(fx: Fixture, pairs: list[tuple[Path, str]]) -> tuple[Callable[[], None], list[Path]]:
    """Remotes named ``name`` in ``repo`` pointing at paths that ``prepare`` recreates empty
    (the baseline branch only) before each run."""
    paths = []
    for repo, name in pairs:
        path = fx.runs / f"{name}.git"
        fx.add_remote(repo, name, path)
        paths.append(path)

    def prepare() -> None:
        for path in paths:
            copy_repo(fx.base_remote, path)

    return prepare, paths


def push(fx: Fixture, ctx: Ctx) -> Case:
    prepare, _ = _fresh_remotes(fx, [(fx.main, "push-a"), (fx.main, "push-b")])
    return Case(Cmd((*EXP, "push", "push-a", "--all"), fx.main),
                Cmd(("git", "push", "push-b", ALL_EXPS), fx.main), prepare)


def push_subset(fx: Fixture, ctx: Ctx) -> Case:
    prepare, _ = _fresh_remotes(fx, [(fx.main, "sub-a"), (fx.subset, "sub-b")])
    return Case(Cmd((*EXP, "push", "sub-a", "sweep/?*"), fx.main),
                Cmd(("git", "push", "sub-b", ALL_EXPS), fx.subset), prepare)


def push_subset_writes(fx: Fixture, ctx: Ctx) -> Case:
    """A: ``push_subset``.  B: plain git doing the same git work: the 5k refs staged in one
    ``update-ref --stdin``, pushed with one glob, deleted in another; the ratio is
    git-exp's own cost over what git charges for a selection no glob makes."""
    prepare, _ = _fresh_remotes(fx, [(fx.main, "subw-a"), (fx.main, "subw-b")])
    stage = "refs/exp-staging/bench-0/"
    create = _ref_lines(fx, fx.main, "refs/exp/sweep/", f"create {stage}{{name}} {{sha}}", "subw-create")
    delete = _ref_lines(fx, fx.main, "refs/exp/sweep/", f"delete {stage}{{name}} {{sha}}", "subw-delete")
    plain = (f"git update-ref --stdin < '{create}' && git push -q subw-b '{stage}*:refs/exp/*' && "
             f"git update-ref --stdin < '{delete}'")
    return Case(Cmd((*EXP, "push", "subw-a", "sweep/?*"), fx.main), _sh(plain, fx.main), prepare)


def push_noop(fx: Fixture, ctx: Ctx) -> Case:
    for name in ("noop-a", "noop-b"):
        path = fx.runs / f"{name}.git"
        copy_repo(fx.full_remote, path)
        fx.add_remote(fx.main, name, path)
    return Case(Cmd((*EXP, "push", "noop-a", "--all"), fx.main),
                Cmd(("git", "push", "noop-b", ALL_EXPS), fx.main))


PULL = (*EXP, "pull", "origin", "--all")
FETCH = ("git", "fetch", "origin", "+" + ALL_EXPS)


def pull(fx: Fixture, ctx: Ctx) -> Case:
    a, b = fx.runs / "pull-a", fx.runs / "pull-b"

    def prepare() -> None:
        copy_repo(fx.clone_template, a)
        copy_repo(fx.clone_template, b)

    return Case(Cmd(PULL, a), Cmd(FETCH, b), prepare)


def _ref_lines(fx: Fixture, repo: Path, pattern: str, line: str, name: str) -> Path:
    """A file of ``update-ref --stdin`` lines, ``line`` formatted with ``name`` (below
    ``refs/exp/``) and ``sha`` for each experiment ``pattern`` lists in ``repo``."""
    listing = fx.git(repo, "for-each-ref", "--format=%(objectname) %(refname)", pattern)
    path = fx.runs / name
    fx.runs.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line.format(sha=sha, name=ref[len("refs/exp/"):]) + "\n"
                            for sha, ref in (row.split(" ", 1) for row in listing.splitlines())))
    return path


def pull_writes(fx: Fixture, ctx: Ctx) -> Case:
    """A: ``pull`` (into a fresh clone).  B: plain git doing the same git work: the objects
    by ``git fetch --dry-run``, then the remote-tracking and the local refs in two
    ``update-ref --create-reflog --stdin`` transactions, then ``git pack-refs``.  The ratio
    is git-exp's own cost over what git charges for writing every ref (``pull``'s baseline,
    one fetch writing 10k refs without reflogs, writes half of them)."""
    a, b = fx.runs / "pullw-a", fx.runs / "pullw-b"
    tracking = _ref_lines(fx, fx.full_remote, "refs/exp/", "create refs/remote-exp/origin/{name} {sha}", "pullw-t")
    local = _ref_lines(fx, fx.full_remote, "refs/exp/", "create refs/exp/{name} {sha}", "pullw-l")

    def prepare() -> None:
        copy_repo(fx.clone_template, a)
        copy_repo(fx.clone_template, b)

    plain = ("git fetch -q --no-tags --no-write-fetch-head --dry-run origin '+refs/exp/*:refs/remote-exp/origin/*' && "
             f"git update-ref --create-reflog --stdin < '{tracking}' && "
             f"git update-ref --create-reflog --stdin < '{local}' && git pack-refs --all --prune")
    return Case(Cmd(PULL, a), _sh(plain, b), prepare)


def pull_noop(fx: Fixture, ctx: Ctx) -> Case:
    a, b = fx.runs / "pull-noop-a", fx.runs / "pull-noop-b"
    copy_repo(fx.clone_template, a)
    copy_repo(fx.clone_template, b)
    run(PULL, a, ctx.env)
    run(FETCH, b, ctx.env)
    return Case(Cmd(PULL, a), Cmd(FETCH, b))


def ls_remote(fx: Fixture, ctx: Ctx) -> Case:
    fx.add_remote(fx.main, "full", fx.full_remote)
    return Case(Cmd((*EXP, "ls", "full"), fx.main), Cmd(("git", "ls-remote", "full", "refs/exp/*"), fx.main))


def fetch_installed(fx: Fixture, ctx: Ctx) -> Case:
    """A: ``git exp install`` + ``git exp pull``.  B: the same fetch refspec added by hand,
    fetched, refs packed.  Then a no-op plain ``git fetch`` in each."""
    a, b = fx.runs / "installed-a", fx.runs / "installed-b"
    copy_repo(fx.clone_template, a)
    copy_repo(fx.clone_template, b)
    run((*EXP, "install", "origin"), a, ctx.env)
    run(PULL, a, ctx.env)
    fx.git(b, "config", "--add", "remote.origin.fetch", "+refs/exp/*:refs/remote-exp/origin/*")
    fx.git(b, "fetch", "-q")
    fx.git(b, "pack-refs", "--all")
    return Case(Cmd(("git", "fetch"), a), Cmd(("git", "fetch"), b))


MODEL_MAX = 1 << 20  # bytes of each experiment's model file in show-remote (10 MB of issue 13: 10 GB at 1k)
MODELS_MAX = 1 << 30  # bytes of models in all: at 10k each model is 100 KiB
PEEK_STORE = (".git", "git-exp", "peek", "objects", "pack")


MODEL_SMALL = 64 << 10  # below 1k (informational rows, --smoke): the harness keeps working, quickly


def model_bytes(n: int) -> int:
    """Each model's size: 1 MiB from 1k experiments on (less when N models would pass
    1 GiB), 64 KiB below; the environment's GIT_EXP_BENCH_MODEL_BYTES, if set, instead
    (10485760 for the 10 MB of issue 13)."""
    given = os.environ.get("GIT_EXP_BENCH_MODEL_BYTES")
    if given:
        return int(given)
    return min(MODEL_MAX, MODELS_MAX // n) if n >= 1000 else MODEL_SMALL


def _models_stream(n: int, size: int):
    """The baseline, then N experiments each with params, metrics and a distinct
    incompressible model file (fast-import into a bare repository, stored uncompressed)."""
    from tests.bench.fixtures import EPOCH, _data, _ident, exp_files, exp_name, git_exp_message

    yield b"commit refs/heads/main\n" + _ident(EPOCH) + _data(b"baseline")
    for path, payload in exp_files(0).items():
        yield b"M 100644 inline " + path.encode() + b"\n" + _data(payload)
    yield b"\n"
    for i in range(n):
        yield (b"commit refs/exp/" + exp_name(i, n).encode() + b"\n" + _ident(EPOCH + 60 + i)
               + _data(git_exp_message(i).encode()) + b"from refs/heads/main\n")
        for path, payload in {**exp_files(i + 1), "model.bin": os.urandom(size)}.items():
            yield b"M 100644 inline " + path.encode() + b"\n" + _data(payload)
        yield b"\n"
    yield b"done\n"


def downloaded(clone: Path) -> int:
    """Bytes of the packs ``show REMOTE`` fetched into git-exp's store."""
    where = clone.joinpath(*PEEK_STORE)
    return sum(f.stat().st_size for f in where.iterdir() if f.suffix == ".pack") if where.exists() else 0


def show_remote(fx: Fixture, ctx: Ctx) -> Case:
    """Issue 13: A: ``git exp show models --json`` of N remote experiments, each with its
    own model file, in a fresh clone of the baseline, over file:// (upload-pack, protocol
    v2) from a repository that allows filters.  B: ``git ls-remote`` + ``git fetch
    --filter=blob:none`` of the same refs.  Also checked (BenchError otherwise): A
    fetched at most 1% of the model bytes."""
    from tests.bench.env import BenchError
    from tests.bench.fixtures import bare, fast_import

    size = model_bytes(fx.n)
    remote = bare(fx.dir / "models.git", fx.env)
    fx.git(remote, "config", "core.compression", "0")  # incompressible anyway: do not spend minutes on zlib
    fast_import(remote, fx.env, _models_stream(fx.n, size))
    fx.git(remote, "config", "uploadpack.allowFilter", "true")
    fx.git(remote, "config", "uploadpack.allowAnySHA1InWant", "true")
    fx.git(remote, "pack-refs", "--all")
    template = fx.dir / "models-clone"
    run(["git", "clone", "-q", "--no-checkout", remote.as_uri(), str(template)], fx.dir, fx.env)
    fx.git(template, "remote", "rename", "origin", "models")
    a, b = fx.runs / "peek-a", fx.runs / "peek-b"

    def prepare() -> None:
        copy_repo(template, a)
        copy_repo(template, b)

    prepare()
    run((*EXP, "show", "models", "--json"), a, ctx.env)
    got, models = downloaded(a), fx.n * size
    print(f"  show-remote      N={fx.n}: fetched {got} bytes into the store for {fx.n} models of {size} bytes "
          f"({100 * got / models:.3f}% of {models} model bytes)", file=sys.stderr, flush=True)
    from tests.bench.targets import applicable

    if got > models / 100 and applicable("show-remote", fx.n)[1]:  # with 64 KiB models (below 1k) ~1% is the commits
        raise BenchError(f"show models fetched {got} bytes, more than 1% of the {models} bytes of models")
    plain = ("git ls-remote models 'refs/exp/*' >/dev/null && "
             "git fetch -q --filter=blob:none models '+refs/exp/*:refs/remote-exp/models/*'")
    return Case(Cmd((*EXP, "show", "models", "--json"), a), _sh(plain, b), prepare)


OPS: dict[str, Callable[[Fixture, Ctx], Case]] = {
    "startup": startup, "save": save, "ls": ls, "show": show, "push": push, "push-subset": push_subset,
    "push-noop": push_noop, "pull": pull, "pull-writes": pull_writes,
    "push-subset-writes": push_subset_writes, "pull-noop": pull_noop, "ls-remote": ls_remote,
    "fetch-installed": fetch_installed, "report": report, "report-open": report_open,
    "show-cold-100k": show_cold, "show-rss-100k": show_rss, "show-select-100k": show_select,
    "show-select-warm-100k": show_select_warm, "ls-cold-100k": ls_cold,
    "show-remote": show_remote, "show-first-row-100k": show_first_row, "show-first-row-cold-100k": show_first_row_cold,
    "ls-first-row-100k": ls_first_row, "ls-first-row-warm-100k": ls_first_row_warm,
}
AT_100K = ("ls", "show-cold-100k", "show-rss-100k", "show-select-100k", "show-select-warm-100k", "ls-cold-100k",
           "show-first-row-100k", "show-first-row-cold-100k", "ls-first-row-100k", "ls-first-row-warm-100k")
