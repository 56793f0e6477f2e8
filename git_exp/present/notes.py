"""How ``git exp tag`` and ``git exp note`` report: text lines, or JSON."""
from __future__ import annotations

from git_exp.present.common import out, warn


def tagged(result, *, delete: bool, asked: bool, json_: bool) -> None:
    if json_:
        from git_exp import render

        out(render.json_text(tag_json(result)))
        return
    text, said = tag_lines(result, delete=delete, asked=asked)
    out(text)
    warn(said)


def noted(result, *, clear: bool, json_: bool) -> None:
    if json_:
        from git_exp import render

        out(render.json_text(note_json(result)))
        return
    text, said = note_lines(result)
    out(text)
    warn(said if not clear or result.cleared else f"{result.name} has no notes to clear")


def tag_lines(tagged, *, delete: bool, asked: bool) -> tuple[str, str]:
    """(stdout, stderr) for ``git exp tag``: the tags, one per line, when only listed;
    otherwise a summary line on stderr."""
    if not asked:
        return "".join(f"{t}\n" for t in tagged.tags), ""
    said = []
    if tagged.changed:
        verb = "removed" if delete else "added"
        said.append(f"{verb} {', '.join(tagged.changed)} on {tagged.name} ({tagged.sha[:7]})")
    if tagged.unchanged:
        said.append(f"{tagged.name} already has {', '.join(tagged.unchanged)}")
    return "", "\n".join(said)


def tag_json(tagged) -> dict:
    return {"name": tagged.name, "sha": tagged.sha, "tags": list(tagged.tags)}


def note_lines(noted) -> tuple[str, str]:
    if noted.added:
        return "", f"noted on {noted.name} ({noted.sha[:7]})"
    if noted.cleared:
        return "", f"cleared the notes of {noted.name} ({noted.sha[:7]})"
    return "".join(f"{line}\n" for line in noted.notes), ""


def note_json(noted) -> dict:
    return {"name": noted.name, "sha": noted.sha, "notes": list(noted.notes)}
