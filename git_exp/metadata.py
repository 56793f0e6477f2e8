"""Run metadata recorded as git trailers in the experiment's commit message.

Only these well-known CI variables are ever read, and only their values described
here end up in a commit: the provider's name, its run id, and its run URL (with any
credentials removed).  No other environment value is recorded.

Everything that goes into a message passes ``redact.redact``: the subject and body
(``-m`` text included), every trailer value; ``Exp-Command`` is built by
``redact.command_line``.  So neither a commit nor anything read from one (``show``,
``--json``, the caches) holds a credential, a token-like query value, an Authorization
header value or the value of a secret-looking environment variable.
"""
from __future__ import annotations

import os

from git_exp.redact import redact

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing imports re (~12 ms)
    from typing import Mapping

# provider name, variable that identifies it, run id variable(s), run URL recipe
_CI = (
    ("github-actions", "GITHUB_ACTIONS", ("GITHUB_RUN_ID",), lambda e: _join(
        e.get("GITHUB_SERVER_URL"), e.get("GITHUB_REPOSITORY"), "actions/runs", e.get("GITHUB_RUN_ID"))),
    ("gitlab-ci", "GITLAB_CI", ("CI_JOB_ID",), lambda e: e.get("CI_JOB_URL")),
    ("buildkite", "BUILDKITE", ("BUILDKITE_BUILD_NUMBER",), lambda e: e.get("BUILDKITE_BUILD_URL")),
    ("circleci", "CIRCLECI", ("CIRCLE_BUILD_NUM",), lambda e: e.get("CIRCLE_BUILD_URL")),
    ("jenkins", "JENKINS_URL", ("BUILD_NUMBER", "BUILD_ID"), lambda e: e.get("BUILD_URL")),
)


def _join(*parts: str | None) -> str | None:
    if not all(parts):
        return None
    return "/".join(p.strip("/") for p in parts)  # type: ignore[union-attr]


def _one_line(value: str) -> str:
    return " ".join(value.split())


def executor(env: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """``(executor, run_url)``: host name, plus CI provider and run id when in CI."""
    env = os.environ if env is None else env
    host = os.uname().nodename or "unknown-host"  # socket.gethostname(), without importing socket
    for provider, marker, id_vars, url in _CI:
        if env.get(marker):
            run_id = next((env[v] for v in id_vars if env.get(v)), None)
            where = f"{host} ({provider}" + (f" run {run_id})" if run_id else ")")
            link = url(env)
            return _one_line(redact(where)), _one_line(redact(link)) if link else None  # trailers() again
    return _one_line(host), None


KEYS = {
    "command": "Exp-Command", "exit_code": "Exp-Exit-Code", "status": "Exp-Status",
    "duration": "Exp-Duration", "executor": "Exp-Executor", "run_url": "Exp-Run-URL",
}


def trailers(**values: str | None) -> list[tuple[str, str]]:
    """``Exp-*`` trailer pairs for the non-empty values, in a fixed order (``message``
    redacts them)."""
    return [(KEYS[key], _one_line(str(value))) for key, value in values.items() if value not in (None, "")]


def command(argv: list[str]) -> str:
    """The ``Exp-Command`` value: ``argv`` as a shell line with secrets replaced."""
    from git_exp.redact import command_line

    return command_line(argv)


def message(text: str, pairs: list[tuple[str, str]]) -> str:
    """A commit message: the user's text (redacted), then a paragraph of trailers."""
    lines = redact(text).strip().splitlines() or ["experiment"]
    parts = ["\n".join([_one_line(lines[0]) or "experiment", *lines[1:]]).strip()]
    if pairs:
        parts.append("\n".join(f"{k}: {redact(v)}" for k, v in pairs))
    return "\n\n".join(parts) + "\n"
