"""Which repository formats the suite makes its repositories in.

``make test`` runs the suite twice: with the system git and git's defaults (SHA-1 objects,
files ref backend), then with a current git first on PATH and

    GIT_EXP_TEST_OBJECT_FORMAT=sha256 GIT_EXP_TEST_REF_FORMAT=reftable

The hermetic fixture scrubs every ``GIT_*`` variable, so these are read once, here, at
import, and every test environment (the tests' and the servers') gets git's own
``GIT_DEFAULT_HASH`` / ``GIT_DEFAULT_REF_FORMAT`` from :func:`default_env`: every
``git init`` and ``git clone`` the tests or git-exp run then makes that kind of repository.
Tests never read ref files, reflogs or packed-refs: they ask git (``for-each-ref``,
``rev-parse``, ``reflog``), so they hold under either backend.
"""
from __future__ import annotations

import os

OBJECT_FORMATS = ("sha1", "sha256")
REF_FORMATS = ("files", "reftable")

OBJECT_FORMAT = os.environ.get("GIT_EXP_TEST_OBJECT_FORMAT", "")  # "": git's default
REF_FORMAT = os.environ.get("GIT_EXP_TEST_REF_FORMAT", "")

if OBJECT_FORMAT not in ("", *OBJECT_FORMATS):
    raise SystemExit(f"GIT_EXP_TEST_OBJECT_FORMAT={OBJECT_FORMAT!r}: use one of {', '.join(OBJECT_FORMATS)}")
if REF_FORMAT not in ("", *REF_FORMATS):
    raise SystemExit(f"GIT_EXP_TEST_REF_FORMAT={REF_FORMAT!r}: use one of {', '.join(REF_FORMATS)}")


def default_env() -> dict[str, str]:
    """git's variables that make new repositories of the formats under test."""
    env = {}
    if OBJECT_FORMAT:
        env["GIT_DEFAULT_HASH"] = OBJECT_FORMAT  # git >= 2.29
    if REF_FORMAT:
        env["GIT_DEFAULT_REF_FORMAT"] = REF_FORMAT  # git >= 2.45
    return env


def describe() -> str:
    return (f"object format {OBJECT_FORMAT or 'sha1 (default)'}, "
            f"ref format {REF_FORMAT or 'files (default)'}")
