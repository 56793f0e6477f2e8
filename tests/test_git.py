"""git.py's process runner: real git, big pipes both ways, failures, side-by-side runs."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from git_exp import git

from .conftest import commit_all, write


def test_large_input_and_output_at_once_do_not_deadlock(repo):
    """cat-file answers while we are still writing: both pipes fill far past 64 KiB."""
    write(repo, {f"f{i}": f"{i}\n" for i in range(200)})
    head = commit_all(repo)
    query = "".join(f"{head}:f{i % 200}\n" for i in range(40_000)).encode()
    result = git.run("cat-file", "--batch-check", input=query, cwd=repo)
    lines = result.out.splitlines()
    assert len(lines) == 40_000 and all(line.endswith(" blob 2") or line.endswith(" blob 3") or
                                        line.endswith(" blob 4") for line in lines)
    assert result.stderr == b""


def test_a_git_collected_in_the_background_finishes_while_nobody_waits(repo):
    """``background``: a thread feeds git and reads it, so git gets past the 64 KiB a pipe
    holds and ends with no one in ``wait``; ``wait`` then gives all it said, and a
    background git stopped by ``kill`` is reaped as any other."""
    import time

    write(repo, {f"f{i}": f"{i}\n" for i in range(200)})
    head = commit_all(repo)
    query = "".join(f"{head}:f{i % 200}\n" for i in range(40_000)).encode()
    running = git.start("cat-file", "--batch-check", input=query, cwd=repo).background()
    deadline = time.monotonic() + 60
    while running.result is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert running.result is not None  # done before anyone waited: ~2 MB went through the pipes
    assert len(running.wait().out.splitlines()) == 40_000
    assert running.background() is running and running.thread is not None  # once only
    sleeper = git.start("cat-file", "--batch", input=b"", cwd=repo)
    never = git.start("hash-object", "--stdin-paths", input=b"f0\n" * 10, cwd=repo).background()
    never.kill()
    assert never.result is not None and sleeper.wait().returncode == 0
    git.wait_all([git.start("rev-parse", "HEAD", cwd=repo).background(), git.start("rev-parse", "HEAD", cwd=repo)])


def test_failure_keeps_code_and_stderr(repo):
    result = git.run("rev-parse", "--verify", "no-such-thing", cwd=repo, check=False)
    assert result.returncode == 128 and result.stdout == b"" and result.stderr.startswith(b"fatal: ")
    with pytest.raises(git.GitError) as caught:
        git.run("rev-parse", "--verify", "no-such-thing", cwd=repo)
    assert caught.value.returncode == 128 and "`git rev-parse --verify no-such-thing` failed (exit 128)" in str(caught.value)


def test_git_that_stops_reading_its_input(repo):
    """A git that exits before reading everything: no BrokenPipeError, its own verdict stands."""
    result = git.run("rev-parse", "--verify", "HEAD", input=b"x" * (1 << 20), cwd=repo)
    assert result.out.strip() == git.out("rev-parse", "HEAD", cwd=repo) and result.out.strip()


def test_started_gits_run_side_by_side(repo):
    first = git.start("rev-parse", "HEAD", cwd=repo)
    second = git.start("for-each-ref", "--format=%(refname)", cwd=repo)
    assert second.wait().out == "refs/heads/main\n"
    assert first.wait().out.strip() == git.out("rev-parse", "HEAD", cwd=repo)


def test_env_and_cwd_reach_git(repo, tmp_path):
    (repo / "sub").mkdir()
    assert git.out("rev-parse", "--show-prefix", cwd=repo / "sub") == "sub/"
    assert git.out("var", "GIT_AUTHOR_IDENT", env={"GIT_AUTHOR_NAME": "Someone Else"}, cwd=repo).startswith("Someone Else ")
    assert git.out("config", "--get", "core.quotepath", cwd=repo) == "false"  # pinned settings apply


def test_closed_standard_descriptors_fall_back_to_subprocess(repo):
    """With fd 0-2 closed our pipes would land on them; the runner hands over to subprocess."""
    code = ("import os, sys; sys.path.insert(0, sys.argv[1]); from git_exp import git; os.close(0); "
            "r = git.run('rev-parse', 'HEAD', cwd=sys.argv[2]); open(sys.argv[3], 'w').write(r.out)")
    out_file = repo.parent / "out.txt"
    subprocess.run([sys.executable, "-c", code, str(Path(git.__file__).parents[1]), str(repo), str(out_file)],
                   check=True, stdin=subprocess.DEVNULL)
    assert out_file.read_text().strip() == git.out("rev-parse", "HEAD", cwd=repo) != ""


def test_missing_git_is_a_usage_error(repo, monkeypatch):
    monkeypatch.setenv("PATH", os.fspath(repo))
    with pytest.raises(git.GitNotFound, match="^git is not installed or not on PATH — "):
        git.run("version")


def test_a_git_started_apart_is_in_a_process_group_of_its_own(tmp_path):
    """``apart``: a signal to our process group (a cancelled CI job's SIGKILL) does not
    reach it, and stopping it (as an interrupt does) lets it end on its own, where a git
    started along is terminated."""

    from git_exp import git as git_module

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    apart = git_module.start("cat-file", "--batch", cwd=tmp_path, input=b"", apart=True)
    along = git_module.start("cat-file", "--batch", cwd=tmp_path, input=b"")
    try:
        assert os.getpgid(apart.pid or apart.proc.pid) == (apart.pid or apart.proc.pid) != os.getpgrp()
        assert os.getpgid(along.pid or along.proc.pid) == os.getpgrp()
    finally:
        for one in (apart, along):
            one.kill()
    assert apart.result.returncode == 0  # its input ended: it finished
    assert along.result.returncode != 0  # SIGTERM
    # interrupted while it writes (``_abandon``): it is read to its end, not cut off
    tree = subprocess.run(["git", "mktree"], cwd=tmp_path, input=b"", capture_output=True, check=True).stdout
    talking = git_module.start("cat-file", "--batch", cwd=tmp_path, input=tree * 20000, apart=True)  # 1.2 MB out
    talking._abandon()
    assert talking.result.returncode == 0


def test_a_paced_stream_reads_all_the_pipe_holds_at_each_look(repo):
    """With ``pace`` on, each look at a pipe reads what it holds, not ``CHUNK``: reads of
    ``CHUNK`` every 2 ms were slower than git writes a listing of 100k refs."""
    import fcntl

    data = os.urandom(3 * git.PIPE_SIZE // 2).hex().encode()[: 3 * git.PIPE_SIZE // 2]
    blob = git.start("hash-object", "-w", "--stdin", cwd=repo, input=data).wait().out.strip()
    streams = git.Streams(pace=0.05)  # git fills the pipe while we wait
    one = git.start("cat-file", "blob", blob, cwd=repo)
    streams.add(one)
    if fcntl.fcntl(one.out_r, getattr(fcntl, "F_GETPIPE_SZ", 1032)) < git.PIPE_SIZE:
        pytest.skip("this system keeps pipes small")
    blocks = [block for _one, block in streams]
    assert b"".join(blocks) == data and max(map(len, blocks)) > git.CHUNK


def test_a_git_stopped_is_frozen_with_all_it_started_before_the_signal(tmp_path):
    """``_stop`` first stops (SIGSTOP) the git and what it started, looking again until no
    new process appears, so that a shell starting its command between our look and our
    signal cannot leave that command running; then SIGTERM, then SIGCONT."""
    import signal
    import time

    root = subprocess.Popen(["sh", "-c", "sleep 30 & sh -c 'sleep 30 & wait' & wait"])
    try:
        deadline = time.monotonic() + 10
        while len(git._descendants(root.pid, os.getpgrp())) < 3:  # a sleep, a shell and its sleep
            assert time.monotonic() < deadline, git._descendants(root.pid, os.getpgrp())
            time.sleep(0.01)
        frozen = git._frozen(root.pid, os.getpgrp())
        assert frozen[0] == root.pid and set(git._descendants(root.pid, os.getpgrp())) <= set(frozen)
        for pid in frozen:
            state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            assert state in (b"T", b"t"), (pid, state)
    finally:
        for pid in git._descendants(root.pid, os.getpgrp()) + [root.pid]:
            os.kill(pid, signal.SIGKILL)
            os.kill(pid, signal.SIGCONT)
        root.wait()


@pytest.mark.parametrize("reader", ["wait", "stream"])
def test_an_interrupt_just_after_a_pipe_closes_never_closes_it_again(repo, monkeypatch, reader):
    """Ctrl-C landing right after our end of git's output pipe is closed (seen in CI as
    ``show``'s table streamed): leaving, every pipe end is closed once -- a second close
    failed with EBADF in place of "interrupted", or closed a descriptor reused since."""
    import signal

    write(repo, {"f": "x\n"})
    commit_all(repo)
    running = git.start("cat-file", "--batch-check", cwd=repo, input="HEAD\n")
    target, real, closed = running.out_r, os.close, []

    def close(fd):
        real(fd)
        closed.append(fd)
        if fd == target:
            signal.raise_signal(signal.SIGINT)  # handled at the next bytecode: as if it came now

    monkeypatch.setattr(os, "close", close)
    with pytest.raises(KeyboardInterrupt):
        with git.guarded():
            if reader == "wait":
                running.wait()
            else:
                streams = git.Streams()
                streams.add(running)
                for _one, _block in streams:
                    pass
    monkeypatch.undo()
    assert closed.count(target) == 1 and len(closed) == len(set(closed)), closed
    assert running.result is not None  # reaped all the same


def test_input_fed_at_once_lets_git_run_before_anyone_reads_it(repo):
    """``feed``: git gets its input at once (what the pipe takes), so it works -- here, ends
    -- while nobody waits for it; input larger than the pipe is fed the rest on ``wait``."""
    import time

    write(repo, {"f": "x\n"})
    head = commit_all(repo)
    running = git.start("cat-file", "--batch-check", cwd=repo, input=f"{head}\n").feed()
    assert running.in_w is None  # all of it written, and the pipe closed: git sees its end
    deadline = time.monotonic() + 10
    while os.waitid(os.P_PID, running.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        assert time.monotonic() < deadline, "git still waits for its input"
        time.sleep(0.01)
    assert running.wait().out == f"{head} commit {len(git.run('cat-file', 'commit', head, cwd=repo).stdout)}\n"
    many = "".join(f"{head}\n" for _ in range(20_000))  # ~800 KB: more than a pipe takes
    big = git.start("cat-file", "--batch-check", cwd=repo, input=many).feed()
    assert big.in_w is not None and 0 < big.sent < len(many)
    assert big.wait().out.count("\n") == 20_000
