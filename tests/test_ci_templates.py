"""The CI templates (templates/), run as their hosts would run them.

Each test plays the host: a depth-1 detached checkout of a real server's repository, the
host's variables, its step-output and job-summary files, the template's own shell steps
run by bash with the host's flags, its `if:` conditions and `${{ }}` values evaluated.
The steps that install things (`actions/setup-python`, `pip install git-exp`) are the one
part not run: git-exp is already on PATH (the suite's own install). Anything else in a
template that the simulator does not understand fails the test, so a template cannot
drift from what is checked here.

The object-storage recipe (README) runs against moto's S3 server on 127.0.0.1 through
the `git-remote-s3` helper from PyPI.
"""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import git, init_repo
from tests.server_fixtures import HOST, free_port, stop_group, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / "templates" / "github" / "git-exp.yml"
GITLAB = ROOT / "templates" / "gitlab" / "git-exp.gitlab-ci.yml"

TRAIN = """\
import json, pathlib, yaml
params = yaml.safe_load(pathlib.Path("params.yaml").read_text())
pathlib.Path("metrics.json").write_text(json.dumps({"acc": 1 - params["lr"]}))
print("trained")
"""

pytestmark = pytest.mark.once


def project(tmp_path: Path, url: str, *config: str) -> str:
    """A project with a training script, pushed to ``url``'s main; its commit."""
    work = init_repo(tmp_path / "dev", files={"params.yaml": "lr: 0.1\n", "train.py": TRAIN,
                                              ".gitignore": "*.html\n"})
    git(work, *config, "push", "-q", url, "HEAD:refs/heads/main")
    return git(work, "rev-parse", "HEAD").strip()


def checkout(dest: Path, url: str, sha: str, *config: str) -> Path:
    """What actions/checkout and GitLab's runner do: fetch one commit at depth 1, detach."""
    dest.mkdir()
    git(dest, "init", "-q")
    git(dest, "remote", "add", "origin", url)
    for pair in config:
        git(dest, "config", "--add", *pair.split("=", 1))
    git(dest, "fetch", "-q", "--no-tags", "--depth=1", "origin", f"+{sha}:refs/remotes/origin/main")
    git(dest, "checkout", "-q", "--detach", sha)
    assert git(dest, "rev-parse", "--is-shallow-repository").strip() == "true"
    return dest


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    # GitHub runs `bash --noprofile --norc -eo pipefail {0}`; GitLab's runner `set -eo pipefail`
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          env={**os.environ, **env}, capture_output=True, text=True, stdin=subprocess.DEVNULL)


# ----------------------------------------------------------------------------- GitHub

