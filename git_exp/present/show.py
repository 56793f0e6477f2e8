"""``git exp show``: rows as a table, Markdown, CSV or JSON, and the warnings for unreadable files.

Everything in a row but its name and remote comes from the commit and its files, so
``--json`` keeps each row's JSON after those two in the facts' ``lines`` section (``cache``; where
and under which key: ``commands.show.lines_cache``): a warm ``show --json`` then lists
names and commits, reads that file and writes: at 1k 36 ms where building and encoding
the rows took 60 ms here, at 10k 85 against 320 ms.  Any listed commit missing there
sends ``show`` the long way, which stores what it wrote.
"""
from __future__ import annotations

from git_exp import cache, names, render, results
from git_exp.present.common import out, warn
from git_exp.present.rows import for_display, iso_created
from git_exp.rows import FEW, labels, limited

SHOWN_UNREADABLE = 3  # experiments named in the warning; the rest are counted


def rows(table: list[dict], columns: list[str], fmt: str, lines_cache: tuple | None = None, *,
         everything: bool = False) -> None:
    """``show``'s rows in ``fmt``; for JSON every row key is a column, and ``lines_cache``
    (``commands.show.lines_cache``) keeps the lines for ``cached_json``."""
    write(*shown(table, columns, fmt, lines_cache, everything=everything))


def shown(table: list[dict], columns: list[str], fmt: str, lines_cache: tuple | None = None, *,
          everything: bool = False, picked: bool = False, width: int | None = None,
          palette: dict | None = None, ellipsis: str = "…", where: str | None = None,
          limit: int | None = None, archived: bool = False) -> tuple[str, list]:
    """``(text, notes)``: ``show``'s rows in ``fmt``, and what to say on stderr after them.
    JSON rows hold every key, or (``picked``: --columns, --drop, --only-changed) their name,
    remote and ``columns``; the text table fits ``width`` in ``palette``'s colours
    (``present.table``) and notes the columns it hid."""
    notes = [unreadable(table)]
    if not table and fmt != "json" and limit != 0:  # JSON's [] says it
        notes.append(empty(where, archived))
    if fmt == "json" and picked:  # not kept for cached_json: these rows are not whole
        text = render.json_text([{k: row[k] for k in ("name", "remote", *columns) if k in row}
                                 for row in iso_created(table)])
    elif fmt == "json":
        text = json_text(table, lines_cache, everything=everything)
    elif fmt == "table":
        from git_exp.present import table as terminal_table

        done = terminal_table.render([for_display(r) for r in table], columns, width=width, palette=palette,
                                     ellipsis=ellipsis)
        text = done.text
        if done.hidden:
            notes.insert(0, terminal_table.hidden_note(done.hidden, width))
    else:
        text = render.render([for_display(r) for r in table], columns, fmt)
    return text, notes


def empty(where: str | None, archived: bool = False) -> str:
    """What to say when there is no row to show (patterns that match nothing are errors);
    ``archived``: of the archives (``show --archived``), as ``ls --archived`` says it."""
    if where:
        again = "git exp show --archived" if archived else "git exp show"
        return f"no experiment matches --where {names.shown(where)} — `{again}` without it lists them all"
    if archived:
        from git_exp.present.ls import EMPTY_ARCHIVED

        return EMPTY_ARCHIVED
    from git_exp.present.common import NO_EXPERIMENTS

    return NO_EXPERIMENTS


def write(text: str, notes: list) -> None:
    """``text`` on stdout, then each note (None: nothing) on stderr."""
    out(text)
    for one in notes:
        warn(one)


def write_blocks(first: str, blocks, notes) -> None:
    """``first`` and each of ``blocks`` on stdout as they come (flushed each), then
    ``notes()`` on stderr (``StreamedTable``)."""
    out(first)
    for block in blocks:
        out(block)
    for one in notes():
        warn(one)


