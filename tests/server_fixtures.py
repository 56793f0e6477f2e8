"""Real git servers on 127.0.0.1 for the test suite (a pytest plugin).

Each server is a real program (git-daemon, lighttpd + git-http-backend, sshd,
gitolite3 behind sshd) started once per session (per xdist worker) on a free
port, in its own process group, serving a session temp dir.  Function-scoped
fixtures create a fresh bare repository inside the served root and return a
:class:`Remote` telling a client how to reach it.

Recipes: shared/TEST-SERVERS.md.  Servers run with an explicit environment of
their own (never the test's monkeypatched one) and never read a developer's
~/.gitconfig.  A missing program makes the fixture skip with the command that
installs it.

Fixtures: ``local_remote``, ``file_remote``, ``daemon_remote``, ``http_remote``,
``http_auth_remote``, ``ssh_remote``, ``gitolite_server``, ``any_remote``
(parametrized over the transports that need no auth), ``git_lfs``; the
session servers behind them: ``git_daemon_server``, ``http_server``,
``ssh_server``, ``gitolite_service``.
"""
from __future__ import annotations

import atexit
import base64
import hashlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from tests import formats

HOST = "127.0.0.1"  # never any other address
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
INSTALL = "install with: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
SSH_OPTIONS = ("-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
               "-o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR")


# --------------------------------------------------------------------------- helpers

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_for_port(proc: subprocess.Popen, port: int, *, log: Path | None = None,
                  marker: str | None = None, timeout: float = START_TIMEOUT) -> bool:
    """Wait until ``port`` accepts and (if given) ``marker`` is in ``log``.

    The marker proves that *our* process bound the port, not some other one.
    Returns False when the process exited first (e.g. port taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if port_accepts(port) and (marker is None or marker in _read(log)):
            return True
        time.sleep(0.005)
    stop_group(proc)
    raise RuntimeError(f"{proc.args[0]} did not listen on {HOST}:{port} in {timeout}s:\n{_read(log)}")


_RUNNING: list[subprocess.Popen] = []


def start_group(argv: list[str], *, env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.Popen:
    """Start ``argv`` in a new process group (session) with stdout+stderr to ``log``."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _RUNNING.append(proc)
    return proc


