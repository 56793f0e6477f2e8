"""``show``'s table for people: fit to a width, grouped headers, colour.

- **Groups**: ``params.*`` and ``metrics.*`` columns sit under a header row that names
  their group (``params ─────``) and carry their short names (``lr``, ``model.depth``)
  below it; the other columns carry their full names.
- **Alignment**: a column whose values are all numbers is right-aligned.
- **Width**: widths are of visible text (``display_width``: wide East Asian characters
  count two, combining marks none; colour codes are added after the layout).  When the
  table is wider than ``width``, text cells (and headers) are cut with ``…`` down to a
  floor (a name to ``NAME_MIN`` characters, other text to ``TEXT_MIN``); numbers and the
  short fixed forms (``WHOLE``: times, status, short ids) are never cut.  If it is still
  too wide, columns are dropped from the right until it fits, and ``hidden`` names them
  (the caller says so).
- **Colour** (``palette``, see ``terminal``): the status (ok, failed, running,
  interrupted), and in each metric column the best value when the column has two or
  more different numbers (lowest for losses and errors, highest otherwise:
  ``better.lower_is_better``).
- Control characters in values (a metrics file may hold any text) are shown as ``?``,
  so no file can move the cursor or set colours on the reader's terminal.
"""
from __future__ import annotations

from git_exp.better import lower_is_better
from git_exp.render import cell

GROUPS = ("params", "metrics")
GAP = 2
NAME_MIN = 20
TEXT_MIN = 10
HEADER_MIN = 6
WHOLE = ("created", "status", "exit_code", "duration", "baseline", "sha", "age")  # short forms, never cut
STATUS_SLOTS = ("ok", "failed", "running", "interrupted")
RESET = "\033[m"
NUMBERS = {int, float, type(None)}  # bool is no number here: its type is bool


class Table:
    """The text (lines ending in newlines) and the columns ``hidden`` to fit the width."""

    __slots__ = ("text", "hidden")

    def __init__(self, text: str, hidden: list[str]) -> None:
        self.text, self.hidden = text, hidden


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes (``unicodedata`` only for text beyond ASCII and our
    own one-column ``…`` and ``─``)."""
    if text.isascii() or text.replace("…", "").replace("─", "").isascii():
        return len(text)
    import unicodedata

    return sum(0 if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf")
               else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def cut(text: str, width: int, ellipsis: str = "…") -> str:
    """``text`` in at most ``width`` columns, ending in ``ellipsis`` when cut."""
    if display_width(text) <= width:
        return text
    if width <= 0:
        return ""
    room = width - display_width(ellipsis)
    kept, used = [], 0
    for char in text:
        size = display_width(char)
        if used + size > room:
            break
        kept.append(char)
        used += size
    return "".join(kept) + ellipsis


def clean(text: str) -> str:
    """``text`` with control characters (newlines, tabs, escapes) as ``?``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or (c == " ") else "?" for c in text)


def _group(column: str) -> str | None:
    head, dot, rest = column.partition(".")
    return head if dot and rest and head in GROUPS else None


def _fit(natural: list[int], floors: list[int], room: int) -> list[int] | None:
    """Widths that fit ``room`` (cutting each column no lower than its floor, the widest
    first), or None when even the floors do not fit."""
    gaps = GAP * (len(natural) - 1)
    if sum(natural) + gaps <= room:
        return list(natural)
    if sum(floors) + gaps > room:
        return None
    low, high = 0, max(natural)  # the largest cap on any width that fits
    while low < high:
        cap = (low + high + 1) // 2
        if sum(max(f, min(w, cap)) for w, f in zip(natural, floors)) + gaps <= room:
            low = cap
        else:
            high = cap - 1
    return [max(f, min(w, low)) for w, f in zip(natural, floors)]


def render(rows: list[dict], columns: list[str], *, width: int | None = None,
           palette: dict | None = None, ellipsis: str = "…") -> Table:
    """``rows`` (display rows: ``present``'s short forms, numbers as numbers) as a table of
    ``columns`` fit to ``width`` (None: no limit), coloured from ``palette`` (None: none):
    one block of a ``Stream``.

    Built column by column, a column of ASCII text measured with ``len`` and padded by
    ``str.ljust``: 10k rows of 14 columns in ~0.2 s here, as ``render.grid``'s plain table
    (a loop over rows and cells, as first written, took ~0.35 s more)."""
    if not rows or not columns:
        return Table("", [])
    stream = Stream(width=width, palette=palette, ellipsis=ellipsis)
    return Table(stream.add(rows, columns), stream.hidden)