def _head(encode, name: str, remote: str | None, tags, note: str | None) -> str:
    """The start of a row's JSON line: what does not come from its commit alone (its name,
    remote, tags and note), so never kept in ``lines``."""
    tags_json = "[" + ", ".join(map(encode, tags)) + "]"
    return (f'{{"name": {encode(name)}, "remote": {"null" if remote is None else encode(remote)}, '
            f'"tags": {tags_json}, "note": {"null" if note is None else encode(note)}, ')


def cached_json(lines_cache: tuple, listed, limit: int | None = None, reverse: bool = False, *,
                narrowed: bool = False) -> Streamed | None:
    """``show --json`` from the facts' ``lines`` alone, newest first as ``commands.show.show``
    orders (the time read from each line), ``limit`` and ``reverse`` as there; or None
    when a listed commit is not there or the rows are too few to be written one per line.
    ``listed()`` gives ``commands.show.listed``'s columns (called once the cache is read,
    while git lists; ``narrowed``: first, as that listing is instant, and a selection too
    small for lines is shown without reading the file)."""
    where, key = lines_cache
    if narrowed:
        shas, exp_names, owners, said = listed()
        if len(shas) < render.LINES_MIN or len(shas) <= FEW:
            return None  # a few of many: ``commands.show`` reads them without the caches
    known = cache.load(where, key)
    if not narrowed:
        shas, exp_names, owners, said = listed()
    tails = list(map(known.get, shas))
    if len(tails) < render.LINES_MIN or None in tails:
        return None
    encode = render.string_encoder()
    lines = [_head(encode, n, o, a.tags, a.note) + t for n, o, a, t in zip(exp_names, owners, said, tails)]
    del tails, known
    lines = limited(sorted(lines, key=_iso_created, reverse=True), limit, reverse)
    return Streamed(_line_pieces(lines), lines)


def _line_pieces(lines: list[str]):
    """``render.json_lines`` of ``lines``, in pieces of STREAM_ROWS lines."""
    yield "[\n"
    for start in range(0, len(lines), STREAM_ROWS):
        yield ("" if not start else ",\n") + ",\n".join(lines[start:start + STREAM_ROWS])
    yield "\n]\n"


CREATED = '"created": "'


def _iso_created(line: str) -> str:
    """The ISO time of a row's line: they sort as the times do (all UTC, one format)."""
    at = line.find(CREATED) + len(CREATED)  # the row's own key: in a string a quote is escaped
    return line[at:at + 25]


class Streamed:
    """Text written piece by piece as it is made (``common.out`` writes each piece): the
    JSON of many rows, so that neither the whole text nor its bytes are ever held (at
    100k rows, ~90 MB of the cold ``show --json``); ``lines``: the rows' lines, when
    they are known before (``cached_json``)."""

    __slots__ = ("pieces", "lines")

    def __init__(self, pieces, lines: list[str] | None = None) -> None:
        self.pieces, self.lines = pieces, lines

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        return iter(self.pieces)


STREAM_ROWS = 2000  # rows encoded per piece written


def json_text(table: list[dict], lines_cache: tuple | None = None, *, everything: bool = False) -> str | Streamed:
    """``show``'s rows as JSON; one per line from LINES_MIN rows on, written as they are
    encoded (``Streamed``), and then each row's line after its name and remote is kept
    for ``cached_json`` (``everything``: the table holds every experiment, so lines of
    no experiment listed may be dropped)."""
    table = iso_created(table)
    if len(table) < render.LINES_MIN:
        return render.json_text(table)
    return Streamed(_json_pieces(table, lines_cache, everything))


def _json_pieces(table: list[dict], lines_cache: tuple | None, everything: bool):
    where, key = lines_cache or (None, None)
    if not everything and len(table) <= FEW:
        where = None  # a few of many: encoding them costs less than loading every experiment's line
    known = cache.load(where, key)
    encode_row, encode = render.row_encoder(), render.string_encoder()
    fresh = 0
    for start in range(0, len(table), STREAM_ROWS):
        lines = []
        for row in table[start:start + STREAM_ROWS]:
            line = encode_row(row)
            head = _head(encode, row["name"], row["remote"], row.get("tags", ()), row.get("note"))
            if line.startswith(head) and row["sha"] not in known:
                known[row["sha"]] = line[len(head):]
                fresh += 1
            lines.append(line)
        yield ("[\n" if not start else ",\n") + ",\n".join(lines)
    yield "\n]\n"
    if fresh:
        cache.save(where, known, key, listed=[row["sha"] for row in table] if everything else None)