class Actions:
    """One job of a GitHub workflow, simulated step by step."""

    def __init__(self, workflow: dict, work: Path, env: dict[str, str], inputs: dict[str, str]) -> None:
        self.workflow, self.work, self.inputs = workflow, work, inputs
        self.host_env = env
        self.outputs: dict[str, dict[str, str]] = {}
        self.uploaded: list[Path] = []
        self.log = ""

    def value(self, expr: str) -> str:
        expr = expr.strip()
        if expr.startswith("inputs."):
            return self.inputs.get(expr[len("inputs."):], "")
        if expr.startswith("env."):
            return str(self.workflow["env"][expr[len("env."):]])
        if expr.startswith("steps."):
            step, kind, key = expr[len("steps."):].split(".")
            assert kind == "outputs", expr
            return self.outputs.get(step, {}).get(key, "")
        raise AssertionError(f"the simulator does not know ${{{{ {expr} }}}}")

    def expand(self, text: str) -> str:
        out = ""
        while "${{" in text:
            before, _, rest = text.partition("${{")
            expr, _, text = rest.partition("}}")
            out += before + self.value(expr)
        return out + text

    def condition(self, text: str | None) -> bool:
        if text is None:
            return True
        text = text.strip()
        if text.startswith("${{") and text.endswith("}}"):
            text = text[3:-2]
        result = True
        for part in text.split("&&"):
            part = part.strip()
            if part == "!cancelled()":
                continue
            left, op, right = part.partition(" != ")
            assert op and right.strip() == "''", f"the simulator does not know `if: {text}`"
            result = result and self.value(left) != ""
        return result

    def run(self, job: str) -> int:
        """Run the job's steps; the exit code of the first failing step (later steps run as
        their `if:` says), 0 when all passed."""
        failed = 0
        for step in self.workflow["jobs"][job]["steps"]:
            if "if" in step and not self.condition(step["if"]) or ("if" not in step and failed):
                continue
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout@"):
                continue  # done by the test: a depth-1 detached checkout
            if uses.startswith("actions/setup-python@") or step.get("id") == "install":
                continue  # git-exp is on PATH already
            if uses.startswith("actions/upload-artifact@"):
                path = self.work / self.expand(step["with"]["path"])
                if path.is_file():  # else the action warns "No files were found" (if-no-files-found: warn)
                    self.uploaded.append(path)
                continue
            assert not uses, f"the simulator does not know {uses}"
            output = self.work.parent / f"output-{step.get('id', 'step')}"
            output.write_text("")
            env = {**{k: self.expand(str(v)) for k, v in self.workflow.get("env", {}).items()},
                   **self.host_env, "GITHUB_OUTPUT": str(output),
                   **{k: self.expand(str(v)) for k, v in step.get("env", {}).items()}}
            assert "${{" not in step["run"], "run: scripts take values through env:, never ${{ }}"
            proc = bash(step["run"], self.work, env)
            self.log += proc.stdout + proc.stderr
            if "id" in step:
                self.outputs[step["id"]] = dict(line.split("=", 1) for line in output.read_text().splitlines() if line)
            if proc.returncode and not failed:
                failed = proc.returncode
        return failed


def github_env(tmp_path: Path, sha: str, run_id: str, event: str) -> dict[str, str]:
    summary = tmp_path / f"summary-{run_id}.md"
    summary.write_text("")
    return {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": run_id, "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "team/proj",
            "GITHUB_EVENT_NAME": event, "GITHUB_SHA": sha, "GITHUB_STEP_SUMMARY": str(summary),
            "RUNNER_TEMP": str(tmp_path)}


