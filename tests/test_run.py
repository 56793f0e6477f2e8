import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import assert_error, exp_refs, git, write

ROOT = Path(__file__).resolve().parents[1]


def trailers(repo, ref):
    text = git(repo, "log", "-1", "--format=%B", ref)
    parsed = git(repo, "interpret-trailers", "--parse", input=text)
    return dict(line.split(": ", 1) for line in parsed.splitlines())


def test_run_records_metadata_and_exit_code(repo, exp):
    ran = exp("run", "-n", "r1", "--", sys.executable, "-c",
              "import json,sys; print('training'); json.dump({'acc': 0.5}, open('metrics.json','w')); sys.exit(3)")
    assert ran.code == 3
    assert "saved experiment r1" in ran.err and "failed (exit 3" in ran.err
    assert ran.out == "training\n"  # the command's output streamed through, nothing else on stdout
    meta = trailers(repo, "refs/exp/r1")
    assert meta["Exp-Exit-Code"] == "3"
    assert meta["Exp-Status"] == "failed"
    assert meta["Exp-Command"].startswith(sys.executable) and "sys.exit(3)" in meta["Exp-Command"]
    assert meta["Exp-Duration"].endswith("s") and float(meta["Exp-Duration"][:-1]) >= 0
    assert meta["Exp-Executor"]
    assert git(repo, "show", "refs/exp/r1:metrics.json") == '{"acc": 0.5}'


def test_run_success_and_options_after_command(repo, exp):
    ran = exp("run", "-n", "ok", "sh", "-c", "exit 0", "-n", "not-ours")
    assert ran.code == 0, ran
    assert trailers(repo, "refs/exp/ok")["Exp-Command"] == "sh -c 'exit 0' -n not-ours"


def test_run_refuses_bad_name_before_running(repo, exp, tmp_path):
    marker = tmp_path / "ran"
    assert_error(exp("run", "-n", "a..b", "--", "touch", str(marker)), 2, "invalid experiment name")
    assert not marker.exists()
    exp("save", "-n", "taken")
    assert_error(exp("run", "-n", "taken", "--", "touch", str(marker)), 2, "already exists")
    assert not marker.exists()


def test_run_without_command_and_missing_program(repo, exp):
    assert_error(exp("run"), 2, "no command to run")
    assert_error(exp("run", "-n", "x", "--", "no-such-program-xyz"), 127, "cannot run 'no-such-program-xyz'")
    assert exp_refs(repo) == {}


def test_ci_executor_and_no_secrets(repo, exp, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "team/proj")
    monkeypatch.setenv("SECRET_TOKEN", "hunter2-very-secret")
    assert exp("run", "-n", "ci", "--", "true").code == 0
    meta = trailers(repo, "refs/exp/ci")
    assert meta["Exp-Executor"].endswith("(github-actions run 4242)")
    assert meta["Exp-Run-URL"] == "https://github.example/team/proj/actions/runs/4242"
    assert "hunter2" not in git(repo, "cat-file", "-p", "refs/exp/ci")


def test_ci_providers():
    from git_exp.metadata import executor

    cases = {
        "gitlab-ci run 7": {"GITLAB_CI": "true", "CI_JOB_ID": "7", "CI_JOB_URL": "https://gl/j/7"},
        "jenkins run 8": {"JENKINS_URL": "https://j", "BUILD_NUMBER": "8", "BUILD_URL": "https://tok:s3@j/b/8"},
        "buildkite run 9": {"BUILDKITE": "true", "BUILDKITE_BUILD_NUMBER": "9", "BUILDKITE_BUILD_URL": "https://bk/9"},
        "circleci run 10": {"CIRCLECI": "true", "CIRCLE_BUILD_NUM": "10", "CIRCLE_BUILD_URL": "https://c/10"},
    }
    for expected, env in cases.items():
        host, url = executor(env)
        assert host.endswith(f"({expected})")
        assert url and "s3" not in url
    assert executor({})[1] is None


RUNNER = """
import sys
from git_exp.cli import main
sys.exit(main(["run", "-n", "stopped", "--", sys.executable, "-c",
               "import time, pathlib; pathlib.Path('partial.txt').write_text('half'); print('started', flush=True); time.sleep(60)"]))
"""


def test_interrupt_still_saves(repo):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", RUNNER], cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout.readline().strip() == "started"
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    code = proc.wait(timeout=30)
    err = proc.stderr.read()
    assert code == 130, err
    assert "git-exp: interrupted" in err and "git_exp" not in err  # only the command's own traceback
    meta = trailers(repo, "refs/exp/stopped")
    assert meta["Exp-Status"] == "interrupted"
    assert git(repo, "show", "refs/exp/stopped:partial.txt") == "half"


def test_sigterm_stops_command_and_saves(repo):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", RUNNER], cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    proc.terminate()
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert trailers(repo, "refs/exp/stopped")["Exp-Status"] == "interrupted"


def test_isolated_run_leaves_worktree_alone(repo, exp):
    write(repo, {"params.yaml": "lr: 0.5\n"})  # uncommitted edit goes into the isolated run
    before = git(repo, "status", "--porcelain")
    ran = exp("run", "-n", "iso", "--isolated", "--", *sh_write("out.txt", "made in isolation"))
    assert ran.code == 0, ran
    assert not (repo / "out.txt").exists()
    assert git(repo, "status", "--porcelain") == before
    assert git(repo, "show", "refs/exp/iso:out.txt") == "made in isolation\n"
    assert git(repo, "show", "refs/exp/iso:params.yaml") == "lr: 0.5\n"
    assert git(repo, "rev-parse", "refs/exp/iso^") == git(repo, "rev-parse", "HEAD")
    assert git(repo, "worktree", "list").count("\n") == 1


def test_parallel_isolated_runs(repo):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "git_exp", "run", "-n", f"p{i}", "--isolated", "--",
                               "sh", "-c", f"sleep 0.3; echo {i} > out.txt"], cwd=repo, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    for i in range(3):
        assert git(repo, "show", f"refs/exp/p{i}:out.txt") == f"{i}\n"


def sh_write(path, text):
    return "sh", "-c", f"echo '{text}' > {path}"


def test_isolated_needs_a_commit(tmp_path, exp):
    from .conftest import init_repo

    path = init_repo(tmp_path / "empty", files={"a": "a"}, commit=False)
    assert_error(exp("run", "--isolated", "--", "true", cwd=path), 2, "needs a commit")


def test_elapsed_is_measured(repo, exp):
    start = time.monotonic()
    exp("run", "-n", "sleepy", "--", "sleep", "0.2")
    meta = trailers(repo, "refs/exp/sleepy")
    assert 0.2 <= float(meta["Exp-Duration"][:-1]) <= time.monotonic() - start


def test_isolated_run_starts_in_an_empty_subdirectory(repo, exp, monkeypatch):
    (repo / "fresh" / "deeper").mkdir(parents=True)  # no file in it: in no tree
    monkeypatch.chdir(repo / "fresh" / "deeper")
    ran = exp("run", "--isolated", "-n", "here", "--", "sh", "-c", "pwd > where.txt")
    assert ran.code == 0, ran
    where = git(repo, "show", "refs/exp/here:fresh/deeper/where.txt").strip()
    assert where.endswith("/fresh/deeper") and not where.startswith(str(repo))