def json_part(table: list[dict]) -> tuple[str, dict[str, str], list[dict]]:
    """``(text, tails, bad)`` of rows ``show --json`` writes a part at a time
    (``commands.show_cold``): their lines, joined as ``_json_pieces`` joins them; each
    row's line after its name and remote, for the facts' ``lines`` (``cached_json``);
    and the name, remote and reasons of the rows with unreadable files."""
    encode_row, encode = render.row_encoder(), render.string_encoder()
    lines, tails, bad = [], {}, []
    for row in iso_created(table):
        line = encode_row(row)
        head = _head(encode, row["name"], row["remote"], row["tags"], row["note"])
        if line.startswith(head):
            tails[row["sha"]] = line[len(head):]
        lines.append(line)
        if results.ERRORS in row:
            bad.append({"name": row["name"], "remote": row["remote"], results.ERRORS: row[results.ERRORS]})
    return ",\n".join(lines), tails, bad


def unreadable_after(bad: list[dict]):
    """``unreadable`` of the rows ``bad`` holds once the text is written: ``write`` says
    its notes after the text (``commands.show_cold`` fills ``bad`` as it ends)."""
    yield unreadable(bad)


def unreadable(table: list[dict]) -> str | None:
    """The one-line warning for rows with unreadable files, or None when there are none."""
    bad = [row for row in table if results.ERRORS in row]
    if not bad:
        return None
    named = [f"{names.shown(labels([row['name']], [row.get('remote')])[0])}: {'; '.join(row[results.ERRORS])}"
             for row in bad[:SHOWN_UNREADABLE]]
    if len(bad) > SHOWN_UNREADABLE:
        named.append(f"and {len(bad) - SHOWN_UNREADABLE} more")
    count = "1 experiment has" if len(bad) == 1 else f"{len(bad)} experiments have"
    return f"git-exp: warning: {count} unreadable files, shown as error cells: {'; '.join(named)}"


def unreadable_in_lines(text) -> str | None:
    """``unreadable`` for ``show --json`` text written one row per line (``cached_json``:
    a ``Streamed`` of its lines, or the text)."""
    marker = f'"{results.ERRORS}": ['  # only a row's own key: in a string a quote is escaped
    lines = text.lines if isinstance(text, Streamed) else text.splitlines()
    bad = [line for line in lines if marker in line]
    if not bad:
        return None
    import json

    return unreadable([json.loads(line.rstrip(",")) for line in bad])


class StreamedTable:
    """``show``'s table on a terminal, chunk by chunk (``commands.show_stream.chunks``):
    ``blocks()`` gives the text of each chunk as it is read (``present.table.Stream``: the
    layout of the first chunk, a new header where later ones widen it), ``notes()`` then
    what ``shown`` says on stderr after the whole table (hidden columns, unreadable files,
    nothing to show)."""

    def __init__(self, chunks, *, width: int | None = None, palette: dict | None = None, ellipsis: str = "…",
                 limit: int | None = None) -> None:
        from git_exp.present.table import Stream

        self.chunks, self.limit = chunks, limit
        self.table = Stream(width=width, palette=palette, ellipsis=ellipsis)
        self.bad: list[dict] = []
        self.count = 0

    def blocks(self):
        for chunk, columns in self.chunks:
            from git_exp.present.table import terminal_order

            self.count += len(chunk)
            self.bad += [row for row in chunk if results.ERRORS in row]
            yield self.table.add([for_display(r) for r in chunk], terminal_order(columns))

    def notes(self) -> list:
        notes = [unreadable(self.bad)]
        if not self.count and self.limit != 0:
            notes.append(empty(None))
        if self.table.hidden:
            from git_exp.present.table import hidden_note

            notes.insert(0, hidden_note(self.table.hidden, self.table.width))
        return notes