def test_github_workflow_runs_pushes_and_reruns_by_hand(tmp_path, http_remote):
    workflow = yaml.safe_load(GITHUB.read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    assert workflow["permissions"]["contents"] == "write"
    sha = project(tmp_path, http_remote.url)

    # a push to main: run, push, summary, report
    env = github_env(tmp_path, sha, "1001", "push")
    job = Actions(workflow, checkout(tmp_path / "runner1", http_remote.url, sha), env, inputs={})
    assert job.run("experiment") == 0, job.log
    ref = "refs/exp/ci/1001-1"
    pushed = git(http_remote.path, "rev-parse", ref).strip()
    body = git(http_remote.path, "cat-file", "commit", pushed)
    assert "Exp-Run-URL: https://github.example/team/proj/actions/runs/1001" in body
    assert git(http_remote.path, "rev-parse", f"{pushed}^1").strip() == sha  # its baseline
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "ci/1001-1" in summary and "|" in summary and "acc" in summary
    assert [p.name for p in job.uploaded] == ["exp-report.html"]
    assert "ci/1001-1" in job.uploaded[0].read_text()

    # started by hand with that experiment's name, on a fresh runner
    env = github_env(tmp_path, sha, "1002", "workflow_dispatch")
    job = Actions(workflow, checkout(tmp_path / "runner2", http_remote.url, sha), env,
                  inputs={"experiment": "ci/1001-1"})
    assert job.run("experiment") == 0, job.log
    again = git(http_remote.path, "rev-parse", ref).strip()
    assert again != pushed
    assert pushed in git(http_remote.path, "rev-parse", f"{again}^@").split()  # a new version of it
    assert "Exp-Run-URL: https://github.example/team/proj/actions/runs/1002" in git(
        http_remote.path, "cat-file", "commit", again)
    assert "ci/1001-1" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_github_workflow_pushes_a_failed_run_and_fails_the_job(tmp_path, http_remote):
    workflow = yaml.safe_load(GITHUB.read_text())
    workflow["env"]["EXP_COMMAND"] = "python -c 'raise SystemExit(3)'"
    sha = project(tmp_path, http_remote.url)
    env = github_env(tmp_path, sha, "2001", "pull_request")
    job = Actions(workflow, checkout(tmp_path / "runner", http_remote.url, sha), env, inputs={})
    assert job.run("experiment") == 3, job.log
    pushed = git(http_remote.path, "rev-parse", "refs/exp/ci/2001-1").strip()
    assert "Exp-Exit-Code: 3" in git(http_remote.path, "cat-file", "commit", pushed)
    assert "ci/2001-1" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_github_workflow_input_is_data_not_shell(tmp_path, http_remote):
    workflow = yaml.safe_load(GITHUB.read_text())
    sha = project(tmp_path, http_remote.url)
    canary = tmp_path / "pwned"
    env = github_env(tmp_path, sha, "3001", "workflow_dispatch")
    job = Actions(workflow, checkout(tmp_path / "runner", http_remote.url, sha), env,
                  inputs={"experiment": f"x$(touch {canary})"})
    assert job.run("experiment") != 0
    assert not canary.exists()
    assert "git-exp: error:" in job.log


# ----------------------------------------------------------------------------- GitLab

TOKEN = "glcbt-64_s3cretJobToken0123"


def add_http_user(http_server, user: str, password: str) -> None:
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    with open(http_server.workdir / "htpasswd", "a") as f:
        f.write(f"{user}:{{SHA}}{digest}\n")


def gitlab_job(template: dict, work: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    job = template["git-exp"]
    lines = [line for line in job["script"] if line != "pip install git-exp"]
    assert len(lines) == len(job["script"]) - 1, "the install line is the one not run"
    return bash("\n".join(lines), work, {**{k: str(v) for k, v in job["variables"].items()}, **env})


def test_gitlab_job_pushes_with_a_job_token_it_never_records(tmp_path, http_server, http_auth_remote):
    template = yaml.safe_load(GITLAB.read_text())
    assert template["git-exp"]["variables"]["GIT_DEPTH"] == "1"
    add_http_user(http_server, "gitlab-ci-token", TOKEN)
    credentials = [f"credential.helper=store --file={tmp_path / 'dev-credentials'}"]
    (tmp_path / "dev-credentials").write_text(http_auth_remote.credential_line())
    sha = project(tmp_path, http_auth_remote.url, "-c", credentials[0])
    scheme, rest = http_auth_remote.url.split("://", 1)
    host_port, path = rest.split("/", 1)
    with_token = f"{scheme}://gitlab-ci-token:{TOKEN}@{host_port}/{path}"
    env = {"CI": "true", "GITLAB_CI": "true", "CI_JOB_ID": "77", "CI_JOB_TOKEN": TOKEN,
           "CI_JOB_URL": "https://gitlab.example/team/proj/-/jobs/77", "CI_PIPELINE_SOURCE": "push",
           "CI_SERVER_PROTOCOL": scheme, "CI_SERVER_HOST": HOST, "CI_SERVER_PORT": host_port.split(":")[1],
           "CI_PROJECT_PATH": path.removesuffix(".git"), "CI_COMMIT_SHA": sha}
    work = checkout(tmp_path / "runner", with_token, sha)
    job = gitlab_job(template, work, env)
    assert job.returncode == 0, job.stdout + job.stderr
    pushed = git(http_auth_remote.path, "rev-parse", "refs/exp/ci/77").strip()
    body = git(http_auth_remote.path, "cat-file", "commit", pushed)
    assert "Exp-Run-URL: https://gitlab.example/team/proj/-/jobs/77" in body
    for text in (body, job.stdout, job.stderr, (work / "exp-summary.md").read_text(),
                 (work / "exp-report.html").read_text(), git(work, "show", "--stat", pushed)):
        assert TOKEN not in text
    assert "ci/77" in (work / "exp-summary.md").read_text()

    # run by hand with EXPERIMENT set: a new version of ci/77
    work = checkout(tmp_path / "runner2", with_token, sha)
    job = gitlab_job(template, work, {**env, "CI_JOB_ID": "78", "CI_PIPELINE_SOURCE": "web", "EXPERIMENT": "ci/77",
                                      "CI_JOB_URL": "https://gitlab.example/team/proj/-/jobs/78"})
    assert job.returncode == 0, job.stdout + job.stderr
    again = git(http_auth_remote.path, "rev-parse", "refs/exp/ci/77").strip()
    assert pushed in git(http_auth_remote.path, "rev-parse", f"{again}^@").split()
    assert TOKEN not in job.stdout + job.stderr + git(http_auth_remote.path, "cat-file", "commit", again)


# ----------------------------------------------------------------------------- S3

@pytest.fixture
def s3(tmp_path):
    """moto's S3 server on 127.0.0.1 and a bucket; the env git-remote-s3 needs."""
    bin_dir = Path(shutil.which("python") or "").parent
    server, helper = shutil.which("moto_server"), shutil.which("git-remote-s3")
    if not server or not helper:
        pytest.skip("moto_server and git-remote-s3 come with the test extra: pip install '.[test]'")
    port = free_port()
    log = tmp_path / "moto.log"
    proc = subprocess.Popen([server, "-H", HOST, "-p", str(port)], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True, env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)})
    try:
        wait_for_port(proc, port, log=log)
        env = {"AWS_ENDPOINT_URL": f"http://{HOST}:{port}", "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        import boto3

        boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket="exps")
        yield env
    finally:
        stop_group(proc)


