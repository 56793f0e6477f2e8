"""The refspecs git-exp installs on a remote, and the record of what it added.

Config is read and written only through ``git config`` (``--add``, ``--unset
--fixed-value``), never by rewriting the file, so the user's comments, spacing and
order stay byte for byte.  What install added is recorded as ``exp.<remote>.installed``
values (``fetch=<refspec>``, ``push=<refspec>``, ``replaced-fetch=...`` when ``--force``
took the place of a conflicting value), which is exactly what uninstall removes.
"""
from __future__ import annotations

from dataclasses import dataclass

from git_exp.errors import UsageError
from git_exp.repo import Repo


@dataclass(frozen=True)
class Spec:
    kind: str  # fetch or push
    value: str


def fetch_spec(remote: str, pattern: str = "*") -> Spec:
    return Spec("fetch", f"+refs/exp/{pattern}:refs/remote-exp/{remote}/{pattern}")


def push_spec(pattern: str = "*") -> Spec:
    return Spec("push", f"refs/exp/{pattern}:refs/exp/{pattern}")


HEAD_PUSH = Spec("push", "HEAD")


def normalize_pattern(pattern: str | None) -> str:
    if not pattern:
        return "*"
    pattern = pattern.removeprefix("refs/exp/")
    if pattern.count("*") != 1 or any(c in pattern for c in "?[\\ ") or pattern.startswith(("-", "/")):
        raise UsageError(f"--pattern {pattern!r} must be a git glob with one '*', like 'ci/*'")
    return pattern


def values(repo: Repo, key: str) -> list[str]:
    return repo.run("config", "--get-all", key, check=False).out.splitlines()


def add(repo: Repo, key: str, value: str) -> None:
    repo.run("config", "--add", key, value)


def unset(repo: Repo, key: str, value: str) -> None:
    """Remove every ``key = value`` line (exact match)."""
    repo.run("config", "--unset-all", "--fixed-value", key, value, check=False)


def record_key(remote: str) -> str:
    return f"exp.{remote}.installed"


def recorded(repo: Repo, remote: str) -> list[Spec]:
    found = []
    for line in values(repo, record_key(remote)):
        kind, _, value = line.partition("=")
        found.append(Spec(kind, value))
    return found


def record(repo: Repo, remote: str, spec: Spec) -> None:
    add(repo, record_key(remote), f"{spec.kind}={spec.value}")


def forget(repo: Repo, remote: str, spec: Spec) -> None:
    unset(repo, record_key(remote), f"{spec.kind}={spec.value}")


def drop_records(repo: Repo, remote: str) -> None:
    repo.run("config", "--unset-all", record_key(remote), check=False)
    left = repo.run("config", "--get-regexp", f"^exp\\.{_regex_escape(remote)}\\.", check=False).out
    if not left.strip():
        repo.run("config", "--remove-section", f"exp.{remote}", check=False)


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in r".^$*+?()[]{}|\/" else c for c in text)


def touches_exp(value: str) -> bool:
    """Whether a refspec's source side is in refs/exp/."""
    source = value.lstrip("+").partition(":")[0]
    return source.startswith("refs/exp/")