class Stream:
    """One table written in blocks of rows as they come (``show`` on a terminal writes the
    newest rows at once, then the older ones as they are read): ``add(rows, columns)`` is
    the text of the next block; one block is exactly ``render``'s table.

    The first block decides the layout as ``render`` does for its rows: the columns, their
    widths and alignment, fit to ``width``.  A later block continues the table under the
    same header when the layout of every row so far is the same.  When it is not — the
    block brings a column not seen before (a param only older experiments have: never
    dropped), a cell wider than its column, text in a column of numbers — the layout of
    every row so far is made again (widths only grow, columns are only added, as
    ``render`` of all those rows would lay them out) and the block is written under a new
    header.  Rows above keep their layout: that text is gone to the terminal.  ``hidden``
    names every column left out to fit the width in some block.  The best value of a
    metric (colour) is that of every row so far: a block marks the values no row above
    it, nor in it, beats — the best of the whole table is always marked."""

    def __init__(self, *, width: int | None = None, palette: dict | None = None, ellipsis: str = "…") -> None:
        self.width, self.palette, self.ellipsis = width, palette, ellipsis
        self.most: dict[str, int] = {}  # column -> widest cell so far
        self.kinds: dict[str, set] = {}  # column -> the types of its values so far
        self.numbers: dict[str, set] = {}  # metric column -> two of its distinct numbers (many or one)
        self.best: dict = {}  # metric column -> its best number so far
        self.layout: tuple | None = None  # (columns, shown, widths, numeric flags of those shown)
        self.hidden: list[str] = []

    def add(self, rows: list[dict], columns: list[str]) -> str:
        if not rows or not columns:
            return ""
        raw = {c: [row.get(c) for row in rows] for c in columns}
        cells, plain = {}, {}
        for c in columns:
            kinds = set(map(type, raw[c]))
            self.kinds.setdefault(c, set()).update(kinds)
            if kinds == {str}:
                texts = raw[c]
            elif kinds <= NUMBERS:  # cell() inlined: its call per value was a third of the time
                texts = ["-" if v is None else f"{v:.6g}" if type(v) is float else str(v) for v in raw[c]]
            else:
                texts = [v if type(v) is str else cell(v) for v in raw[c]]
            joined = "".join(texts)
            if not joined.isprintable():
                texts = list(map(clean, texts))
            cells[c], plain[c] = texts, joined.isascii()
            most = max(map(len if plain[c] else display_width, texts))
            if most > self.most.get(c, -1):
                self.most[c] = most
        numeric = {c: bool(self.kinds[c] - {type(None)}) and self.kinds[c] <= NUMBERS for c in columns}
        labels = {c: clean(c[len(_group(c)) + 1:] if _group(c) else c) for c in columns}
        natural = [max(display_width(labels[c]), self.most[c]) for c in columns]
        floors = []
        for c, size in zip(columns, natural):
            if numeric[c] or c in WHOLE:
                floors.append(min(size, max(self.most[c], min(display_width(labels[c]), HEADER_MIN))))
            else:
                floors.append(min(size, NAME_MIN if c == "name" else TEXT_MIN))
        shown, widths = _laid_out(columns, natural, floors, self.width)
        layout = (list(columns), shown, widths, [numeric[c] for c in shown])
        header = layout != self.layout
        self.layout = layout
        self.hidden += [c for c in columns[len(shown):] if c not in self.hidden]
        best = self._best(raw, columns) if self.palette else {}
        parts = []
        for i, (c, size) in enumerate(zip(shown, widths)):
            texts = [cut(labels[c], size, self.ellipsis), *cells[c]] if header else cells[c]
            measure = len if plain[c] else display_width
            if size < natural[i]:
                texts = [text if measure(text) <= size else cut(text, size, self.ellipsis) for text in texts]
            last = i == len(shown) - 1 and not numeric[c]
            codes = _codes(c, raw[c], best, self.palette) if self.palette else None
            if codes and not header:
                codes = codes[1:]
            if codes or not (plain[c] and (not header or labels[c].isascii())):
                parts.append(_padded(texts, size, numeric[c], last, codes))
            elif last:
                parts.append(texts)
            elif numeric[c]:  # ASCII (and the one-character ellipsis): a character is a column
                parts.append([text.rjust(size) for text in texts])
            else:
                parts.append([text.ljust(size) for text in texts])
        gap = " " * GAP
        lines = list(map(gap.join, zip(*parts)))
        if header and any(_group(c) for c in shown):
            lines.insert(0, _group_row(shown, widths, "─" if self.ellipsis == "…" else "-"))
        return "".join(line.rstrip(" ") + "\n" for line in lines)

    def _best(self, raw: dict, columns: list[str]) -> dict:
        """``{column: best value of every row so far}`` for metric columns that have had two
        or more different numbers (``_best`` over all the blocks)."""
        for column in columns:
            if _group(column) != "metrics":
                continue
            numbers = {v for v in raw[column] if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v}
            if not numbers:
                continue
            seen = self.numbers.setdefault(column, set())
            if len(seen) < 2:
                seen.update(sorted(numbers)[:2])
            if column in self.best:
                numbers.add(self.best[column])
            self.best[column] = min(numbers) if lower_is_better(column) else max(numbers)
        return {c: self.best[c] for c in columns if len(self.numbers.get(c, ())) > 1}