def stop_group(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group of ``proc``; SIGKILL what is left of it after
    ``timeout`` (or shortly after the leader exits); reap the leader."""
    pgid = proc.pid  # start_new_session=True: the leader's pid is the group id
    _signal_group(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    if proc.poll() is None or not group_gone(pgid, timeout=0.2):
        _signal_group(pgid, signal.SIGKILL)
        proc.wait()
        group_gone(pgid, timeout=timeout)
    if proc in _RUNNING:
        _RUNNING.remove(proc)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def live_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` that are still running.

    Zombies don't count: a server's child orphaned by its exit is reparented to
    pid 1, which may take a second or more to reap it."""
    if not os.path.isdir("/proc/self"):  # no procfs: any member, zombie or not
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp = stat[stat.rindex(")") + 2:].split()[:3]
        if int(pgrp) == pgid and state not in "ZX":
            members.append(int(entry.name))
    return members


def group_gone(pgid: int, timeout: float = 1.0) -> bool:
    """Wait up to ``timeout`` until no running process is left in group ``pgid``."""
    deadline = time.monotonic() + timeout
    while live_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


@atexit.register
def _stop_leftovers() -> None:  # safety net if a session teardown never ran
    for proc in list(_RUNNING):
        stop_group(proc, timeout=1.0)


def serve(name: str, make_argv, *, env: dict[str, str], workdir: Path, marker: str | None = None,
          log: Path | None = None, before_start=None) -> tuple[subprocess.Popen, int]:
    """Start a server on a free port (retried if another process grabbed it first).

    ``make_argv(port)`` returns the command; ``before_start(port)`` may write config.
    The server's own output goes to ``workdir/name.log``; ``log`` is where ``marker``
    shows up (defaults to that file)."""
    out = workdir / f"{name}.log"
    for _ in range(3):
        port = free_port()
        if before_start:
            before_start(port)
        proc = start_group(make_argv(port), env=env, log=out, cwd=workdir)
        if wait_for_port(proc, port, log=log or out, marker=marker):
            return proc, port
        stop_group(proc)
    raise RuntimeError(f"{name} could not start on a free port:\n{_read(out)}")


def _read(path: Path | None) -> str:
    try:
        return path.read_text(errors="replace") if path else ""
    except FileNotFoundError:
        return ""


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """An explicit environment for server processes: no developer config, no test env.

    Its PATH is the suite's, so servers run the git under test; repositories they make are
    of the formats under test (tests/formats.py)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        **formats.default_env(),
    }
    env.update(extra)
    return env


def session_env(home: Path) -> dict[str, str]:
    """What an sshd session's shell gets (sshd replaces PATH with its own default, so the
    git under test would not be the one serving)."""
    env = server_env(home)
    return {key: env[key] for key in ("PATH", "HOME", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL",
                                      *formats.default_env())}


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def require(program: str, package: str, path: str | None = None) -> str:
    """Absolute path of ``program``, or skip the test saying how to install it."""
    found = path if path and os.access(path, os.X_OK) else shutil.which(program)
    if not found:
        pytest.skip(f"{program} not found: {INSTALL} {package}")
    return found


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root here (sshd logs in as root with a test key); run the suite as root")


def git_exec_path() -> Path:
    return Path(subprocess.run(["git", "--exec-path"], capture_output=True, text=True,
                               check=True).stdout.strip())


def init_bare(path: Path, env: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    run(["git", "init", "-q", "--bare", "-b", "main", str(path)], env)
    return path


def keygen(path: Path, env: dict[str, str]) -> Path:
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], env)
    return path


def ssh_command(key: Path) -> str:
    return f"ssh -i {key} {SSH_OPTIONS}"


# --------------------------------------------------------------------------- Remote

@dataclass
class Remote:
    """How a client reaches one bare repository on a server.

    ``url``: what ``git clone``/``git push`` take.  ``path``: the bare repo on
    disk (inspect with ``git -C path ...``).  ``env``: extra client environment
    (e.g. ``GIT_SSH_COMMAND``).  ``git_config``: ``key=value`` pairs the client
    needs, for ``git -c`` (see :attr:`config_args`).  ``username``/``password``:
    HTTP basic-auth credentials, when the server wants them."""

    url: str
    path: Path
    env: dict[str, str] = field(default_factory=dict)
    git_config: list[str] = field(default_factory=list)
    username: str | None = None
    password: str | None = None
    transport: str = "local"

    @property
    def config_args(self) -> list[str]:
        """``["-c", "k=v", ...]`` to put right after ``git``."""
        return [arg for pair in self.git_config for arg in ("-c", pair)]

    def git(self, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``git -c ... args`` in ``cwd`` with this remote's env and config applied."""
        proc = subprocess.run(["git", *self.config_args, *args], cwd=cwd, capture_output=True,
                              text=True, env={**os.environ, **self.env}, stdin=subprocess.DEVNULL)
        if check and proc.returncode:
            raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def clone(self, dest: Path, *args: str) -> Path:
        """``git clone`` this remote into ``dest`` and :meth:`configure` the clone's origin."""
        self.git(dest.parent, "clone", "-q", *args, self.url, str(dest))
        self.configure(dest)
        return dest

    def configure(self, repo: Path, name: str = "origin", *, password: str | None = None,
                  credentials: bool = True) -> None:
        """``git remote add name url`` in ``repo`` (or set its URL) and write into its
        .git/config whatever the client needs (``core.sshCommand``, a credential
        store), so that plain ``git push name`` works with no extra env or ``-c``.

        For HTTP auth: ``password`` overrides the right one (e.g. ``"wrong"``), and
        ``credentials=False`` configures no credential at all.  core.sshCommand and
        credential.helper are per repository, not per remote: the last configured
        ssh / http-auth remote wins (gitolite users share one sshCommand, so any
        number of them can live in one repository)."""
        def cfg(*args: str) -> None:
            subprocess.run(["git", "config", *args], cwd=repo, check=True)

        exists = subprocess.run(["git", "remote", "get-url", name], cwd=repo,
                                capture_output=True).returncode == 0
        subprocess.run(["git", "remote", "set-url" if exists else "add", name, self.url],
                       cwd=repo, check=True)
        for pair in self.git_config:
            key, value = pair.split("=", 1)
            if not key.startswith("credential."):
                cfg("--replace-all", key, value)  # e.g. core.sshCommand: the last remote wins
        if self.username is None:
            return
        cfg("--add", "credential.helper", "")  # drop any inherited helper
        if credentials:
            git_dir = Path(subprocess.run(["git", "rev-parse", "--absolute-git-dir"], cwd=repo,
                                          check=True, capture_output=True, text=True).stdout.strip())
            store = git_dir / f"test-credentials-{name}"
            store.write_text(self.credential_line(password))
            store.chmod(0o600)
            cfg("--add", "credential.helper", f"store --file={store}")

    def credential_line(self, password: str | None = None) -> str:
        """A ``git credential-store`` line for this remote's host."""
        scheme, rest = self.url.split("://", 1)
        host = rest.split("/", 1)[0]
        pw = self.password if password is None else password
        return f"{scheme}://{quote(self.username or '', safe='')}:{quote(pw or '', safe='')}@{host}\n"


