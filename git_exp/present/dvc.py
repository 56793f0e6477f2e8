"""How ``import-dvc`` reports: one line per DVC experiment, then a count."""
from __future__ import annotations

from git_exp.present.common import note, out


def imported(report) -> None:
    done = 0
    for item in report:
        if item.status == "imported":
            done += 1
            out(f"imported  {item.name}  ({item.sha[:7]}, from {item.source})")
        else:
            note(f"skipped {item.source}: {item.detail}")
    note(f"imported {done} DVC experiment{'' if done == 1 else 's'}")
