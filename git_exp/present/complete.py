"""``git exp __complete``: one ``candidate<TAB>description`` line per candidate."""
from __future__ import annotations

from git_exp.present.common import out


def candidates(found: list[tuple[str, str]]) -> None:
    out("".join(f"{word}\t{' '.join(text.split())}\n" if text else f"{word}\n" for word, text in found))
