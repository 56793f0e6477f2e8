"""``git exp run -S lr=0.1,0.01 -S model.depth=3,5 [--jobs N] [--random N] -- CMD``: a sweep.

The grid is every combination of the ``-S`` values (``itertools.product`` order: the last
``-S`` varies fastest); ``--random N`` runs N points of it, drawn without repetition by
``random.Random(seed)`` (``--seed``, else a seed chosen here and reported, so a sample
can be repeated).  Everything is checked before the first run starts: each value in its
file (``overrides.Plan``), each name (``save.prepare_name``: valid, free, not clashing).

All runs share one start: the baseline (``HEAD``) and one snapshot of the work tree,
both taken when the sweep starts, so editing meanwhile changes no run.  Each run is a
``sweep_worker`` process (``git exp run --isolated`` with that start and its params files)
in its own temporary worktree; ``--jobs`` of them at once (default 1).  With one job
the command's output streams through; with more, each run's output goes to
``<git dir>/git-exp/logs/<name>.log`` and the terminal gets one line per finished run.

Names: ``--name-prefix P`` names each run ``P`` + ``key-value`` for the keys that vary,
joined by ``-`` (``sweep/lr-0.1-depth-3``; a key by its last part unless two varying keys
share it).  A value is written as given; one with characters a name cannot hold, or
longer than VALUE_MAX, or two points that would read the same, get a short hash of the
point (``sweep/note-a_b-3f2a9c``).  Without a prefix the names are generated, as for run.

Interrupts: SIGINT, SIGTERM and SIGHUP are recorded, never raised, while the sweep runs.
One stops it: no further run starts, and each running one gets it as a single ``run``
does (from the terminal, or forwarded by ``git.Command.signal``), so it is saved as
``interrupted`` with its command's exit code.  The sweep waits for them, reports, and
exits 128+N.  The gits the sweep itself starts are shielded (``git.shielded``).
"""
from __future__ import annotations

import os
import signal
import sys
import time

from git_exp import git
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.record import Record

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
VALUE_MAX = 24  # characters of a value in a name before it is shortened and hashed
POLL = 0.05  # seconds between looks at the running workers


class Planned(Record):
    """One run: its name (None: generated), the index of each override's value, and those
    values as written (``{"lr": "0.1"}``)."""

    __slots__ = ("name", "point", "values")


class Outcome(Record):
    """A run's result: status is ok, failed, interrupted (saved), error (not saved) or
    ``not started``; ``metrics`` the saved experiment's ``metrics.*`` cells."""

    __slots__ = ("name", "values", "status", "exit_code", "duration", "sha", "metrics", "error", "log")
    _defaults = {"exit_code": None, "duration": None, "sha": None, "metrics": None, "error": None, "log": None}


class Sweep(Record):
    """The plan of a sweep (``prepare``) and, once run, each run's ``Outcome`` in plan order."""

    __slots__ = ("plan", "overrides", "runs", "grid", "seed", "jobs", "signal", "outcomes")
    _defaults = {"signal": None, "outcomes": None}

    @property
    def exit_code(self) -> int:
        """128+N when signal N stopped it; 1 when a run failed or was not saved; else 0."""
        if self.signal is not None:
            return 128 + self.signal
        return 0 if all(o.status == "ok" for o in self.outcomes) else 1

    @property
    def varying(self) -> list[str]:
        keys = [o.key for o in self.overrides if len(o.values) > 1]
        return keys or [o.key for o in self.overrides]


def is_sweep(overrides, jobs, random_, prefix) -> bool:
    return any(len(o.values) > 1 for o in overrides) or jobs is not None or random_ is not None or prefix is not None


def prepare(repo, overrides, argv: list[str], *, jobs: int | None, random_: int | None, seed: int | None, prefix: str | None,
            name: str | None, force: bool, append: bool, check_large: bool = False) -> Sweep:
    """Check everything a sweep needs and plan its runs; UsageError before anything ran.
    ``check_large``: refuse untracked files over exp.largeFile, as run does (``cautions``)."""
    from git_exp import overrides as overrides_
    from git_exp.commands.save import check_can_save

    if not argv:
        raise UsageError("no command to run — give one after --, e.g. "
                         "`git exp run -S lr=0.1,0.01 -- python train.py`")
    if name is not None:
        raise UsageError("-n names one run, and this is a sweep — use --name-prefix PREFIX to name its runs")
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs {jobs}: give at least 1")
    if random_ is not None and random_ < 1:
        raise UsageError(f"--random {random_}: give at least 1")
    if seed is not None and random_ is None:
        raise UsageError("--seed goes with --random N — add --random, or drop --seed")
    if not overrides:
        raise UsageError("a sweep needs values to sweep over — give -S KEY=VALUE,VALUE...")
    check_can_save(repo, "run")
    if check_large:
        from git_exp import cautions

        cautions.refuse_large(repo, "run")  # the sweep's one snapshot would put them in every run
    if repo.head() is None:
        raise UsageError("a sweep runs in isolated worktrees, which need a commit to start from, and this "
                         "repository has none — commit first")
    plan = overrides_.plan(repo, repo.worktree, overrides)
    sizes = [len(o.values) for o in overrides]
    grid = 1
    for size in sizes:
        grid *= size
    indexes: list[int] | range = range(grid)
    if random_ is not None:
        import random

        if seed is None:
            seed = int.from_bytes(os.urandom(2), "big")
        indexes = sorted(random.Random(seed).sample(range(grid), min(random_, grid)))
    points = [_point(i, sizes) for i in indexes]
    names = _names(overrides, points, prefix)
    _check_free(repo, [n for n in names if n is not None], force or append)
    planned = [Planned(n, p, {o.key: o.texts[i] for o, i in zip(overrides, p)}) for n, p in zip(names, points)]
    return Sweep(plan, overrides, planned, grid, seed, jobs or 1)