def test_s3_recipe_push_pull_and_force(tmp_path, s3, monkeypatch):
    for key, value in s3.items():
        monkeypatch.setenv(key, value)

    def exp(cwd, *args):
        return subprocess.run(["git-exp", *args], cwd=cwd, capture_output=True, text=True)

    a = init_repo(tmp_path / "a", files={"params.yaml": "lr: 0.1\n"})
    git(a, "remote", "add", "s3", "s3://exps/proj")
    git(a, "push", "-q", "s3", "main")  # a branch first: the helper's HEAD is the first ref pushed
    (a / "metrics.json").write_text('{"acc": 0.5}\n')
    assert exp(a, "save", "-n", "e1").returncode == 0
    pushed = exp(a, "push", "s3", "e1")
    assert pushed.returncode == 0 and "new" in pushed.stdout, pushed.stderr

    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", "s3://exps/proj", str(b))
    assert git(b, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    pulled = exp(b, "pull", "origin", "e1")
    assert pulled.returncode == 0, pulled.stderr
    assert git(b, "rev-parse", "refs/exp/e1") == git(a, "rev-parse", "refs/exp/e1")

    # a replaced experiment is refused, with --force too: the helper takes no lease
    (b / "metrics.json").write_text('{"acc": 0.7}\n')
    assert exp(b, "save", "-n", "e1", "--force").returncode == 0
    for args, why in ((("push", "origin", "e1"), "non-fast-forward"), (("push", "origin", "e1", "--force"), "not ancestor")):
        refused = exp(b, *args)
        assert refused.returncode == 1
        assert "rejected" in refused.stdout and why in refused.stdout, refused.stdout
    assert git(a, "ls-remote", "s3", "refs/exp/e1").split()[0] == git(a, "rev-parse", "refs/exp/e1").strip()
    # the recipe's way to replace it: remove it there, then push
    assert exp(b, "rm", "--remote", "origin", "e1").returncode == 0  # tombstone first, then the deletion
    assert "refs/exp-tombstones/e1/@removed" in git(a, "ls-remote", "s3")
    skipped = exp(b, "push", "origin", "e1")
    assert skipped.returncode == 0 and "removed on origin" in skipped.stdout + skipped.stderr, skipped
    aged = exp(b, "gc", "--tombstones", "--remote", "origin")
    assert aged.returncode == 0, aged
    assert exp(b, "push", "origin", "e1").returncode == 0
    assert git(a, "ls-remote", "s3", "refs/exp/e1").split()[0] == git(b, "rev-parse", "refs/exp/e1").strip()
    # no atomic push through the helper: rename --remote fails and changes nothing
    before = git(a, "ls-remote", "s3")
    renamed = exp(b, "rename", "--remote", "origin", "e1", "e2")
    assert renamed.returncode == 1 and "does not support --atomic" in renamed.stderr
    assert git(a, "ls-remote", "s3") == before
    assert git(b, "rev-parse", "--verify", "-q", "refs/exp/e2", check=False) == ""
