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