_serial = itertools.count(1)


def _fresh_dir(root: Path, request) -> Path:
    """A new unique directory in a served root, named after the test."""
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40].strip("-") or "t"
    return Path(tempfile.mkdtemp(prefix=f"{next(_serial)}-{stem}-", dir=root))


# --------------------------------------------------------------------------- local / file

@pytest.fixture
def local_remote(tmp_path) -> Remote:
    """A bare repo reached by its local path."""
    path = init_bare(tmp_path / "remotes" / "proj.git", server_env(tmp_path))
    return Remote(url=str(path), path=path, transport="local")


@pytest.fixture
def file_remote(tmp_path) -> Remote:
    """A bare repo reached by a file:// URL."""
    path = init_bare(tmp_path / "remotes" / "proj.git", server_env(tmp_path))
    return Remote(url=path.as_uri(), path=path, transport="file")


# --------------------------------------------------------------------------- git daemon

@dataclass
class Server:
    """A running session server: where it serves from and how it was started."""
    root: Path       # served directory (bare repos go in here)
    port: int
    env: dict[str, str]
    proc: subprocess.Popen
    workdir: Path
    extra: dict = field(default_factory=dict)


@pytest.fixture(scope="session")
def git_daemon_server(tmp_path_factory):
    daemon = git_exec_path() / "git-daemon"
    if not os.access(daemon, os.X_OK):
        pytest.skip(f"git-daemon not found at {daemon}: {INSTALL} git")
    work = tmp_path_factory.mktemp("git-daemon")
    root = work / "srv"
    root.mkdir()
    env = server_env(work)
    proc, port = serve(
        "git-daemon",
        lambda port: [str(daemon), "--verbose", f"--listen={HOST}", f"--port={port}",
                      f"--base-path={root}", "--export-all", "--enable=receive-pack",
                      "--reuseaddr", "--informative-errors", str(root)],
        env=env, workdir=work, marker="Ready to rumble")
    yield Server(root, port, env, proc, work)
    stop_group(proc)


@pytest.fixture
def daemon_remote(git_daemon_server, request) -> Remote:
    """A fresh bare repo served by git daemon (git://, push enabled, no auth)."""
    s = git_daemon_server
    path = init_bare(_fresh_dir(s.root, request) / "proj.git", s.env)
    return Remote(url=f"git://{HOST}:{s.port}/{path.relative_to(s.root)}", path=path, transport="daemon")


# --------------------------------------------------------------------------- smart HTTP