def _check_free(repo, names: list[str], replacing: bool) -> None:
    """``save.prepare_name``'s checks for many names with one listing: taken (unless
    --force or --append), or in the way of git's file/directory rule."""
    from git_exp.names import Clashes

    existing = set(repo.names())
    clashes = Clashes(existing)
    for name in names:
        if name in existing:
            if not replacing:
                raise UsageError(f"experiment {shown(name)} already exists — use --force to replace the runs that "
                                 "exist, --append to add to them, or another --name-prefix")
            continue
        other = clashes.find(name)
        if other is not None:
            raise UsageError(f"cannot name a run {shown(name)}: experiment {shown(other)} is in the way "
                             "(a name cannot also be a directory of names) — use another --name-prefix")
        clashes.add(name)


def _point(index: int, sizes: list[int]) -> tuple[int, ...]:
    """The ``index``-th combination in product order (the last varies fastest)."""
    point = []
    for size in reversed(sizes):
        index, here = divmod(index, size)
        point.append(here)
    return tuple(reversed(point))


def _names(overrides, points, prefix: str | None) -> list[str | None]:
    if prefix is None:
        return [None] * len(points)
    import hashlib

    varying = [i for i, o in enumerate(overrides) if len(o.values) > 1] or list(range(len(overrides)))
    lasts = [overrides[i].key.split(".")[-1] for i in varying]
    labels = [last if lasts.count(last) == 1 else overrides[i].key for i, last in zip(varying, lasts)]
    readable, hashed = [], []
    for point in points:
        parts, odd = [], False
        for label, i in zip(labels, varying):
            text = overrides[i].texts[point[i]]
            clean = _clean(f"{label}-{text}")
            odd = odd or clean != f"{label}-{text}" or len(text) > VALUE_MAX
            parts.append(clean[:len(label) + 1 + VALUE_MAX])
        readable.append(prefix + "-".join(parts))
        hashed.append(odd)
    names = []
    for name, odd, point in zip(readable, hashed, points):
        if odd or readable.count(name) > 1:
            digest = hashlib.sha1(repr([o.values[i] for o, i in zip(overrides, point)]).encode()).hexdigest()
            name = f"{name}-{digest[:6]}"
        names.append(name)
    from git_exp.names import ExpName

    for name in names:
        ExpName(name)
    if len(set(names)) != len(names):
        raise UsageError(f"two runs of the sweep would both be named {shown(name)} — give distinct values")
    return names


_NAME_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-_=,")


def _clean(text: str) -> str:
    """``text`` with what a name component cannot hold replaced by ``_``."""
    out = "".join(c if c in _NAME_SAFE else "_" for c in text)
    while ".." in out:
        out = out.replace("..", "_")
    if out.endswith(".lock"):
        out = out[:-5] + "_lock"
    return out.strip(".") or "_"


class _Interrupts:
    """Record SIGINT/SIGTERM/SIGHUP while the sweep runs and pass each on to the running
    workers (``git.Command.signal``: not again when the terminal sent it to all of us)."""

    def __init__(self, running: dict) -> None:
        self.running, self.received, self.old = running, [], {}

    def __enter__(self) -> _Interrupts:
        self.shield = git.shielded()
        self.shield.__enter__()
        for signum in SIGNALS:
            old = signal.getsignal(signum)
            if old != signal.SIG_IGN:
                self.old[signum] = old
                signal.signal(signum, self._record)
        return self

    def __exit__(self, *exc) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, ())  # handlers of signals already here run now
        for signum, old in self.old.items():
            signal.signal(signum, old)
        self.shield.__exit__()

    def _record(self, signum, frame) -> None:
        self.received.append(signum)
        for command in list(self.running):
            command.signal(signum)


