"""Secrets never recorded: commands, messages, CI URLs, errors; checked in every object,
cache file and output of a real `git exp run`."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from git_exp import git
from git_exp.redact import command_line, redact

from .conftest import assert_error, exp_refs
from .conftest import git as run_git

ROOT = Path(__file__).resolve().parents[1]
GIT_EXP = [sys.executable, str(ROOT / "bin" / "git-exp")]

ENV_TOKEN = "ghp_EnvTokenValue0123456789"
AWS_SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
URL_PASSWORD = "UrlPassw0rd-4242"
URL_USER_TOKEN = "glpat-UserPartToken77"
QUERY_TOKEN = "QueryTok-private-555"
QUERY_TOKEN2 = "QueryTok-plain-666"
CLI_PASSWORD = "CliPassword-hunter2"
HEADER_TOKEN = "PrivHeaderTok-888"
CI_TOKEN = "CiJobUrlToken-999"
MESSAGE_PASSWORD = "MsgPassword-31337"
SECRETS = (ENV_TOKEN, AWS_SECRET, URL_PASSWORD, URL_USER_TOKEN, QUERY_TOKEN, QUERY_TOKEN2, CLI_PASSWORD,
           HEADER_TOKEN, CI_TOKEN, MESSAGE_PASSWORD)

SECRET_ENV = {
    "GITHUB_TOKEN": ENV_TOKEN,
    "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
    "KEY": "1",  # too short to be a secret: ones elsewhere stay ones
    "GITLAB_CI": "true", "CI_JOB_ID": "7",
    "CI_JOB_URL": f"https://gitlab.example/p/-/jobs/7?private_token={CI_TOKEN}&ref=main",
}

ARGV = [
    "true",
    f"https://deploy:{URL_PASSWORD}@example.com/a?x=1&private_token={QUERY_TOKEN}&b=1",
    f"https://{URL_USER_TOKEN}@example.com/b?token={QUERY_TOKEN2}",
    "-H", f"Authorization: Bearer {ENV_TOKEN}",
    "-H", f"Private-Token: {HEADER_TOKEN}",
    "--password", CLI_PASSWORD,
    f"--upload=s3://bucket/{AWS_SECRET}/x",
    "epoch=1", "file1",
]


@pytest.mark.parametrize("text, expected", [
    ("https://user:pw@host/x", "https://***@host/x"),
    ("https://tok3n@host/x", "https://***@host/x"),
    ("ssh://git@host/x", "ssh://git@host/x"),
    ("https://h/x?a=1&private_token=abc&access_token=d#f", "https://h/x?a=1&private_token=***&access_token=***#f"),
    ("https://s3/o?X-Amz-Credential=c&X-Amz-Signature=s&sig=1&key=k&api_key=2&page=3",
     "https://s3/o?X-Amz-Credential=***&X-Amz-Signature=***&sig=***&key=***&api_key=***&page=3"),
    ("`git -c http.extraHeader=Authorization: Bearer abc fetch origin` failed (exit 128)",
     "`git -c http.extraHeader=Authorization: Bearer *** fetch origin` failed (exit 128)"),
    ("curl -H 'Authorization: Basic dXNlcjpwdw==' -H 'X-API-Key: k' x",
     "curl -H 'Authorization: Basic ***' -H 'X-API-Key: ***' x"),
    ("Authorization: rawtoken and more", "Authorization: *** and more"),
    ("GITHUB_TOKEN=abc make deploy --password=pw", "GITHUB_TOKEN=*** make deploy --password=***"),
    # ordinary text is left alone
    ("experiment 'token' already exists — use --force", "experiment 'token' already exists — use --force"),
    ("--max-tokens=5 keys=3 monkey", "--max-tokens=5 keys=3 monkey"),
])
def test_redact_patterns(text, expected):
    assert redact(text, env={}) == expected
    assert redact(expected, env={}) == expected  # idempotent


def test_secret_environment_values_become_references():
    env = {"GITHUB_TOKEN": "ghp_abcdef123456", "KEY": "1", "DB_PASSWORD": "hunter2!x",
           "HOME": "/home/ghp_abcdef123456-not-secret-name", "MY_AUTH": "short",
           "GIT_AUTHOR_NAME": "A U Thor", "PROXY_AUTHORIZATION": "Basic c2VjcmV0"}
    assert redact("by A U Thor", env) == "by A U Thor"
    assert redact("x Basic c2VjcmV0", env) == "x $PROXY_AUTHORIZATION"
    assert redact("push with ghp_abcdef123456 and hunter2!x; 1 + 1", env) == "push with $GITHUB_TOKEN and $DB_PASSWORD; 1 + 1"
    assert redact("ghp_abcdef123456_suffix", env) == "${GITHUB_TOKEN}_suffix"
    assert redact("short", env) == "short"  # below MIN_LENGTH
    line = command_line(["curl", "-H", "Authorization: Bearer ghp_abcdef123456", "echo $x `y` \"z\"",
                         "p=hunter2!x"], env)
    assert line == 'curl -H "Authorization: Bearer $GITHUB_TOKEN" \'echo $x `y` "z"\' "p=$DB_PASSWORD"'
    # the recorded line runs again in a shell that has the same variables
    out = subprocess.run(["sh", "-c", f"printf '%s|' {line.split(' ', 1)[1]}"], capture_output=True, text=True,
                         env={**os.environ, **env}).stdout
    assert out == '-H|Authorization: Bearer ghp_abcdef123456|echo $x `y` "z"|p=hunter2!x|'


def test_command_line_options_that_take_secrets():
    line = command_line(["tool", "--token", "t0k", "--api-key", "k3y", "--max-tokens", "100", "-u", "me:pw",
                         "--no-password", "x", "docker", "-u", "1000:1000", "--password", "$PW"], env={})
    assert line == "tool --token '***' --api-key '***' --max-tokens 100 -u 'me:***' --no-password x docker " \
                   "-u 1000:1000 --password '$PW'"


def test_git_error_text_is_redacted():
    error = git.GitError(["git", "fetch", "https://u:pw@h/r?access_token=abc"], 128, b"",
                         b"fatal: unable to access 'https://u:pw@h/r/': Authorization: Bearer abc")
    assert "pw" not in str(error) and "abc" not in str(error)
    assert "https://***@h/r?access_token=***" in str(error)


def _all_text(repo: Path) -> bytes:
    """Every object git can reach or find (cat-file --batch-all-objects), plus every file
    under .git that is not a compressed object: reflogs, caches, index, config."""
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo,
                             capture_output=True, check=True).stdout
    listed = subprocess.run(["git", "rev-list", "--all", "--objects", "--reflog"], cwd=repo,
                            capture_output=True, check=True).stdout
    reachable = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, capture_output=True, check=True,
                               input=b"\n".join(line.split(b" ")[0] for line in listed.splitlines()) + b"\n").stdout
    files = b""
    for path in (repo / ".git").rglob("*"):
        if path.is_file() and "objects" not in path.relative_to(repo / ".git").parts[:1]:
            files += path.read_bytes()
    return objects + reachable + files


def test_no_secret_in_commits_caches_or_output(repo):
    env = {**os.environ, **SECRET_ENV, "GIT_EXP_TRACE": "1"}
    message = f"deploy via https://me:{MESSAGE_PASSWORD}@host/x and {ENV_TOKEN}"
    outputs = []
    for args in (["run", "-n", "leaky", "-m", message, "--", *ARGV],
                 ["run", "-n", "leaky2", "--", *ARGV],
                 ["save", "-n", "saved", "-m", message],
                 ["show", "--json"], ["show"], ["ls", "--json"], ["show", "--json", "leaky*"], ["diff", "leaky", "saved"],
                 ["run", "-n", "missing", "--", f"https://u:{URL_PASSWORD}@host/no-such-program"]):
        ran = subprocess.run(GIT_EXP + args, cwd=repo, env=env, capture_output=True)
        outputs.append(ran.stdout + ran.stderr)
        assert b"Traceback" not in ran.stderr, ran
    assert set(exp_refs(repo)) == {"leaky", "leaky2", "saved"}
    everything = b"".join(outputs) + _all_text(repo)
    for secret in SECRETS:
        assert secret.encode() not in everything, secret
    body = run_git(repo, "log", "-1", "--format=%B", "refs/exp/leaky2")
    subject = body.splitlines()[0]
    assert subject.startswith("run: true 'https://***@example.com/a?x=1&private_token=***&b=1'"), body
    assert '-H "Authorization: Bearer $GITHUB_TOKEN"' in subject and "--password '***'" in subject
    assert '"--upload=s3://bucket/$AWS_SECRET_ACCESS_KEY/x"' in subject and "epoch=1 file1" in subject
    assert f"Exp-Command: {subject[len('run: '):]}" in body
    assert "Exp-Run-URL: https://gitlab.example/p/-/jobs/7?private_token=***&ref=main" in body
    # the user's own -m text is kept, only its secrets are replaced
    assert run_git(repo, "log", "-1", "--format=%s", "refs/exp/leaky") == \
        "deploy via https://***@host/x and $GITHUB_TOKEN\n"
    assert "missing" not in exp_refs(repo)
    assert b"cannot run 'https://***@host/no-such-program'" in outputs[-1]


def test_missing_program_with_credentials_is_one_redacted_line(repo, exp):
    ran = exp("run", "-n", "x", "--", f"https://u:{URL_PASSWORD}@host/tool")
    assert_error(ran, 127, "cannot run 'https://***@host/tool'", "nothing was saved")
    assert URL_PASSWORD not in ran.err
    assert exp_refs(repo) == {}