HTTP_USER = "alice"
HTTP_PASSWORD = "s3cret"

LIGHTTPD_CONF = """\
server.modules = ("mod_auth", "mod_authn_file", "mod_alias", "mod_setenv", "mod_cgi")
server.bind = "{host}"
server.port = {port}
server.document-root = "{d}/www"
server.errorlog = "{d}/error.log"
server.pid-file = "{d}/lighttpd.pid"
server.upload-dirs = ("{d}")
server.stream-request-body = 2
server.feature-flags = ( "auth.delay-invalid-creds" => "disable" )
alias.url = ( "/anon/" => "{backend}/", "/auth/" => "{backend}/" )
$HTTP["url"] =~ "^/(anon|auth)/" {{
  cgi.assign = ( "" => "" )
  setenv.set-environment = ( "GIT_PROJECT_ROOT" => "{d}/srv", "GIT_HTTP_EXPORT_ALL" => "1",
                             "PATH" => "{path}", "HOME" => "{d}", "LC_ALL" => "C",
                             "GIT_CONFIG_NOSYSTEM" => "1", "GIT_CONFIG_GLOBAL" => "/dev/null" )
}}
$HTTP["url"] =~ "^/anon/" {{
  setenv.add-environment = ( "GIT_CONFIG_COUNT" => "1", "GIT_CONFIG_KEY_0" => "http.receivepack",
                             "GIT_CONFIG_VALUE_0" => "true" )
}}
auth.backend = "htpasswd"
auth.backend.htpasswd.userfile = "{d}/htpasswd"
auth.require = ( "/auth/" => ( "method" => "basic", "realm" => "git", "require" => "valid-user" ) )
"""


@pytest.fixture(scope="session")
def http_server(tmp_path_factory):
    """lighttpd + git-http-backend: /anon/ pushes without login, /auth/ needs alice."""
    lighttpd = require("lighttpd", "lighttpd", "/usr/sbin/lighttpd")
    backend = git_exec_path() / "git-http-backend"
    if not os.access(backend, os.X_OK):
        pytest.skip(f"git-http-backend not found at {backend}: {INSTALL} git")
    work = tmp_path_factory.mktemp("lighttpd")
    for sub in ("srv", "www"):
        (work / sub).mkdir()
    digest = base64.b64encode(hashlib.sha1(HTTP_PASSWORD.encode()).digest()).decode()
    (work / "htpasswd").write_text(f"{HTTP_USER}:{{SHA}}{digest}\n")
    conf = work / "lighttpd.conf"

    def write_conf(port: int) -> None:
        conf.write_text(LIGHTTPD_CONF.format(host=HOST, port=port, d=work, backend=backend,
                                             path=server_env(work)["PATH"]))

    env = server_env(work)
    proc, port = serve("lighttpd", lambda port: [lighttpd, "-D", "-f", str(conf)], env=env,
                       workdir=work, before_start=write_conf, log=work / "error.log",
                       marker="server started")
    yield Server(work / "srv", port, env, proc, work)
    stop_group(proc)


@pytest.fixture
def http_remote(http_server, request) -> Remote:
    """A fresh bare repo over smart HTTP at /anon/ (anonymous push)."""
    s = http_server
    path = init_bare(_fresh_dir(s.root, request) / "proj.git", s.env)
    return Remote(url=f"http://{HOST}:{s.port}/anon/{path.relative_to(s.root)}", path=path,
                  transport="http")


@pytest.fixture
def http_auth_remote(http_server, request, tmp_path) -> Remote:
    """A fresh bare repo over smart HTTP at /auth/ (basic auth, user alice).

    ``git_config`` points a credential store holding the right password;
    ``configure(repo)`` writes a per-repo store (``password="wrong"`` for a wrong
    one, ``credentials=False`` for none)."""
    s = http_server
    path = init_bare(_fresh_dir(s.root, request) / "proj.git", s.env)
    remote = Remote(url=f"http://{HOST}:{s.port}/auth/{path.relative_to(s.root)}", path=path,
                    username=HTTP_USER, password=HTTP_PASSWORD, transport="http-auth")
    store = tmp_path / "http-credentials"
    store.write_text(remote.credential_line())
    store.chmod(0o600)
    remote.git_config = ["credential.helper=", f"credential.helper=store --file={store}"]
    return remote


