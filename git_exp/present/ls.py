"""``git exp ls``: the columns ``commands.ls`` read, as a table or JSON."""
from __future__ import annotations

import time

from git_exp import render
from git_exp.present.common import NO_EXPERIMENTS, note, out
from git_exp.present.rows import age, iso_created
from git_exp.rows import labels

COLUMNS = ("name", "sha", "baseline", "age", "exit_code")


def table(columns: dict[str, list], now: float | None = None) -> list[list[str]]:
    """The strings ``ls`` shows, as columns in COLUMNS order."""
    now = time.time() if now is None else now
    names = labels(columns["name"], columns["remote"])
    shown: dict = {}  # whole days (or -seconds below a day) -> text
    ages: dict = {}  # committer time -> text
    for created in set(columns["created"]):
        seconds = now - created
        key = int(seconds // 86400) if seconds >= 86400 else -int(seconds)
        if key not in shown:
            shown[key] = age(seconds)
        ages[created] = shown[key]
    codes = {code: "-" if code is None else str(code) for code in set(columns["exit_code"])}
    return [names, [s[:7] for s in columns["sha"]], [b[:7] if b else "(root)" for b in columns["baseline"]],
            list(map(ages.__getitem__, columns["created"])), list(map(codes.__getitem__, columns["exit_code"]))]


EMPTY = NO_EXPERIMENTS
EMPTY_REMOTES = ("no experiments here and none fetched — `git exp save` makes one; `git exp pull origin --all` "
                 "fetches a remote's")


EMPTY_ARCHIVED = "no archived experiments — `git exp archive --older-than 90d` makes some"


def listing(columns: dict[str, list], json_: bool, remotes: bool = False, archived: bool = False) -> None:
    """``records``'s columns; ``json_``: one object per experiment, FIELDS as keys.  An
    empty table says what to do instead (on stderr; stdout stays empty for scripts)."""
    if not json_ and not columns["name"]:
        note(EMPTY_ARCHIVED if archived else EMPTY_REMOTES if remotes else EMPTY)
        return
    if json_:
        from git_exp.commands.ls import FIELDS, rows

        out(render.json_text(iso_created([dict(zip(FIELDS, row)) for row in rows(columns)])))
    else:
        out(render.grid(table(columns), COLUMNS))


def remote(compared: tuple[list, list, list, list], json_: bool, where: str = "the remote") -> None:
    """``ls REMOTE``: each experiment on either side, its state and both commits."""
    names_, states, mine, theirs = compared
    if not json_ and not names_:
        note(f"no experiments on {where} or here — `git exp save` makes one, `git exp push {where} NAME` shares it")
        return
    if json_:
        out(render.json_text([{"name": n, "state": s, "local": m, "remote": t}
                              for n, s, m, t in zip(names_, states, mine, theirs)]))
    else:
        short_mine = [s[:7] if s else "-" for s in mine]
        short_theirs = [s[:7] if s else "-" for s in theirs]
        out(render.grid([names_, states, short_mine, short_theirs], ["name", "state", "local", "remote"]))
