"""``git exp ls``: the columns ``commands.ls`` read, as a table or JSON."""
from __future__ import annotations

import time

from git_exp import render
from git_exp.present.common import NO_EXPERIMENTS, note, out, put

# present.rows and rows (with cache) are imported where used: ``ls REMOTE`` needs neither

COLUMNS = ("sha", "baseline", "age", "exit_code", "name")  # the name last: no width to know before the first row


def table(columns: dict[str, list], now: float | None = None) -> list[list[str]]:
    """The strings ``ls`` shows, as columns in COLUMNS order (each distinct value made
    once: many experiments share a baseline, an age, an exit code)."""
    from operator import itemgetter

    from git_exp.present.rows import age
    from git_exp.rows import labels

    now = time.time() if now is None else now
    names = labels(columns["name"], columns["remote"]) if any(columns["remote"]) else columns["name"]
    shown: dict = {}  # whole days (or -seconds below a day) -> text
    ages: dict = {}  # committer time -> text
    for created in set(columns["created"]):
        seconds = now - created
        key = int(seconds // 86400) if seconds >= 86400 else -int(seconds)
        if key not in shown:
            shown[key] = age(seconds)
        ages[created] = shown[key]
    codes = {code: "-" if code is None else str(code) for code in set(columns["exit_code"])}
    bases = {base: base[:7] if base else "(root)" for base in set(columns["baseline"])}
    return [list(map(itemgetter(slice(7)), columns["sha"])), list(map(bases.__getitem__, columns["baseline"])),
            list(map(ages.__getitem__, columns["created"])), list(map(codes.__getitem__, columns["exit_code"])), names]


EMPTY = NO_EXPERIMENTS
EMPTY_REMOTES = ("no experiments here and none fetched — `git exp save` makes one; `git exp pull origin --all` "
                 "fetches a remote's")


EMPTY_ARCHIVED = "no archived experiments — `git exp archive --older-than 90d` makes some"


AGE_WIDTH = 5  # the age column's width, known before any age is: 9999d at most (longer ages push the rest right)


def listing(columns, json_: bool, remotes: bool = False, archived: bool = False) -> None:
    """``records``'s columns, or ``stream``'s ``Listed`` (printed chunk by chunk as it is
    read); ``json_``: one object per experiment, FIELDS as keys.  The table's widths are
    known before its first row: the name is the last column (a name of any length pushes
    no other), the age column is ``AGE_WIDTH`` wide, the others as their headers (a short
    commit, "(root)", an exit code); so a table printed as it is read is the table printed
    whole, and its first rows need no more of the listing than their own.  An empty table
    says what to do instead (on stderr; stdout stays empty for scripts)."""
    chunks = [columns] if isinstance(columns, dict) else columns
    printed = (_json if json_ else _table)(chunks)
    if not printed and not json_:
        note(EMPTY_ARCHIVED if archived else EMPTY_REMOTES if remotes else EMPTY)


LINE = f"%-7s  %-8s  %-{AGE_WIDTH}s  %-9s  %s\n"  # COLUMNS; exit codes fit their header


def _table(chunks) -> bool:
    """Each chunk's rows as soon as it comes, after the header; whether any row was."""
    now, header = time.time(), LINE % COLUMNS
    for chunk in chunks:
        if chunk["name"]:
            put(header + "".join(map(LINE.__mod__, zip(*table(chunk, now)))))
            header = ""
    return not header


def _json(chunks) -> bool:
    """``render.json_text`` of every row, written as the rows come once there are enough
    of them for one object per line (``render.LINES_MIN``); whether any row was."""
    from git_exp.commands.ls import FIELDS, rows
    from git_exp.present.rows import iso_created

    encode, held, started = render.row_encoder(), [], False
    for chunk in chunks:
        if not chunk["name"]:  # its refs name no commit
            continue
        objects = iso_created([dict(zip(FIELDS, row)) for row in rows(chunk)])
        if started:
            put(",\n" + ",\n".join(map(encode, objects)))
            continue
        held += objects
        if len(held) >= render.LINES_MIN:
            put(render.json_lines(list(map(encode, held)))[:-3])  # less the closing "\n]\n"
            started = True
    if started:
        put("\n]\n")
    else:
        out(render.json_text(held))
    return bool(started or held)


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
        out(remote_table(names_, states, mine, theirs))


def remote_table(names_: list[str], states: list[str], mine: list, theirs: list) -> str:
    """``render.grid`` of ``ls REMOTE``'s columns (a commit as its first 7 hex, "-" for
    none), made a column at a time: each padded once (a state once per distinct
    value), the rows joined in C.  10k rows in ~1.7 ms where a ``%`` per row took ~4.5;
    when both sides agree (``mine is theirs``) the short commits are made once."""
    short_mine = _short(mine)
    short_theirs = short_mine if theirs is mine else _short(theirs)
    columns = [_padded("name", names_), _padded("state", states, few=True), _padded("local", short_mine),
               ["remote", *short_theirs]]  # the last is not padded: no blanks at the ends of lines
    return "\n".join(map("  ".join, zip(*columns))) + "\n"


def _short(shas: list) -> list[str]:
    return [sha[:7] if sha else "-" for sha in shas]


def _padded(header: str, cells: list[str], few: bool = False) -> list[str]:
    """``header`` and ``cells`` left-aligned to the widest of them; ``few``: few distinct
    cells, each padded once."""
    lengths = set(map(len, cells))
    width = max(len(header), max(lengths, default=0))
    if lengths != {width}:
        if few:
            cells = list(map({cell: cell.ljust(width) for cell in set(cells)}.__getitem__, cells))
        else:
            cells = [cell.ljust(width) for cell in cells]
    return [header.ljust(width), *cells]
