"""The sandbox a stress run works in: its temp dir, hermetic environment, processes and repos.

Every process gets an explicit environment (temp HOME, no system config, fixed identity,
no prompts, no inherited ``GIT_*``); ``git exp`` runs as users run it, through git's
dispatcher, in its own process group so a SIGKILL reaches git's children too.  Every
repository gets a ``reference-transaction`` hook that records each committed transaction
in a file of its own, outside the repository (:meth:`Sandbox.hook`).
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent.parent
IDENTITY = {
    "GIT_AUTHOR_NAME": "A U Thor", "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "C O Mitter", "GIT_COMMITTER_EMAIL": "committer@example.com",
}
SCRUBBED = ("GIT_ASKPASS", "SSH_ASKPASS", "SSH_AUTH_SOCK", "CI", "GITHUB_ACTIONS", "GITLAB_CI",
            "JENKINS_URL", "BUILDKITE", "CIRCLECI", "GITHUB_TOKEN", "GH_TOKEN")
GITCONFIG = ("[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n"
             "[advice]\n\tdetachedHead = false\n")
TIMEOUT = 120.0
# The formats of every repository made, as for the rest of the suite (tests/formats.py):
# read at import, before a test's hermetic fixture scrubs GIT_* variables.
FORMATS = {var: os.environ[src] for var, src in (("GIT_DEFAULT_HASH", "GIT_EXP_TEST_OBJECT_FORMAT"),
                                                 ("GIT_DEFAULT_REF_FORMAT", "GIT_EXP_TEST_REF_FORMAT"))
           if os.environ.get(src)}
SHM = Path("/dev/shm")

HOOK = """#!/bin/sh
# stress suite: log every prepared and committed ref transaction; refuse all while {refuse} exists
case "$1" in
committed) exec cat >> {log}/tx.$$ ;;
prepared) if [ -e {refuse} ]; then cat > /dev/null; echo "stress: refused by the hook" >&2; exit 1; fi
          exec cat >> {log}/prep.$$ ;;