def _laid_out(columns: list[str], natural: list[int], floors: list[int], width: int | None) -> tuple[list, list]:
    """``(shown, widths)``: the columns that fit ``width`` (dropped from the right) and
    their widths (``_fit``); every column at its natural width when there is no limit."""
    shown = list(columns)
    widths = None if width else natural
    while widths is None:
        widths = _fit(natural[:len(shown)], floors[:len(shown)], width)
        if widths is None:
            if len(shown) == 1:
                widths = [min(natural[0], width)]
            else:
                shown.pop()
    return shown, list(widths)


def _padded(texts: list[str], size: int, right: bool, last: bool, codes: list | None = None) -> list[str]:
    """``texts`` padded to ``size`` visible columns (measured), each in its colour code."""
    done = []
    for i, text in enumerate(texts):
        pad = " " * (size - display_width(text))
        code = codes[i] if codes else None
        if code:
            text = code + text + RESET
        done.append(pad + text if right else text if last else text + pad)
    return done


def _codes(column: str, values: list, best: dict, palette: dict) -> list | None:
    """The colour code of the header and each cell of ``column``, or None for none at all."""
    codes = [None] + [_color(column, value, best, palette) for value in values]
    return codes if any(codes) else None


def _group_row(columns: list[str], widths: list[int], rule: str) -> str:
    parts, i = [], 0
    while i < len(columns):
        group = _group(columns[i])
        j = i + 1
        while group and j < len(columns) and _group(columns[j]) == group:
            j += 1
        span = sum(widths[i:j]) + GAP * (j - i - 1)
        if group is None:
            text = ""
        elif span >= len(group) + 2:
            text = group + " " + rule * (span - len(group) - 1)
        else:  # cut as every cell is: visibly (``par…``), where the terminal has ``…``
            text = group[:span - 1] + "…" if rule == "─" and span > 1 else group[:span]
        parts.append(text + " " * (span - display_width(text)))
        i = j
    return (" " * GAP).join(parts)


def _color(column: str, value, best: dict, palette: dict) -> str | None:
    if column == "status":
        return palette.get(value) if value in STATUS_SLOTS else None
    if column in best and value == best[column] and not isinstance(value, bool):
        return palette.get("best")
    return None


def hidden_note(hidden: list[str], width: int) -> str:
    """The note under a table that dropped columns to fit ``width``."""
    names = ", ".join(hidden[:5]) + (f" and {len(hidden) - 5} more" if len(hidden) > 5 else "")
    count = f"{len(hidden)} column{'' if len(hidden) == 1 else 's'}"
    return (f"{count} hidden to fit {width} characters: {names} — choose with --columns or --drop, "
            "hide unchanged ones with --only-changed, or see them all with --json")


FIRST = ("name", "created", "status")
BEST_STEP = "best_step"  # commands.show's: beside the metric --best names, and shown with the metrics
LAST = ("duration", "exit_code", "baseline", "executor")


def terminal_order(columns: list[str]) -> list[str]:
    """The terminal's column order: name, created, status, the metrics, the params, then
    the rest (what is dropped first when the table is too wide)."""
    head = [c for c in FIRST if c in columns]
    metrics = [c for c in columns if c == "metrics" or c.startswith("metrics.") or c == BEST_STEP]
    params = [c for c in columns if c == "params" or c.startswith("params.")]
    tail = [c for c in LAST if c in columns]
    taken = {*head, *metrics, *params, *tail}
    return head + metrics + params + tail + [c for c in columns if c not in taken]


def ellipsis(encoding: str) -> str:
    """``…`` where ``encoding`` can write it, else ``~``."""
    try:
        "…─".encode(encoding)
        return "…"
    except (UnicodeEncodeError, LookupError):
        return "~"
