"""``git exp doctor``: findings as lines (level, remote, what, fix) or JSON."""
from __future__ import annotations

from dataclasses import asdict

from git_exp import render
from git_exp.present.common import note, out


def clean(text: str | None) -> str | None:
    """``text`` fit to print: bytes of a name that is not UTF-8 become U+FFFD."""
    return None if text is None else text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def as_json(findings: list) -> list[dict]:
    rows = [asdict(f) for f in findings]
    for row in rows:
        del row["action"]
        for key in ("remote", "what", "fix"):
            row[key] = clean(row[key])
    return rows


def as_text(findings: list) -> str:
    lines = []
    for f in findings:
        where = f"{f.remote}: " if f.remote else ""
        lines.append(clean(f"{f.level:<8} {where}{f.what}"))
        if f.fix and f.level != "ok":
            lines.append(clean(f"         fix: {f.fix}"))
    return "\n".join(lines)


def fixed(done: list[str]) -> None:
    for text in done:
        note(f"fixed: {text}")


def findings(found: list, json_: bool) -> None:
    out(render.json_text(as_json(found)) if json_ else as_text(found))
