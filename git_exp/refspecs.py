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
from git_exp.names import shown
from git_exp.repo import Repo


@dataclass(frozen=True)
class Spec:
    kind: str  # fetch or push
    value: str


def fetch_spec(remote: str, pattern: str = "*") -> Spec:
    return Spec("fetch", f"+refs/exp/{pattern}:refs/remote-exp/{remote}/{pattern}")


def dvc_fetch_spec(remote: str) -> Spec:
    """``install --dvc``: DVC's experiments into a remote-tracking namespace DVC never
    reads (``dvc``); ``git exp pull`` creates the real ``refs/exps/`` refs."""
    return Spec("fetch", f"+refs/exps/*:refs/remote-exps/{remote}/*")


def is_dvc_fetch(value: str) -> bool:
    return value.startswith("+refs/exps/*:refs/remote-exps/")


def push_spec(pattern: str = "*") -> Spec:
    return Spec("push", f"refs/exp/{pattern}:refs/exp/{pattern}")


def archive_spec(kind: str) -> Spec:
    """The archives' refspec (``git_exp.archives``): fetched and pushed to the same names."""
    return Spec(kind, "refs/exp-archive/*:refs/exp-archive/*")


def is_archive_spec(spec: Spec) -> bool:
    return spec.value == archive_spec(spec.kind).value


HEAD_PUSH = Spec("push", "HEAD")
NOTES_REF = "refs/notes/exp"  # tags and notes (git_exp.notes); the remote's land in notesync.TRACKING


# Globs, though each matches one ref: a plain refspec whose source is missing makes git fail
# (a fetch from a remote without notes, a push from a clone without any).


def notes_fetch_spec(remote: str) -> Spec:
    return Spec("fetch", f"+{NOTES_REF}*:refs/notes/remote-exp/{remote}*")


def notes_push_spec() -> Spec:
    return Spec("push", f"{NOTES_REF}*:{NOTES_REF}*")


def normalize_pattern(pattern: str | None) -> str:
    if not pattern:
        return "*"
    pattern = pattern.removeprefix("refs/exp/")
    if pattern.count("*") != 1 or any(c in pattern for c in "?[\\ ") or pattern.startswith(("-", "/")):
        raise UsageError(f"--pattern {shown(pattern)} must be a git glob with one '*', like 'ci/*'")
    return pattern


def values(repo: Repo, key: str) -> list[str]:
    return repo.run("config", "--get-all", key, check=False).out.splitlines()


def add(repo: Repo, key: str, value: str) -> None:
    _written(repo.run("config", "--add", key, value, check=False))


def unset(repo: Repo, key: str, value: str) -> None:
    """Remove every ``key = value`` line (exact match)."""
    _written(repo.run("config", "--unset-all", "--fixed-value", key, value, check=False), missing_ok=True)


def _written(result, missing_ok: bool = False) -> None:
    """Raise for a ``git config`` write that failed: another git holds the config's lock
    (``config.lock``) is said as such; 5 (no such value) is fine when ``missing_ok``."""
    if result.returncode == 0 or (missing_ok and result.returncode == 5):
        return
    err = result.stderr.decode("utf-8", "replace")
    if "could not lock config file" in err:
        from git_exp.errors import ExpError

        raise ExpError("could not write the git config: another git is writing it (it holds config.lock) — "
                       "try again when it has finished; if no git is running, `git exp doctor --fix` removes "
                       "the stale lock")
    from git_exp.git import GitError

    raise GitError(["git", "config"], result.returncode, result.stdout, result.stderr)


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


BRANCH_SPECS = ("HEAD", ":")  # what install may add beside the experiments' push refspec (see plainpush)
_FORBIDDEN = frozenset([chr(c) for c in range(0x20)] + [" ", "\x7f", "~", "^", ":", "?", "[", "\\"])


def ref_problem(ref: str, *, pattern: bool = False) -> str | None:
    """Why git's check-ref-format (with --allow-onelevel, and --refspec-pattern when
    ``pattern``) refuses ``ref``, or None."""
    if not ref:
        return "it is empty"
    if ref == "@":
        return "it is '@'"
    bad = next((c for c in ref if c in _FORBIDDEN), None)
    if bad:
        return f"it contains {bad!r}"
    if ref.count("*") > (1 if pattern else 0):
        return "it contains '*'" if not pattern else "it contains more than one '*'"
    for text, why in (("..", "'..'"), ("@{", "'@{'")):
        if text in ref:
            return f"it contains {why}"
    if ref.endswith(("/", ".")):
        return "it ends with '/' or '.'"
    for part in ref.split("/"):
        if not part:
            return "it has an empty path component"
        if part.startswith("."):
            return "a component starts with '.'"
        if part.endswith(".lock"):
            return "a component ends with '.lock'"
    return None


def problem(value: str, kind: str) -> str | None:
    """Why git cannot parse ``value`` as a ``kind`` (fetch or push) refspec, or None.

    The rules of ``parse_refspec`` in git's refspec.c: an optional '+' (or '^' for a
    negative refspec), ``src:dst`` where a '*' on one side needs one on the other, and
    both sides valid ref names.  git dies on an invalid configured refspec ("fatal:
    invalid refspec"), so every plain ``git fetch`` or ``git push`` of that remote fails.
    """
    fetch = kind == "fetch"
    negative = value.startswith("^")
    lhs = value[1:] if value.startswith(("+", "^")) else value
    colon = lhs.rfind(":")
    if negative:
        if colon >= 0:
            return "a negative refspec has no ':'"
        why = ref_problem(lhs, pattern=True)
        return f"{lhs!r}: {why}" if why else None
    if not fetch and lhs == ":":
        return None  # push matching branches
    src, dst = (lhs[:colon], lhs[colon + 1:]) if colon >= 0 else (lhs, None)
    glob = bool(dst) and "*" in dst
    if "*" in src:
        if dst is not None and not glob or dst is None and fetch:
            return "a '*' on one side needs a '*' on the other"
        glob = True
    elif dst is not None and glob:
        return "a '*' on one side needs a '*' on the other"
    src = "HEAD" if src == "@" else src
    if fetch:
        checks = [] if not src or len(src) in (40, 64) and all(c in "0123456789abcdef" for c in src) else [src]
        checks += [dst] if dst else []
    else:
        if dst == "":
            return "the destination is empty"
        checks = ([src] if src and glob or dst is None else []) + ([dst] if dst else [])
    for ref in checks:
        why = ref_problem(ref, pattern=glob)
        if why:
            return f"{ref!r}: {why}"
    return None


def touches_exp(value: str) -> bool:
    """Whether a refspec's source side is in refs/exp/."""
    source = value.lstrip("+").partition(":")[0]
    return source.startswith("refs/exp/")