esac
"""


class HarnessError(Exception):
    """A command the harness itself needs (not the one under test) failed."""


@dataclass
class Result:
    """What one process did."""

    argv: Sequence[str]
    code: int
    out: bytes
    err: bytes
    seconds: float
    killed: bool = False     # we sent SIGKILL before it finished
    timed_out: bool = False  # it ran past its timeout (then killed)

    def __str__(self) -> str:
        return " ".join(_short(a) for a in self.argv)

    @property
    def err_text(self) -> str:
        return self.err.decode("utf-8", "replace")

    @property
    def out_text(self) -> str:
        return self.out.decode("utf-8", "replace")


def _short(arg: str) -> str:
    arg = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return shlex.quote(arg if len(arg) <= 40 else arg[:37] + "...")


@dataclass(eq=False)
class Repo:
    """A repository of a scenario; ``remote`` ones may only change under ``refs/exp/``."""

    path: Path
    gitdir: Path
    log: Path            # where its hook writes transaction files
    remote: bool = False

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Sandbox:
    """A temp dir with a hermetic environment and a ``git-exp`` on PATH."""

    root: Path
    env: dict = field(default_factory=dict)
    outputs: list = field(default_factory=list)   # every git-exp Result, for the secrets scan
    keep: bool = False
    templates: dict = field(default_factory=dict)  # worlds built once, copied per round
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, parent: Optional[Path] = None, keep: bool = False, formats: Optional[Mapping] = None) -> Sandbox:
        """``formats``: GIT_DEFAULT_HASH / GIT_DEFAULT_REF_FORMAT for every repository git
        makes here (default: :data:`FORMATS`)."""
        if parent is None and SHM.is_dir() and os.access(SHM, os.W_OK):
            parent = SHM  # tmpfs: kills and fsyncs cost less, and nothing reaches the disk
        root = Path(tempfile.mkdtemp(prefix="git-exp-stress-", dir=parent))
        home, bindir, tmp = root / "home", root / "bin", root / "tmp"
        for d in (home, bindir, tmp, root / "logs"):
            d.mkdir()
        (home / ".gitconfig").write_text(GITCONFIG)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k not in SCRUBBED
               and not k.startswith(("CI_", "GITHUB_", "BUILDKITE_", "CIRCLE_"))}
        env.update(IDENTITY)
        env.update(FORMATS if formats is None else formats)
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
                   GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", GIT_EDITOR="false", LC_ALL="C",
                   TMPDIR=str(tmp), PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
        server = bindir / "stress-server"
        server.write_text(f"#!/bin/sh\necho $$ >> {shlex.quote(str(root / 'servers.pids'))}\n"
                          f"exec setsid \"$(git --exec-path)/$1\" \"$2\"\n")
        server.chmod(0o755)
        if shutil.which("git-exp", path=env["PATH"]) is None:
            runner = bindir / "git-exp"
            runner.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} "
                              f"{shlex.quote(str(ROOT / 'bin' / 'git-exp'))} \"$@\"\n")
            runner.chmod(0o755)
        return cls(root=root, env=env, keep=keep)

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------ processes

    def run(self, argv: Sequence[str], cwd: Path, *, env: Optional[Mapping] = None, input: bytes = None,
            timeout: float = TIMEOUT, kill_after: Optional[float] = None, preexec=None) -> Result:
        """Run argv in its own process group; SIGKILL the group after ``kill_after`` seconds
        (or at the timeout) and wait until every process of the group is gone."""
        start = time.monotonic()
        env = {k: v for k, v in {**self.env, **(env or {})}.items() if v is not None}
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env,
                                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=preexec)
        limit = timeout if kill_after is None else min(kill_after, timeout)
        killed = timed_out = False
        try:
            out, err = proc.communicate(input, timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = kill_after is None or kill_after >= timeout
            killed = not timed_out
            _kill_group(proc.pid)
            self.wait_for_servers()
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:  # something outside the group holds its pipes
                proc.kill()
                out, err = b"", b"stress: output lost (a process outside the group kept the pipes open)"
        seconds = time.monotonic() - start
        _kill_group(proc.pid)  # what it left running in its group (a detached gc, say)
        return Result(argv, proc.returncode, out or b"", err or b"", seconds, killed, timed_out)

    def exp(self, cwd: Path, *args: str, **kw) -> Result:
        """``git exp ARGS`` as a user runs it; the result is kept for the secrets scan."""
        res = self.run(["git", "exp", *args], cwd, **kw)
        with self._lock:
            self.outputs.append(res)
        return res

    def git(self, cwd: Path, *args: str, input: bytes = None, check: bool = True, env=None) -> bytes:
        """Real git for setup and checks; HarnessError when it fails and ``check``."""
        proc = subprocess.run(["git", *args], cwd=cwd, env={**self.env, **(env or {})}, input=input,
                              capture_output=True)
        if check and proc.returncode:
            raise HarnessError(f"git {' '.join(_short(a) for a in args)} in {cwd} failed ({proc.returncode}): "
                               f"{proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout

    def git_result(self, cwd: Path, *args: str) -> Result:
        return self.run(["git", *args], cwd)

    # ------------------------------------------------------------------ repositories

    def hook(self, repo_path: Path, gitdir: Path, *, remote: bool = False, install: bool = True) -> Repo:
        """Install the logging ``reference-transaction`` hook; return the Repo."""
        log = self.root / "logs" / f"{repo_path.parent.name}-{repo_path.name}-{os.urandom(3).hex()}"
        log.mkdir(parents=True)
        if not install:  # while a world is built: the hook costs a few ms per transaction
            return Repo(repo_path, gitdir, log, remote)
        hooks = gitdir / "hooks"
        hooks.mkdir(exist_ok=True)
        script = hooks / "reference-transaction"
        script.write_text(HOOK.format(log=shlex.quote(str(log)), refuse=shlex.quote(str(log / "REFUSE"))))
        script.chmod(0o755)
        return Repo(repo_path, gitdir, log, remote)

    @contextmanager
    def setup(self, *repos: Repo):
        """Writes made by the scenario's own setup: the hook is off meanwhile (it costs a
        few ms per transaction); take snapshots after this."""
        hooks = [r.gitdir / "hooks" / "reference-transaction" for r in repos]
        for h in hooks:
            h.rename(h.with_suffix(".off"))
        try:
            yield
        finally:
            for h in hooks:
                h.with_suffix(".off").rename(h)

    def init(self, path: Path, *, bare: bool = False, hook: bool = True, env=None) -> Repo:
        path.mkdir(parents=True, exist_ok=True)
        args = ["init", "-q", "-b", "main", "--template="] + (["--bare"] if bare else [])
        self.git(path, *args, env=env)
        return self.hook(path, path if bare else path / ".git", remote=bare, install=hook)

    def copy(self, src: World, dst: Path) -> World:
        """A fresh copy of a world (its local repo and remote) with hooks and URLs of its own."""
        shutil.copytree(src.root, dst, symlinks=True)
        local = self.hook(dst / "local", dst / "local" / ".git")
        remote = self.hook(dst / "remote.git", dst / "remote.git", remote=True)
        self.git(local.path, "config", "remote.origin.url", str(remote.path))
        self.serve(local, "origin")
        return World(dst, local, remote, dict(src.shas), src.main)

    def serve(self, repo: Repo, remote: str) -> None:
        """Run ``remote``'s receive-pack and upload-pack as a server runs them: in a session
        of their own, which a SIGKILL of the client's process group does not reach."""
        for key, program in (("receivepack", "git-receive-pack"), ("uploadpack", "git-upload-pack")):
            self.git(repo.path, "config", f"remote.{remote}.{key}", f"{self.root / 'bin' / 'stress-server'} {program}")

    def wait_for_servers(self) -> None:
        """Wait until the server processes a killed client left have finished, as a real
        server finishes (or aborts) on its own when the client is gone."""
        pids = self.root / "servers.pids"
        deadline = time.monotonic() + 10
        for pid in pids.read_text().split() if pids.exists() else ():
            while _running(int(pid)) and time.monotonic() < deadline:
                time.sleep(0.005)


@dataclass
class World:
    """A local repository with a main commit and experiments, and a bare remote ``origin``."""

    root: Path
    local: Repo
    remote: Repo
    shas: dict          # name -> sha of the experiments made at setup
    main: str
    notes: dict = field(default_factory=dict)   # what a scenario remembers about this world

    @property
    def repos(self) -> list:
        return [self.local, self.remote]


def _kill_group(pgid: int) -> None:
    """SIGKILL every live process of group ``pgid`` and wait until none is left.  Zombies
    are not waited for: a killed process's orphans wait for init to reap them (here ~1 s;
    in a container without an init, for ever), and a rerun must not take them for live."""
    deadline = time.monotonic() + 5
    while _alive(pgid) and time.monotonic() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            break
        time.sleep(0.005)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:].split()[0] != b"Z"


def _alive(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False
