"""The targets of issue 4, as the largest ratio git-exp time / plain-git time allowed.

A target is stated from some N on ("at 10k"); it applies at every N from there up to the
next stated size.  Below the first stated size the row is informational: ``ok`` is None
and ``target`` is the first stated one, for reference.  ``0`` means "at every N".
"""
from __future__ import annotations

from typing import Optional

TARGETS: dict[str, dict[int, float]] = {
    "startup": {0: 8},
    "save": {0: 2},
    "ls": {10_000: 3, 100_000: 1.5},
    "show": {10_000: 3},
    "push": {10_000: 1.2},
    "push-subset": {10_000: 1.5},
    "push-noop": {10_000: 1.5},
    "pull": {10_000: 1.2},  # issue 10: through git (was 0.5, reached only by writing packed-refs)
    "pull-noop": {10_000: 1.5},
    "ls-remote": {10_000: 3},
    "fetch-installed": {10_000: 1.1},
    "show-remote": {1_000: 3},  # issue 13: vs ls-remote + fetch --filter=blob:none; and <= 1% of model bytes
}
DVC_SPEEDUP = 20  # git-exp at least this many times faster than DVC


def applicable(op: str, n: int) -> tuple[float, bool]:
    """``(target, binding)`` for ``op`` at ``n`` experiments."""
    if op.startswith("dvc-"):
        return 1 / DVC_SPEEDUP, True
    stated = sorted(TARGETS[op].items())
    reached = [target for size, target in stated if size <= n]
    if reached:
        return reached[-1], True
    return stated[0][1], False


def label(op: str, n: int) -> str:
    target, binding = applicable(op, n)
    if op.startswith("dvc-"):
        return f"≥ {DVC_SPEEDUP}×"
    if binding:
        return f"≤ {target:g}"
    size = min(TARGETS[op])
    return f"(≤ {target:g} at {size // 1000}k)"


def verdict(op: str, n: int, ratio: float) -> Optional[bool]:
    target, binding = applicable(op, n)
    return ratio <= target if binding else None