# --------------------------------------------------------------------------- sshd

SSHD_CONFIG = """\
ListenAddress {host}
Port {port}
HostKey {hostkey}
PidFile {d}/sshd.pid
AuthorizedKeysFile {authorized_keys}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers root
AcceptEnv GIT_PROTOCOL
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
SetEnv {setenv}
"""


def start_sshd(work: Path, authorized_keys: Path, setenv: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """sshd -D on a free port serving ``authorized_keys``; call with root checked."""
    sshd = require("sshd", "openssh-server", "/usr/sbin/sshd")
    if not Path("/run/sshd").is_dir():  # privilege separation directory
        try:
            Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        except OSError as exc:
            pytest.skip(f"sshd needs /run/sshd and it cannot be created ({exc}): run as root")
    hostkey = work / "hostkey"
    if not hostkey.exists():
        keygen(hostkey, server_env(work))
    conf = work / "sshd_config"

    def write_conf(port: int) -> None:
        conf.write_text(SSHD_CONFIG.format(
            host=HOST, port=port, hostkey=hostkey, d=work, authorized_keys=authorized_keys,
            setenv=" ".join(f"{k}={v}" for k, v in setenv.items())))

    return serve("sshd", lambda port: [sshd, "-D", "-e", "-f", str(conf)],
                 env=server_env(work), workdir=work, before_start=write_conf,
                 marker="Server listening on")


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory):
    """sshd logging in root with a generated key; repos under its served root."""
    require_root("the sshd fixture")
    require("ssh", "openssh-client")
    require("ssh-keygen", "openssh-client")
    work = tmp_path_factory.mktemp("sshd")
    root = work / "srv"
    root.mkdir()
    key = keygen(work / "userkey", server_env(work))
    authorized = work / "authorized_keys"
    shutil.copy(work / "userkey.pub", authorized)
    proc, port = start_sshd(work, authorized, session_env(work))
    yield Server(root, port, server_env(work), proc, work, extra={"key": key})
    stop_group(proc)


@pytest.fixture
def ssh_remote(ssh_server, request) -> Remote:
    """A fresh bare repo over ssh://root@127.0.0.1:PORT/abs/path/proj.git."""
    s = ssh_server
    path = init_bare(_fresh_dir(s.root, request) / "proj.git", s.env)
    command = ssh_command(s.extra["key"])
    return Remote(url=f"ssh://root@{HOST}:{s.port}{path}", path=path,
                  env={"GIT_SSH_COMMAND": command}, git_config=[f"core.sshCommand={command}"],
                  transport="ssh")


# --------------------------------------------------------------------------- gitolite

GITOLITE_USERS = ("alice", "bob")
GITOLITE_CONF = """\
repo gitolite-admin
    RW+             =   admin

# per-test repos t/NAME: alice may do anything, bob anything but write refs/exp/
repo t/[a-zA-Z0-9][a-zA-Z0-9._-]*
    C               =   alice
    -   refs/exp/   =   bob
    RW+             =   alice bob
"""


