"""``python -m tests.stress [--size full|reduced] [--json] [--only NAME...] [--seed N] [--keep]``:
run the adversarial scenarios and print one table row per scenario, then what was found.
Exits 0 when every count is 0 (the targets), 1 otherwise."""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Optional

from tests.stress import checks, hostile, kills, races  # noqa: F401  (they register scenarios)
from tests.stress.core import REGISTRY, SIZES, run_scenario
from tests.stress.env import FORMATS, Sandbox

COLUMNS = ("scenario", "rounds") + checks.KINDS + ("seconds",)


def parse(argv: Optional[list]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.stress", description=__doc__)
    p.add_argument("--size", choices=sorted(SIZES), default="full",
                   help="full (make stress, a few minutes) or reduced (part of make test, under a minute)")
    p.add_argument("--json", action="store_true", help="print the rows and findings as JSON instead of the table")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="scenarios whose name starts with NAME (or group: kill, race, hostile)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock; printed)")
    p.add_argument("--object-format", choices=("sha1", "sha256"), default=FORMATS.get("GIT_DEFAULT_HASH"),
                   help="object format of every repository made (default: $GIT_EXP_TEST_OBJECT_FORMAT or git's)")
    p.add_argument("--ref-format", choices=("files", "reftable"), default=FORMATS.get("GIT_DEFAULT_REF_FORMAT"),
                   help="ref backend of every repository made, git >= 2.45 (default: $GIT_EXP_TEST_REF_FORMAT or git's)")
    p.add_argument("--keep", action="store_true", help="keep the sandbox (its path is printed)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    return p.parse_args(argv)


GROUPS = ("race", "kill", "hostile")  # table order


def selected(only: Optional[list]) -> list:
    names = sorted(REGISTRY, key=lambda n: GROUPS.index(REGISTRY[n][0]))
    return [n for n in names if not only or any(n.startswith(o) or REGISTRY[n][0] == o for o in only)]


def table(tallies: list) -> str:
    rows = [COLUMNS] + [(t.scenario, str(t.rounds), *(str(t.counts[k]) for k in checks.KINDS), f"{t.seconds:.1f}")
                        for t in tallies]
    total = [sum(t.counts[k] for t in tallies) for k in checks.KINDS]
    rows.append(("**total**", str(sum(t.rounds for t in tallies)), *map(str, total),
                 f"{sum(t.seconds for t in tallies):.1f}"))
    out = ["| " + " | ".join(r) + " |" for r in rows]
    out.insert(1, "|" + "|".join("---" if i == 0 else "---:" for i in range(len(COLUMNS))) + "|")
    return "\n".join(out)


def findings(tallies: list) -> str:
    lines = []
    for t in tallies:
        if t.findings:
            lines.append(f"\n{t.scenario}:")
            lines += [f"  {f}" for f in t.findings]
    return "\n".join(lines)


def describe(size: str, seed: int, args: argparse.Namespace) -> str:
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"git-exp stress suite — size {size}, seed {seed}, {git}, {args.object_format or 'default'} objects, "
            f"{args.ref_format or 'default'} refs, Python {platform.python_version()}, {os.cpu_count()} cores")


def main(argv: Optional[list] = None) -> int:
    args = parse(argv)
    if args.list:
        for name, (group, _) in REGISTRY.items():
            print(f"{group:8} {name}")
        return 0
    names = selected(args.only)
    if not names:
        print(f"no scenario matches {args.only}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else int(time.time())
    print(describe(args.size, seed, args), file=sys.stderr, flush=True)
    formats = {"GIT_DEFAULT_HASH": args.object_format, "GIT_DEFAULT_REF_FORMAT": args.ref_format}
    sb = Sandbox.create(keep=args.keep, formats={k: v for k, v in formats.items() if v})
    if args.keep:
        print(f"sandbox: {sb.root}", file=sys.stderr)
    tallies = []
    try:
        for name in names:
            tally = run_scenario(name, SIZES[args.size], seed=seed, sb=sb)
            tallies.append(tally)
            status = "ok" if tally.ok else ", ".join(f"{k} {v}" for k, v in tally.counts.items() if v)
            print(f"  {name}: {tally.rounds} rounds, {tally.seconds:.1f} s — {status}", file=sys.stderr, flush=True)
    finally:
        sb.close()
    if args.json:
        print(json.dumps({"size": args.size, "seed": seed, "rows": [t.as_dict() for t in tallies]}, indent=1))
    else:
        print(table(tallies))
        print(findings(tallies))
    return 0 if all(t.ok for t in tallies) else 1
