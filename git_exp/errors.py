"""Exceptions that the CLI boundary turns into one-line errors and exit codes.

Exit codes: 0 success, 1 the operation failed, 2 usage error (bad name, unknown remote,
not a repository).  Messages read "what happened — what to do".
"""
from __future__ import annotations


class ExpError(Exception):
    """An operation failed (exit 1)."""

    exit_code = 1


class UsageError(ExpError):
    """The user asked for something that cannot be (exit 2)."""

    exit_code = 2


class Exit(Exception):
    """Leave with ``exit_code`` after the command has said what it had to say."""

    def __init__(self, exit_code: int = 0) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code
