"""What ``show REMOTE`` says besides its rows: the one note when the remote made git
fetch whole experiments (``peek.Fetched.whole``), and its empty state."""
from __future__ import annotations

from git_exp.present.common import count

WHY = {
    "filters": "does not allow filtered fetches (uploadpack.allowFilter)",
    "ids": "does not serve objects by id (uploadpack.allowAnySHA1InWant)",
}


def fetched(label: str, done) -> str | None:
    """The note, or None when the experiments came as asked (commits and result files)."""
    if not done.whole:
        return None
    return (f"git-exp: note: {label} {WHY[done.whole]}: fetched {count(done.commits)} whole, with all "
            "their files, into git-exp's store (no ref or experiment was created)")


def remote_notes(label: str, note: str | None, notes: list, local_empty: str) -> list:
    """``show``'s notes for a remote: the fetch note first, and the empty state said of the remote."""
    empty = f"{label} has no experiments — `git exp push {label} NAME` shares one"
    return [note, *(empty if one == local_empty else one for one in notes)]
