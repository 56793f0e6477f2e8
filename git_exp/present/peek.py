"""What ``show REMOTE`` says besides its rows: the one note when the remote made git
fetch whole experiments (``peek.Fetched.whole``)."""
from __future__ import annotations

from git_exp.present.common import count, note

WHY = {
    "filters": "does not allow filtered fetches (uploadpack.allowFilter)",
    "ids": "does not serve objects by id (uploadpack.allowAnySHA1InWant)",
}


def fetched(label: str, done) -> None:
    if done.whole:
        note(f"git-exp: note: {label} {WHY[done.whole]}: fetched {count(done.commits)} whole, with all "
             "their files, into git-exp's store (no ref or experiment was created)")