@dataclass
class GitoliteService:
    port: int
    home: Path                # gitolite's HOME (GLH)
    keys: dict[str, Path]     # user -> private key
    env: dict[str, str]

    def create_repo(self, name: str, creator: str = "alice") -> Path:
        """A new wild repo ``name`` (must match ``t/...``), as ``gitolite create`` makes it."""
        path = init_bare(self.home / "repositories" / f"{name}.git", self.env)
        for hook in (self.home / ".gitolite" / "hooks" / "common").iterdir():
            target = path / "hooks" / hook.name
            target.unlink(missing_ok=True)
            target.symlink_to(hook)
        (path / "gl-creator").write_text(creator)
        return path

    def remote(self, user: str, name: str) -> Remote:
        """``user``'s Remote for repo ``name``: URL ``ssh://gitolite-USER/NAME``, a host alias
        (127.0.0.1, this sshd's port, the user's key) from the session's ssh config file, so
        that remotes of several users can live in one repository with one core.sshCommand."""
        command = f"ssh -F {self.ssh_config}"
        return Remote(url=f"ssh://gitolite-{user}/{name}",
                      path=self.home / "repositories" / f"{name}.git",
                      env={"GIT_SSH_COMMAND": command},
                      git_config=[f"core.sshCommand={command}"], transport=f"gitolite-{user}")

    @property
    def ssh_config(self) -> Path:
        return self.home.parent / "ssh_config"

    def write_ssh_config(self) -> None:
        self.ssh_config.write_text("".join(
            f"Host gitolite-{user}\n  HostName {HOST}\n  Port {self.port}\n  User root\n"
            f"  IdentityFile {key}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n"
            f"  UserKnownHostsFile /dev/null\n  BatchMode yes\n  LogLevel ERROR\n"
            for user, key in self.keys.items()))


@dataclass
class GitoliteRepo:
    """One fresh gitolite repo for a test; call it with a user to get that user's Remote."""
    service: GitoliteService
    name: str
    path: Path
    users: tuple[str, ...] = GITOLITE_USERS

    def remote(self, user: str) -> Remote:
        return self.service.remote(user, self.name)

    __call__ = remote


@pytest.fixture(scope="session")
def gitolite_service(tmp_path_factory):
    """gitolite3 (users alice, bob) behind its own sshd; set up once per session."""
    require_root("the gitolite fixture")
    gitolite = require("gitolite", "gitolite3")
    require("ssh", "openssh-client")
    require("ssh-keygen", "openssh-client")
    work = tmp_path_factory.mktemp("gitolite")
    home = work / "glh"
    keydir = home / ".gitolite" / "keydir"
    keydir.mkdir(parents=True)
    for sub in ("conf", "logs"):
        (home / ".gitolite" / sub).mkdir()
    (home / ".gitolite" / "conf" / "gitolite.conf").write_text(GITOLITE_CONF)
    env = server_env(home, USER="git")
    keys = {}
    for user in GITOLITE_USERS:
        keys[user] = keygen(work / user, env)
        shutil.copy(work / f"{user}.pub", keydir / f"{user}.pub")
    run([gitolite, "setup", "-a", "admin"], env, cwd=home)  # one compile: conf + keydir in place
    proc, port = start_sshd(work, home / ".ssh" / "authorized_keys", session_env(home))
    service = GitoliteService(port, home, keys, env)
    service.write_ssh_config()
    yield service
    stop_group(proc)


@pytest.fixture
def gitolite_server(gitolite_service) -> GitoliteRepo:
    """A fresh gitolite repo ``t/proj-N``; ``gitolite_server("bob")`` is bob's Remote to it."""
    name = f"t/proj-{next(_serial)}"
    path = gitolite_service.create_repo(name)
    return GitoliteRepo(gitolite_service, name, path)


# --------------------------------------------------------------------------- across transports

NO_AUTH_TRANSPORTS = ("local", "file", "daemon", "http", "ssh")


@pytest.fixture(params=NO_AUTH_TRANSPORTS)
def any_remote(request) -> Remote:
    """Each transport that needs no auth in turn: local, file, daemon, http, ssh."""
    return request.getfixturevalue(f"{request.param}_remote")


# --------------------------------------------------------------------------- git-lfs

@pytest.fixture
def git_lfs() -> str:
    """Path of git-lfs, or skip saying how to install it."""
    path = require("git-lfs", "git-lfs")
    proc = subprocess.run(["git", "lfs", "version"], capture_output=True, text=True)
    if proc.returncode:
        pytest.skip(f"git lfs does not run ({proc.stderr.strip()}): {INSTALL} git-lfs")
    return path