def run(repo, sweep: Sweep, argv: list[str], *, message: str | None, force: bool, append: bool,
        untracked: bool, started=None, finished=None) -> Sweep:
    """Run the planned sweep; ``started(sweep, i, planned, log)`` and ``finished(sweep, i, outcome)`` are told as
    it goes.  Returns ``sweep`` with its ``outcomes`` and the ``signal`` that stopped it."""
    import json
    import tempfile

    from git_exp.snapshot import snapshot

    running: dict = {}  # git.Command -> (index, Planned, report path, log path)
    outcomes: list = [None] * len(sweep.runs)
    pending = list(range(len(sweep.runs)))
    with _Interrupts(running) as interrupts:
        baseline = repo.head()
        tree = snapshot(repo, untracked=untracked)
        scratch = tempfile.mkdtemp(prefix="git-exp-sweep-")
        try:
            while (pending and not interrupts.received) or running:
                while pending and len(running) < sweep.jobs and not interrupts.received:
                    index = pending.pop(0)
                    planned = sweep.runs[index]
                    report = os.path.join(scratch, f"{index}.json")
                    edit = sweep.plan.edit(planned.point)
                    spec = {"argv": argv, "name": planned.name, "baseline": baseline, "tree": tree,
                            "files": {p: d.decode("utf-8") for p, d in edit.files.items()},
                            "pairs": edit.pairs, "message": message, "force": force, "append": append,
                            "untracked": untracked, "report": report, "pythonpath": os.environ.get("PYTHONPATH")}
                    with open(os.path.join(scratch, f"{index}.spec"), "w", encoding="utf-8") as f:
                        json.dump(spec, f)
                    log = _log_path(repo, planned, index) if sweep.jobs > 1 else None
                    if started:
                        started(sweep, index, planned, log)
                    command = _start_worker(os.path.join(scratch, f"{index}.spec"), log)
                    if isinstance(command, str):
                        outcomes[index] = Outcome(planned.name, planned.values, "error", error=command)
                        if finished:
                            finished(sweep, index, outcomes[index])
                        continue
                    running[command] = (index, planned, report, log)
                    if interrupts.received:  # arrived while it was being started: it may have missed it
                        command.signal(interrupts.received[-1])
                for command in list(running):
                    code = command.poll()
                    if code is None:
                        continue
                    index, planned, report, log = running.pop(command)
                    outcomes[index] = _outcome(repo, planned, report, code, log, baseline, bool(interrupts.received))
                    if finished:
                        finished(sweep, index, outcomes[index])
                if running:
                    time.sleep(POLL)
        finally:
            import shutil

            for command in list(running):  # only on an unexpected error here: let them finish saving
                command.signal(signal.SIGTERM)
                command.wait()
            shutil.rmtree(scratch, ignore_errors=True)
        for index in pending:
            planned = sweep.runs[index]
            outcomes[index] = Outcome(planned.name, planned.values, "not started")
        sweep.outcomes = outcomes
        sweep.signal = interrupts.received[0] if interrupts.received else None
    return sweep


def _log_path(repo, planned: Planned, index: int) -> str:
    name = planned.name or f"run-{os.getpid()}-{index + 1}"
    path = os.path.join(repo.common_dir, "git-exp", "logs", name + ".log")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def _start_worker(spec: str, log: str | None):
    """The worker's ``git.Command``, or why it could not start."""
    import git_exp

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(git_exp.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    out = stdin = None
    try:
        if log is not None:
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            stdin = os.open(os.devnull, os.O_RDONLY)
        return git.Command([sys.executable, "-m", "git_exp.sweep_worker", spec], env=env, stdin=stdin,
                           stdout=out, stderr=out)
    except OSError as exc:
        return f"cannot start the run: {exc.strerror}"
    finally:
        for fd in (out, stdin):
            if fd is not None:
                os.close(fd)


def _outcome(repo, planned: Planned, report: str, code: int, log: str | None, baseline: str,
             interrupted: bool) -> Outcome:
    import json

    try:
        with open(report, encoding="utf-8") as f:
            said = json.load(f)
    except (OSError, ValueError):
        if interrupted:  # stopped while it started up, before its command could start
            return Outcome(planned.name, planned.values, "not started", exit_code=code, log=log)
        return Outcome(planned.name, planned.values, "error", exit_code=code, log=log,
                       error=f"the run's process ended (exit {code}) without a result")
    if "error" in said:
        status = "not started" if said.get("not_started") else "error"
        return Outcome(planned.name, planned.values, status, exit_code=said.get("exit_code"), error=said["error"],
                       log=log)
    from git_exp import results

    row = results.read(repo, {said["sha"]: baseline}).get(said["sha"], {})
    metrics = {k[len("metrics."):]: v for k, v in row.items() if k.startswith("metrics.")}
    if isinstance(row.get("metrics"), str):  # an error cell: the file could not be read
        metrics = {"metrics": row["metrics"]}
    return Outcome(said["name"], planned.values, said["status"], said["exit_code"], said["duration"], said["sha"],
                   metrics, None, log)
