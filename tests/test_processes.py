"""Process hygiene and signals, with real processes and real signals.

`git exp run` is started the way a shell starts it: as a separate process in a session
of its own, either with pipes (no terminal: CI, cron) or on a pseudo-terminal that is
its controlling terminal (where Ctrl-C is the byte 0x03 typed into the terminal).
"""
import fcntl
import os
import random
import select
import signal
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest

from git_exp import git

from .conftest import exp_refs
from .conftest import git as run_git

ROOT = Path(__file__).resolve().parents[1]
GIT_EXP = [sys.executable, str(ROOT / "bin" / "git-exp")]
ROUNDS = int(os.environ.get("GIT_EXP_SIGNAL_ROUNDS", "3"))


def trailers(repo, ref):
    text = run_git(repo, "log", "-1", "--format=%B", ref)
    parsed = run_git(repo, "interpret-trailers", "--parse", input=text)
    return dict(line.split(": ", 1) for line in parsed.splitlines())


class Started:
    """`git exp ARGS` running in its own session; ``tty``: on a pty that is its terminal."""

    def __init__(self, repo, args, *, tty=False, env=None, pass_fds=()):
        self.tty, self.buffer = tty, b""
        env = {**os.environ, **(env or {})}
        if tty:
            try:
                self.master, slave = os.openpty()
            except OSError as exc:  # a container without /dev/pts
                pytest.skip(f"no pseudo-terminal here: {exc}")
            self.proc = subprocess.Popen(
                GIT_EXP + args, cwd=repo, env=env, stdin=slave, stdout=slave, stderr=slave,
                start_new_session=True, pass_fds=pass_fds,
                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
            os.close(slave)
        else:
            self.proc = subprocess.Popen(GIT_EXP + args, cwd=repo, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         start_new_session=True, pass_fds=pass_fds)
            self.master = self.proc.stdout.fileno()

    def read_until(self, text: bytes, timeout=30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.buffer:
            assert time.monotonic() < deadline, self.buffer
            if not self._read(deadline - time.monotonic()):
                raise AssertionError(f"ended before {text!r}: {self.buffer!r}")

    def _read(self, timeout) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not ready:
            return True
        try:
            block = os.read(self.master, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            return False
        self.buffer += block
        return bool(block)

    def interrupt(self) -> bool:
        """Ctrl-C: typed into the terminal, or SIGINT to the process group as a shell's job
        control would send it.  False if the group was gone already."""
        if self.tty:
            os.write(self.master, b"\x03")
            return True
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            return True
        except ProcessLookupError:
            return False

    def finish(self, timeout=60.0) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            assert time.monotonic() < deadline, self.buffer
        code = self.proc.wait(timeout=max(deadline - time.monotonic(), 1))
        if self.tty:
            os.close(self.master)
        else:
            self.proc.stdout.close()
        return code, self.buffer.decode("utf-8", "replace").replace("\r\n", "\n")


def python_child(body: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(body)]


# ---------------------------------------------------------------- Ctrl-C, exact records

# Each writes what it really returns to MARK (outside the work tree) just before exiting.
CHILDREN = {
    # default SIGINT: dies of it (the shell's convention: 128+2); prints nothing on the way
    "dies": """
        import signal, sys, time
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        print('started', flush=True)
        time.sleep(DURATION)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # from here on it returns 0, whatever comes
        open(sys.argv[1], 'w').write('0')
    """,
    # ignores SIGINT and exits 0
    "ignores": """
        import signal, sys, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print('started', flush=True)
        time.sleep(DURATION)
        open(sys.argv[1], 'w').write('0')
    """,
    # traps SIGINT and exits 3
    "traps": """
        import signal, sys, time
        got = []
        signal.signal(signal.SIGINT, lambda s, f: got.append(s))
        print('started', flush=True)
        end = time.monotonic() + DURATION
        while time.monotonic() < end and not got:
            time.sleep(0.005)
        code = 3 if got else 0
        open(sys.argv[1], 'w').write(str(code))
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.exit(code)
    """,
}
DURATION = 0.3


def check_consistent(repo, name, kind, mark: Path, code: int, out: str, delivered: bool) -> str:
    """Whatever the moment of the interrupt, the record says what happened."""
    assert "Traceback" not in out, out
    if f"saved experiment {name} " not in out:
        assert name not in exp_refs(repo), out
        assert "nothing was run or saved" in out or "not saved" in out, out
        return "not saved"
    meta = trailers(repo, f"refs/exp/{name}")
    real = int(mark.read_text()) if mark.exists() else 128 + signal.SIGINT
    assert kind != "dies" or mark.exists() or real == 130
    assert int(meta["Exp-Exit-Code"]) == real, (meta, real, out)
    late = "SIGINT arrived while saving; the save was finished first" in out
    if meta["Exp-Status"] == "interrupted":
        assert delivered and not late and code == real, (meta, code, out)
        return "interrupted"
    assert meta["Exp-Status"] == ("ok" if real == 0 else "failed"), meta
    assert kind != "traps" or real == 0, meta  # a child that saw the interrupt: it came while it ran
    if late:
        assert code == 130 and "SIGINT received — saving the experiment first" in out, out
        return "interrupted while saving"
    if code == real:
        return "after the end"
    # it came once all was saved and said: the process ends of it, as any program would
    assert delivered and out.rstrip("^C\n").endswith(f"saved experiment {name} ({meta_sha(repo, name)})") \
        or out.rstrip().endswith("git-exp: interrupted"), (code, out)
    assert code in (-signal.SIGINT, 128 + signal.SIGINT), (code, out)
    return "after the report"


def meta_sha(repo, name):
    return run_git(repo, "rev-parse", "--short=7", f"refs/exp/{name}").strip()


@pytest.mark.parametrize("tty", [False, True], ids=["pipes", "terminal"])
@pytest.mark.parametrize("kind", sorted(CHILDREN))
def test_ctrl_c_at_any_moment_is_recorded_exactly(repo, tmp_path, kind, tty):
    body = CHILDREN[kind].replace("DURATION", str(DURATION))
    seen = []
    for i in range(ROUNDS):
        mark = tmp_path / f"mark-{i}"
        name = f"{kind}-{i}"
        run = Started(repo, ["run", "-n", name, "--", *python_child(body), str(mark)], tty=tty)
        run.read_until(b"started")
        time.sleep(random.uniform(0, DURATION * 2))  # while it runs, as it ends, while saving
        delivered = run.interrupt()
        code, out = run.finish()
        seen.append(check_consistent(repo, name, kind, mark, code, out, delivered))
    print(kind, "terminal" if tty else "pipes", seen)


HOOK = """#!{python}
import os, signal, sys
if sys.argv[1] == "prepared" and not os.path.exists({flag!r}):
    open({flag!r}, "w").close()
    os.killpg(os.getpgrp(), signal.SIGINT)  # Ctrl-C to the whole job while git-exp saves
"""


@pytest.mark.parametrize("tty", [False, True], ids=["pipes", "terminal"])
def test_interrupt_while_saving_finishes_the_save_and_says_so(repo, tmp_path, tty):
    hook = repo / ".git" / "hooks" / "reference-transaction"
    hook.write_text(HOOK.format(python=sys.executable, flag=str(tmp_path / "fired")))
    hook.chmod(0o755)
    run = Started(repo, ["run", "-n", "late", "--", "true"], tty=tty)
    code, out = run.finish()
    assert (tmp_path / "fired").exists()
    assert code == 130, out
    assert "SIGINT received — saving the experiment first" in out
    assert "git-exp: ok (exit 0" in out and "saved experiment late" in out
    assert out.rstrip().endswith("git-exp: SIGINT arrived while saving; the save was finished first"), out
    meta = trailers(repo, "refs/exp/late")
    assert meta["Exp-Exit-Code"] == "0" and meta["Exp-Status"] == "ok"
    assert run_git(repo, "fsck", "--no-progress") == ""


FSMONITOR = """#!{python}
import os, signal
os.killpg(os.getpgrp(), signal.SIGINT)  # Ctrl-C while --isolated prepares its work tree
"""


def test_interrupt_before_the_command_starts_runs_and_saves_nothing(repo, tmp_path):
    monitor = tmp_path / "fsmonitor"
    monitor.write_text(FSMONITOR.format(python=sys.executable))
    monitor.chmod(0o755)
    run_git(repo, "config", "core.fsmonitor", str(monitor))
    marker = tmp_path / "ran"
    run = Started(repo, ["run", "--isolated", "-n", "early", "--", "touch", str(marker)])
    code, out = run.finish()
    assert code == 130, out
    assert out.strip().splitlines() == [
        "git-exp: error: interrupted (SIGINT) before the command started — nothing was run or saved"], out
    assert not marker.exists() and exp_refs(repo) == {}
    assert len(run_git(repo, "worktree", "list").splitlines()) == 1  # the temporary work tree is gone


# ---------------------------------------------------------------- SIGTERM stops the tree

TREE = """
    import subprocess, sys, time
    grandchild = subprocess.Popen(['sleep', '60'])
    open(sys.argv[1], 'w').write(str(grandchild.pid))
    print('started', flush=True)
    time.sleep(60)
"""


def gone(pid: int, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True  # dead, waiting for a parent that is not us
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("tty", [False, True], ids=["pipes", "terminal"])
def test_sigterm_to_git_exp_stops_the_command_tree_and_saves(repo, tmp_path, tty):
    pidfile = tmp_path / "grandchild"
    run = Started(repo, ["run", "-n", "termed", "--", *python_child(TREE), str(pidfile)], tty=tty)
    run.read_until(b"started")
    grandchild = int(pidfile.read_text())
    os.kill(run.proc.pid, signal.SIGTERM)  # to git-exp alone, as `kill PID` or a service manager does
    code, out = run.finish()
    assert code == 143, out
    assert gone(grandchild), "the command's child was left running"
    meta = trailers(repo, "refs/exp/termed")
    assert meta["Exp-Status"] == "interrupted" and meta["Exp-Exit-Code"] == "143"


# ---------------------------------------------------------------- what children start with

# Probes that exec at once (dash clears its signal mask once it has waited for a child);
# not Python either: it ignores SIGPIPE and SIGXFSZ itself at start-up.
SIG_PROBE = 'exec grep -E "^Sig(Ign|Blk):" /proc/self/status'
FD_PROBE = "exec ls -l /proc/self/fd"


def probed(output: str) -> dict:
    """{'ignored': mask, 'blocked': mask} or {'fds': set} from a probe's output."""
    seen: dict = {"fds": set()}
    for line in output.splitlines():
        if line.startswith(("SigIgn:", "SigBlk:")):
            seen["ignored" if line.startswith("SigIgn") else "blocked"] = int(line.split()[1], 16)
        elif " -> " in line:
            fd, target = line.split(" -> ")[0].split()[-1], line.split(" -> ", 1)[1]
            if not (target.startswith("/proc/") and target.endswith("/fd")):  # what ls itself opened
                seen["fds"].add(int(fd))
    return seen


def bits(*signums: int) -> int:
    return sum(1 << (s - 1) for s in signums)


STOPPERS = bits(signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def test_run_command_starts_with_default_signals_and_only_its_descriptors(repo):
    given_r, given_w = os.pipe()  # a descriptor our caller hands down on purpose (a jobserver)
    os.set_inheritable(given_r, True)
    try:
        outputs = []
        for name, probe in (("signals", SIG_PROBE), ("fds", FD_PROBE)):
            code, out = Started(repo, ["run", "-n", name, "--", "sh", "-c", probe], pass_fds=(given_r,)).finish()
            assert code == 0, out
            outputs.append(out)
    finally:
        os.close(given_r)
        os.close(given_w)
    seen = probed(outputs[0])
    assert seen["ignored"] & bits(signal.SIGPIPE, signal.SIGXFSZ) == 0
    assert seen["blocked"] == 0
    assert probed(outputs[1])["fds"] == {0, 1, 2, given_r}, outputs[1]


def test_git_children_start_clean_and_shielded_ones_block_interrupts(repo):
    alias, fd_alias = f"alias.probe=!{SIG_PROBE}", f"alias.probe=!{FD_PROBE}"
    other = git.start("cat-file", "--batch", input=b"HEAD\n" * 10, cwd=repo)  # its pipes are open meanwhile
    seen = probed(git.run("-c", alias, "probe", cwd=repo).out)
    assert seen["ignored"] & bits(signal.SIGPIPE, signal.SIGXFSZ) == 0
    assert seen["blocked"] & STOPPERS == 0
    ours = {fd for fd in range(3, 1024) if _open(fd) and not os.get_inheritable(fd)}
    assert {other.out_r, other.err_r} <= ours
    fds = probed(git.run("-c", fd_alias, "probe", cwd=repo).out)["fds"]
    assert {0, 1, 2} <= fds and not ours & fds, (ours, fds)
    other.wait()
    with git.shielded():
        seen = probed(git.run("-c", alias, "probe", cwd=repo).out)
    assert seen["blocked"] & STOPPERS == STOPPERS
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == set()  # we did not block them ourselves


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def test_subprocess_fallback_gives_the_same_start(repo, tmp_path):
    """With fd 0 closed git starts through subprocess: same signals, same shield."""
    script = tmp_path / "fallback.py"
    script.write_text(textwrap.dedent(f"""
        import contextlib, os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from git_exp import git
        os.close(0)
        with git.shielded() if sys.argv[1] == "shielded" else contextlib.nullcontext():
            one = git.start('-c', 'alias.probe=!' + {SIG_PROBE!r}, 'probe', cwd={str(repo)!r})
            assert one.proc is not None  # subprocess did it
            sys.stdout.write(one.wait().out)
    """))
    plain, shielded = (probed(subprocess.run([sys.executable, str(script), mode], check=True, capture_output=True,
                                             text=True).stdout) for mode in ("plain", "shielded"))
    assert plain["ignored"] & bits(signal.SIGPIPE, signal.SIGXFSZ) == 0
    assert plain["blocked"] & STOPPERS == 0
    assert shielded["blocked"] & STOPPERS == STOPPERS


# ---------------------------------------------------------------- interrupted gits are stopped

SLOW_GIT = """
import os, sys
sys.path.insert(0, {root!r})
from git_exp import git
with git.guarded():
    slow = git.start("ls-remote", "ssh://example.invalid/x", cwd={repo!r},
                     env={{"GIT_SSH_COMMAND": {ssh!r}}})
    try:
        slow.wait()
    except (KeyboardInterrupt, git.Terminated) as exc:
        print(type(exc).__name__, slow.result.returncode, flush=True)
"""

SLOW_SSH = """#!/bin/sh
echo $$ > {pidfile}
exec sleep 60
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_gits_and_their_children_are_stopped_and_reaped(repo, tmp_path, signum):
    pidfile = tmp_path / "ssh.pid"
    ssh = tmp_path / "slow-ssh"
    ssh.write_text(SLOW_SSH.format(pidfile=pidfile))
    ssh.chmod(0o755)
    script = tmp_path / "slow.py"
    script.write_text(SLOW_GIT.format(root=str(ROOT), repo=str(repo), ssh=str(ssh)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ssh_pid = int(pidfile.read_text())
    started = time.monotonic()
    os.kill(proc.pid, signum)  # to our process alone: git and its ssh get nothing from outside
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10
    name = "KeyboardInterrupt" if signum == signal.SIGINT else "Terminated"
    assert out.split() == [name, str(-signal.SIGTERM)], out
    assert gone(ssh_pid), "git's ssh was left running"


# ---------------------------------------------------------------- git missing

def test_missing_git_is_a_clear_error(repo, tmp_path):
    only_python = tmp_path / "bin"
    only_python.mkdir()
    (only_python / "python3").symlink_to(sys.executable)
    for args in (["ls"], ["run", "--", "true"], ["save"]):
        ran = subprocess.run(GIT_EXP + args, cwd=repo, capture_output=True, text=True,
                             env={**os.environ, "PATH": str(only_python)})
        assert ran.returncode == 2, ran
        assert ran.stderr.splitlines() == [
            "git-exp: error: git is not installed or not on PATH — install git, or add the directory "
            "that holds it to PATH"], ran
    assert exp_refs(repo) == {}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_any_command_interrupted_leaves_no_git_running(repo, tmp_path, signum):
    """`git exp ls origin` waiting on a slow ssh: a signal to git-exp alone stops git and its ssh."""
    pidfile = tmp_path / "ssh.pid"
    ssh = tmp_path / "slow-ssh"
    ssh.write_text(SLOW_SSH.format(pidfile=pidfile))
    ssh.chmod(0o755)
    run_git(repo, "remote", "add", "origin", "ssh://example.invalid/x")
    run = Started(repo, ["ls", "origin"], env={"GIT_SSH_COMMAND": str(ssh)})
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(run.proc.pid, signum)
    code, out = run.finish(timeout=20)
    assert (code, out) == ((130, "git-exp: interrupted\n") if signum == signal.SIGINT
                           else (143, "git-exp: terminated\n"))
    assert gone(int(pidfile.read_text())), "git's ssh was left running"


def test_leaving_guarded_stops_gits_never_waited_for(repo, tmp_path):
    """An interrupt between a git's start and its wait: the command's guard stops it."""
    pidfile = tmp_path / "ssh.pid"
    ssh = tmp_path / "slow-ssh"
    ssh.write_text(SLOW_SSH.format(pidfile=pidfile))
    ssh.chmod(0o755)
    before = git.start("rev-parse", "HEAD", cwd=repo)  # started outside: not the guard's to stop
    with pytest.raises(KeyboardInterrupt):
        with git.guarded():
            slow = git.start("ls-remote", "ssh://example.invalid/x", cwd=repo, env={"GIT_SSH_COMMAND": str(ssh)})
            deadline = time.monotonic() + 30
            while not pidfile.exists() or not pidfile.read_text().strip():
                assert time.monotonic() < deadline
                time.sleep(0.02)
            raise KeyboardInterrupt
    assert slow.result is not None and slow.result.returncode == -signal.SIGTERM
    assert gone(int(pidfile.read_text())), "git's ssh was left running"
    assert before.result is None and before.wait().returncode == 0


REFUSE = """#!/bin/sh
test "$1" = prepared && { echo "not today" >&2; exit 1; }
exit 0
"""


def test_a_save_that_fails_after_the_command_says_the_result_was_not_saved(repo):
    hook = repo / ".git" / "hooks" / "reference-transaction"
    hook.write_text(REFUSE)
    hook.chmod(0o755)
    code, out = Started(repo, ["run", "-n", "refused", "--", "sh", "-c", "exit 3"]).finish()
    lines = out.strip().splitlines()
    assert code == 1 and len(lines) == 1, out
    assert lines[0].startswith("git-exp: error: the command ended (failed, exit 3) but its result was not saved: "), out
    assert exp_refs(repo) == {}


SLOW_FLUSH = """
import time
from pathlib import Path

import git_exp.cache as cache

real = cache.flush


def flush():
    Path({mark!r}).write_text("flushing")
    time.sleep(1)
    real()


cache.flush = flush
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_once_the_command_is_done_changes_nothing(repo, tmp_path, signum):
    """A Ctrl-C or SIGTERM while git-exp writes what its command learnt, once that
    command has done and said all: held, no traceback, the command's own exit code, the
    facts written (it used to land in the function that writes them, or in atexit's)."""
    mark = tmp_path / "flushing"
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_FLUSH.format(mark=str(mark)))
    assert subprocess.run([*GIT_EXP, "save", "-n", "one"], cwd=repo, capture_output=True).returncode == 0
    facts = repo / ".git" / "git-exp" / "facts"
    facts.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    proc = subprocess.Popen([*GIT_EXP, "ls"], cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 30
    while not mark.exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and err == "" and out.splitlines()[1].endswith("  one"), (proc.returncode, out, err)
    assert facts.exists()
