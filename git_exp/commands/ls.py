"""``git exp ls``: list experiments (local, and remote-tracking with ``-r``)."""
from __future__ import annotations

from git_exp import rows
from git_exp.repo import Repo

COLUMNS = ("name", "sha", "baseline", "age", "exit_code")


def ls(repo: Repo, *, remotes: bool = False) -> list[dict]:
    return [rows.base_row(exp, remote) for exp, remote in rows.load(repo, remotes=remotes)]
