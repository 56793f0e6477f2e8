"""The common columns of an experiment row, shared by ``ls`` and ``show``."""
from __future__ import annotations

import time

from git_exp import git
from git_exp.names import PREFIX, REMOTE_PREFIX
from git_exp.repo import Exp, Repo, list_args

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing imports re (~12 ms)
    from typing import Any

BASE_COLUMNS = ("name", "sha", "baseline", "created", "status", "exit_code", "duration", "executor")


def age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{max(int(seconds), 0)}s"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value.rstrip("s")) if value else None
    except ValueError:
        return None


def base_row(exp: Exp, remote: str | None = None) -> dict[str, Any]:
    code = _int(exp.trailers.get("Exp-Exit-Code"))
    status = exp.trailers.get("Exp-Status") or ("saved" if code is None else ("ok" if code == 0 else "failed"))
    return {
        "name": exp.name,
        "remote": remote,
        "sha": exp.sha,
        "baseline": exp.baseline,
        "created": exp.created,
        "status": status,
        "exit_code": code,
        "duration": _seconds(exp.trailers.get("Exp-Duration")),
        "executor": exp.trailers.get("Exp-Executor"),
        "command": exp.trailers.get("Exp-Command"),
        "run_url": exp.trailers.get("Exp-Run-URL"),
        "message": exp.subject,
    }


def start_load(*, remotes: bool = False) -> list:
    """Start the listings ``load`` reads, here, before the repository has been looked at
    (they need nothing from it)."""
    return [git.start(*list_args(prefix)) for prefix in (PREFIX, REMOTE_PREFIX)[:2 if remotes else 1]]


def load(repo: Repo, *, remotes: bool = False, started: list | None = None) -> list[tuple[Exp, str | None]]:
    """Local experiments, then (with ``remotes``) every remote-tracking one; ``started``
    are ``start_load``'s listings."""
    started = started or [None, None]
    found: list[tuple[Exp, str | None]] = [(e, None) for e in repo.list(running=started[0])]
    if remotes:
        for exp in repo.list(REMOTE_PREFIX, running=started[1]):
            remote, _, name = exp.name.partition("/")
            exp.name = name
            found.append((exp, remote))
    return found


def for_display(row: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """Short forms for a text table: short shas, relative age, rounded duration."""
    now = time.time() if now is None else now
    shown = dict(row)
    shown["sha"] = row["sha"][:7]
    shown["baseline"] = row["baseline"][:7] if row["baseline"] else "(root)"
    shown["created"] = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["created"]))
    shown["age"] = age(now - row["created"])
    if row["duration"] is not None:
        shown["duration"] = f"{row['duration']:.1f}s"
    if row.get("remote"):
        shown["name"] = f"{row['remote']}/{row['name']}"
    return shown
