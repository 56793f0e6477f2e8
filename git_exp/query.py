"""``--where`` queries and the column resolver ``--sort`` and ``--where`` share.

A query is parsed by a recursive-descent parser over a tokenizer that keeps each
token's position, never by splitting strings and never by ``eval``::

    query     := or
    or        := and ("or" and)*
    and       := not ("and" not)*
    not       := "not" not | "(" query ")" | condition
    condition := COLUMN ("==" | "=" | "!=" | "<" | "<=" | ">" | ">=") VALUE
               | COLUMN ["not"] "in" "(" VALUE ("," VALUE)* ")"
               | COLUMN ["not"] "contains" VALUE
               | COLUMN ["not"] ("matches" | "~") VALUE  |  COLUMN "!~" VALUE
               | COLUMN "is" ["not"] "missing"
    VALUE     := number (0.9, -1, 1e-3) | true | false | 'quoted' | "quoted" | bare-word
               | duration (500ms 10s 5m 2h 1d 1w 1h30m) | duration "ago" (2d ago)
               | date (2026-12-01) | time (2026-12-01T10:00, ...T10:00:05, ...Z, ...+02:00)

Keywords are case-insensitive.  The left side is always a column (a bare name, or
`back-quoted` for an odd one), the right side always a value (after ``~`` and
``matches``: a regex, a bare word taken as written).  A bare word that starts with a
digit must be a number, duration or date; there is no null (``is missing`` tests it).  In quotes, a backslash
escapes only the quote itself (``'it\\'s'``); every other backslash stays, so a regex
reads as written.  Bounded: MAX_LENGTH characters, MAX_DEPTH levels of parentheses and
``not``, MAX_PATTERN characters of a regex (compiled once, when parsed).

Typed, never guessed (``kind``): a value in a row is a number, string, boolean, list,
time (``created``, Unix seconds; a date from a YAML or TOML file) or duration (the
``duration`` column, seconds); a literal is a number, string, boolean, duration or
time.  A comparison is true only between kinds that go together: number with number,
string with string, boolean with boolean (== and != only), time with a date, time or
relative time, duration with a duration or a number of seconds.  Between kinds that do
not go together, ``==``, ``in``, ``contains`` and ordering are false and ``!=``/``not``
forms true, row by row, so a column holding numbers in some rows and strings in
others compares each row by its own kind.  When no row of a column holds a kind the
value can be compared with (``metrics.acc > high``, ``created > 2026``, ``name == 123``)
the query is refused (UsageError) instead of answering "nothing".  A date or time is
the span it names, in local time unless it ends in Z or an offset:
``created > 2026-12-01`` is from Dec 2 on, ``created == 2026-12-01`` that day.

Missing values: a row without the column (or with null there) makes every comparison
on it false, ``!=`` and the ``not`` forms too; ``is missing`` is true.  ``not`` is the
plain complement.  A row whose params or metrics file could not be read has *unknown*
values in those columns it lacks: a condition on them is neither true nor false
(Kleene's three-valued logic through and/or/not), and such a row never matches; it is
reported in ``Matched.undecided`` so that the command can say so.

Columns (``resolve_column``): the exact name, else the unique one of ``params.NAME``
and ``metrics.NAME`` (``acc`` for ``metrics.acc``); both there is ambiguous, neither is
unknown: a UsageError naming the candidates or the known columns.  Known columns are
the keys of the rows being filtered; with no rows there is nothing to check or match.
"""
from __future__ import annotations

import operator
import time
from typing import Any

from git_exp.errors import UsageError
from git_exp.names import shown

MAX_LENGTH = 2000  # characters in one --where
MAX_DEPTH = 32  # levels of parentheses and `not`
MAX_PATTERN = 256  # characters in one regex
COLUMNS_SHOWN = 12  # known columns named in an error message; the rest are counted
SHORT_PREFIXES = ("params.", "metrics.")
FILE_KINDS = ("params", "metrics")
ERRORS = "errors"  # results.ERRORS: the row key listing its unreadable files
TIME_COLUMNS = frozenset({"created"})
DURATION_COLUMNS = frozenset({"duration"})
EXAMPLE = "e.g. 'metrics.acc > 0.9 and status == ok'"
KEYWORDS = frozenset({"and", "or", "not", "in", "contains", "matches", "is", "missing", "ago"})
NULLS = frozenset({"null", "none", "nil"})
COMPARE = {"==": operator.eq, "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TWO = frozenset({"==", "!=", "<=", ">=", "!~", "&&", "||"})
_ONE = frozenset("=<>~(),")
_STOP = frozenset("()<>=!~,'\"`&|")
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_DIGITS = frozenset("0123456789")
# which literal kinds each value kind compares with
COMPATIBLE = {"number": ("number",), "duration": ("duration", "number"), "time": ("time",),
              "string": ("string",), "boolean": ("boolean",), "list": (), "other": ()}
PLURAL = {"number": "numbers", "duration": "durations", "time": "times", "string": "strings",
          "boolean": "booleans", "list": "lists", "other": "tables"}
HINTS = {
    "time": "compare it with a date (2026-12-01), a time (2026-12-01T10:00) or a relative time (2d ago)",
    "duration": "compare it with a duration (10s, 5m, 2h) or a number of seconds",
    "number": "compare it with a number, e.g. 0.9",
    "string": "quote the value to compare text, e.g. '123'",
    "boolean": "compare it with true or false",
    "list": "test its items with `contains`",
    "other": "compare one of its keys instead (`git exp show` lists them)",
}


class Matched(list):
    """The rows a query matched; ``undecided``: the rows it could not decide (unreadable files)."""

    undecided: list = []


class Token:
    __slots__ = ("kind", "text", "pos", "value")

    def __init__(self, kind: str, text: str, pos: int, value: Any = None) -> None:
        self.kind, self.text, self.pos, self.value = kind, text, pos, value  # kind: op word string name end

    def where(self) -> str:
        return "(at the end)" if self.kind == "end" else f"(at character {self.pos + 1})"

    def quoted(self) -> str:
        return "nothing" if self.kind == "end" else shown(self.text)


class Literal:
    """A value in a query: kind number, string, boolean, duration (seconds) or time
    (``(start, end)`` Unix seconds: the span a date names; start == end for a moment)."""

    __slots__ = ("kind", "value", "text", "token")

    def __init__(self, kind: str, value: Any, token: Token, text: str | None = None) -> None:
        self.kind, self.value, self.token = kind, value, token
        self.text = token.text if text is None else text  # what `contains` looks for in a string


def _error(what: str, token: Token | None, fix: str) -> UsageError:
    return UsageError(f"--where: {what}{' ' + token.where() if token else ''} — {fix}")


def tokenize(text: str) -> list[Token]:
    tokens, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "'\"`":
            j, parts = i + 1, []
            while True:
                if j >= n:
                    raise _error("this quote is never closed", Token("op", c, i), f"close it with {c}")
                if text[j] == "\\" and c != "`" and text[j + 1:j + 2] == c:
                    parts.append(c)
                    j += 2
                    continue
                if text[j] == c:
                    break
                parts.append(text[j])
                j += 1
            tokens.append(Token("name" if c == "`" else "string", text[i:j + 1], i, "".join(parts)))
            i = j + 1
            continue
        two = text[i:i + 2]
        if two in _TWO:
            if two in ("&&", "||"):
                raise _error(f"{two!r} is not an operator here", Token("op", two, i),
                             f"write {'and' if two == '&&' else 'or'}, or quote the value that holds it")
            tokens.append(Token("op", two, i))
            i += 2
            continue
        if c in _ONE:
            tokens.append(Token("op", c, i))
            i += 1
            continue
        if c in "!&|":
            raise _error(f"{c!r} is not an operator here", Token("op", c, i),
                         "write not, and, or, != or !~, or quote the value that holds it")
        j = i
        while j < n and text[j] not in _STOP and not text[j].isspace():
            j += 1
        tokens.append(Token("word", text[i:j], i))
        i = j
    tokens.append(Token("end", "", n))
    return tokens


def _number(word: str) -> int | float | None:
    if not word or not set(word) <= _NUMBER_CHARS or not any(c in _DIGITS for c in word):
        return None
    try:
        return int(word) if set(word) <= _DIGITS | {"-", "+"} else float(word)
    except ValueError:
        return None


def _duration(word: str) -> float | None:
    """Seconds in ``10s``, ``1.5h``, ``1h30m``, ``500ms``; None when ``word`` is none."""
    total, i, n = 0.0, 0, len(word)
    while i < n:
        j = i
        while j < n and (word[j] in _DIGITS or word[j] == "."):
            j += 1
        k = j
        while k < n and word[k].isascii() and word[k].isalpha():
            k += 1
        number, unit = word[i:j], word[j:k]
        if unit not in UNITS or not any(c in _DIGITS for c in number) or number.count(".") > 1:
            return None
        total += float(number) * UNITS[unit]
        i = k
    return total if n else None


def _date(word: str, token: Token) -> tuple[float, float] | None:
    """The span ``2026-12-01`` (a day), ``2026-12-01T10:00`` (a minute) or ``...:05`` (a
    second) names, local unless it ends in Z or +HH:MM; None when ``word`` is no date."""
    import re

    match = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d))?)?(Z|[+-]\d\d:?\d\d)?", word)
    if not match:
        return None
    import calendar

    year, month, day = int(match[1]), int(match[2]), int(match[3])
    hour, minute, second = (int(match[k]) if match[k] else 0 for k in (4, 5, 6))
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1] and hour < 24
            and minute < 60 and second < 60 and year >= 1970):
        raise _error(f"{shown(word)} is not a date", token, "write a date as 2026-12-01 or 2026-12-01T10:00")
    step = 1 if match[6] else 60 if match[4] else None
    zone = match[7]
    if zone:
        offset = 0 if zone == "Z" else (int(zone[1:3]) * 3600 + int(zone[-2:]) * 60) * (1 if zone[0] == "+" else -1)
        start = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
        return start, start + (step or 86400)
    start = time.mktime((year, month, day, hour, minute, second, 0, 0, -1))
    end = start + step if step else time.mktime((year, month, day + 1, 0, 0, 0, 0, 0, -1))
    return start, end


class Parser:
    def __init__(self, text: str, now: float) -> None:
        self.text, self.now = text, now
        self.tokens = tokenize(text)
        self.at = 0

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        if token.kind != "end":
            self.at += 1
        return token

    @staticmethod
    def keyword(token: Token, *words: str) -> bool:
        return token.kind == "word" and token.text.lower() in words

    def parse(self):
        if not self.text.strip():
            raise UsageError(f"--where: the query is empty — {EXAMPLE}")
        tree = self.any_of(0)
        token = self.peek()
        if token.kind != "end":
            if token.text == ")":
                raise _error("')' has no '(' before it", token, "remove it or add the '('")
            raise _error(f"expected and, or or the end, found {token.quoted()}", token,
                         f"join conditions with and/or, {EXAMPLE}")
        return tree

    def any_of(self, depth: int):
        items = [self.all_of(depth)]
        while self.keyword(self.peek(), "or"):
            self.take()
            items.append(self.all_of(depth))
        return items[0] if len(items) == 1 else ("or", items)

    def all_of(self, depth: int):
        items = [self.negation(depth)]
        while self.keyword(self.peek(), "and"):
            self.take()
            items.append(self.negation(depth))
        return items[0] if len(items) == 1 else ("and", items)

    def negation(self, depth: int):
        token = self.peek()
        if depth >= MAX_DEPTH:
            raise _error(f"the query nests deeper than {MAX_DEPTH} levels", token, "write it flatter")
        if self.keyword(token, "not"):
            self.take()
            return ("not", self.negation(depth + 1))
        if token.kind == "op" and token.text == "(":
            self.take()
            tree = self.any_of(depth + 1)
            close = self.take()
            if close.kind != "op" or close.text != ")":
                raise _error(f"the '(' at character {token.pos + 1} is not closed: expected ')', found {close.quoted()}",
                             close, "close it")
            return tree
        return self.condition()

    def condition(self):
        column = self.take()
        if column.kind == "end":
            raise _error("expected a condition", column, EXAMPLE)
        if column.kind == "word" and column.text.lower() in KEYWORDS:
            raise _error(f"expected a column name, found the keyword {column.quoted()}", column, EXAMPLE)
        if column.kind in ("string", "op") or (column.kind == "word" and self._looks_like_value(column.text)):
            raise _error(f"expected a column name, found {column.quoted()}", column,
                         f"write the column first, {EXAMPLE}")
        name = column.value if column.kind == "name" else column.text
        op = self.take()
        if op.kind == "op" and op.text in COMPARE:
            value = self.value(op)
            if value.kind == "boolean" and op.text not in ("==", "=", "!="):
                raise _error(f"{op.text} cannot order true and false", op, "use == or !=")
            return Condition(name, column, "==" if op.text == "=" else op.text, [value])
        if op.kind == "op" and op.text in ("~", "!~"):
            return self.pattern(name, column, op, op.text == "!~")
        negate = False
        if self.keyword(op, "not"):
            negate, op = True, self.take()
            if not self.keyword(op, "in", "contains", "matches"):
                raise _error(f"expected in, contains or matches after not, found {op.quoted()}", op,
                             f"e.g. 'status not in (ok, saved)', or put not first: 'not {name} == x'")
        if self.keyword(op, "in"):
            return Condition(name, column, "in", self.values(op), negate)
        if self.keyword(op, "contains"):
            return Condition(name, column, "contains", [self.value(op)], negate)
        if self.keyword(op, "matches"):
            return self.pattern(name, column, op, negate)
        if self.keyword(op, "is"):
            word = self.take()
            if self.keyword(word, "not"):
                negate, word = True, self.take()
            if not self.keyword(word, "missing"):
                raise _error(f"expected missing after is, found {word.quoted()}", word,
                             f"write '{name} is missing' or '{name} is not missing'")
            return Condition(name, column, "missing", [], negate)
        raise _error(f"expected an operator after {shown(name)}, found {op.quoted()}", op,
                     "use one of == != < <= > >= in contains ~ matches 'is missing'")

    @staticmethod
    def _looks_like_value(word: str) -> bool:
        return _number(word) is not None or _duration(word) is not None or word.lower() in ("true", "false")

    def value(self, after: Token) -> Literal:
        token = self.take()
        if token.kind == "string":
            return Literal("string", token.value, token, token.value)
        if token.kind != "word":
            raise _error(f"expected a value after {shown(after.text)}, found {token.quoted()}", token,
                         f"quote a value that holds ( ) , < > = ! ~ or spaces, {EXAMPLE}")
        word, low = token.text, token.text.lower()
        if low in ("true", "false"):
            return Literal("boolean", low == "true", token)
        if low in NULLS:
            raise _error(f"{shown(word)} is no value", token,
                         "write 'COLUMN is missing' for a missing or null value, or quote it for the text")
        if low in KEYWORDS:
            raise _error(f"expected a value after {shown(after.text)}, found the keyword {token.quoted()}", token,
                         "quote it if you mean the text")
        number = _number(word)
        if number is not None:
            return Literal("number", number, token)
        seconds = _duration(word)
        if seconds is not None:
            if self.keyword(self.peek(), "ago"):
                self.take()
                moment = self.now - seconds
                return Literal("time", (moment, moment), token)
            return Literal("duration", seconds, token)
        span = _date(word, token)
        if span is not None:
            return Literal("time", span, token)
        if word.lstrip("+-.")[:1] in _DIGITS:
            raise _error(f"{shown(word)} is not a number, duration (10s, 5m, 2h, 1d) or date (2026-12-01)", token,
                         "fix it, or quote it for the text")
        return Literal("string", word, token)

    def values(self, after: Token) -> list[Literal]:
        opening = self.take()
        if opening.kind != "op" or opening.text != "(":
            raise _error(f"expected '(' after in, found {opening.quoted()}", opening, "write e.g. 'status in (ok, failed)'")
        found = [self.value(opening)]
        while True:
            token = self.take()
            if token.kind == "op" and token.text == ")":
                return found
            if token.kind != "op" or token.text != ",":
                raise _error(f"expected ',' or ')' in the list, found {token.quoted()}", token,
                             "write e.g. 'status in (ok, failed)'")
            found.append(self.value(token))

    def pattern(self, name: str, column: Token, op: Token, negate: bool):
        """A regex: a quoted string, or a bare word as written (``name ~ ^sweep/lr-1e``)."""
        token = self.take()
        if token.kind == "string":
            text = token.value
        elif token.kind == "word" and token.text.lower() not in KEYWORDS:
            text = token.text
        else:
            raise _error(f"expected a regular expression after {shown(op.text)}, found {token.quoted()}", token,
                         "quote it, e.g. name ~ '^sweep/'")
        if len(text) > MAX_PATTERN:
            raise _error(f"the regular expression is longer than {MAX_PATTERN} characters", token, "shorten it")
        import re

        try:
            compiled = re.compile(text)
        except re.error as exc:
            raise _error(f"{shown(text)} is not a regular expression ({exc})", token,
                         "fix it (Python syntax), or quote it if it holds ( ) , < > = ! ~ or spaces") from None
        value = Literal("string", compiled, token, text)
        return Condition(name, column, "matches", [value], negate or op.text == "!~")


class Condition:
    __slots__ = ("name", "token", "op", "values", "negate", "column", "file_kind")

    def __init__(self, name: str, token: Token, op: str, values: list[Literal], negate: bool = False) -> None:
        self.name, self.token, self.op, self.values, self.negate = name, token, op, values, negate
        self.column, self.file_kind = name, None  # set by Query.select: the column resolved, params/metrics


def kind(column: str | None, value: Any) -> str:
    """The kind of a (present) value in a row: number, duration, time, string, boolean, list or other."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "time" if column in TIME_COLUMNS else "duration" if column in DURATION_COLUMNS else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if hasattr(value, "timetuple"):  # datetime.date / datetime.datetime from YAML or TOML
        return "time"
    return "other"


def _moment(value: Any) -> float:
    if isinstance(value, (int, float)):
        return value
    if hasattr(value, "timestamp"):  # datetime: naive is local time, as a literal is
        return value.timestamp()
    return time.mktime(value.timetuple())  # a date: its local midnight


def _equal(value_kind: str, value: Any, literal: Literal) -> bool:
    if literal.kind not in COMPATIBLE[value_kind]:
        return False
    if literal.kind == "time":
        start, end = literal.value
        moment = _moment(value)
        return start <= moment < end if end > start else moment == start
    return value == literal.value


def _ordered(op: str, value_kind: str, value: Any, literal: Literal) -> bool:
    if literal.kind not in COMPATIBLE[value_kind]:
        return False
    if literal.kind != "time":
        return COMPARE[op](value, literal.value)
    start, end = literal.value
    moment = _moment(value)
    span = end > start
    if op == "<":
        return moment < start
    if op == "<=":
        return moment < end if span else moment <= start
    if op == ">":
        return moment >= end if span else moment > start
    return moment >= start


def _holds(cond: Condition, value_kind: str, value: Any) -> bool:
    """Whether the positive form of ``cond`` holds for a present value."""
    op, values = cond.op, cond.values
    if op == "==":
        return _equal(value_kind, value, values[0])
    if op == "!=":
        return not _equal(value_kind, value, values[0])
    if op == "in":
        return any(_equal(value_kind, value, literal) for literal in values)
    if op == "contains":
        literal = values[0]
        if value_kind == "list":
            return any(_equal(kind(None, item), item, literal) for item in value)
        return value_kind == "string" and literal.text in value
    if op == "matches":
        search = values[0].value.search
        if value_kind == "list":
            return any(isinstance(item, str) and search(item) is not None for item in value)
        return value_kind == "string" and search(value) is not None
    return _ordered(op, value_kind, value, values[0])


def _unreadable(row: dict, file_kind: str) -> bool:
    return ERRORS in row and str(row.get(file_kind, "")).startswith("error: ")


def _file_kind(column: str) -> str | None:
    for file_kind in FILE_KINDS:
        if column == file_kind or column.startswith(file_kind + "."):
            return file_kind
    return None


def _compile(tree):
    """``tree`` as a function of a row: True, False, or None for unknown (Kleene)."""
    if type(tree) is Condition:
        return _compile_condition(tree)
    what, inner = tree
    if what == "not":
        test = _compile(inner)

        def negation(row):
            result = test(row)
            return None if result is None else not result
        return negation
    tests = [_compile(item) for item in inner]
    decisive = what == "or"  # the result that settles it: True for or, False for and

    def junction(row):
        unknown = False
        for test in tests:
            result = test(row)
            if result is None:
                unknown = True
            elif result is decisive:
                return decisive
        return None if unknown else not decisive
    return junction


def _compile_condition(cond: Condition):
    column, file_kind, negate = cond.column, cond.file_kind, cond.negate
    if cond.op == "missing":
        def missing(row):
            if column in row:
                return (row[column] is None) != negate
            if file_kind and _unreadable(row, file_kind):
                return None
            return not negate
        return missing
    holds = _holder(cond)

    def condition(row):
        if column in row:
            value = row[column]
            return value is not None and holds(value) != negate
        if file_kind and _unreadable(row, file_kind):
            return None
        return False
    return condition


def _holder(cond: Condition):
    """The positive test of ``cond`` on a present value; the common comparisons of a
    plain number column with a number, and of text with text, without looking up kinds."""
    column, op, literal = cond.column, cond.op, cond.values[0]
    if op in COMPARE and column not in TIME_COLUMNS:
        compare, wanted = COMPARE[op], literal.value
        if literal.kind == "number" and column not in DURATION_COLUMNS:
            equal = op == "!="

            def numeric(value):
                if type(value) is int or type(value) is float:
                    return compare(value, wanted)
                return equal if kind(column, value) != "number" else compare(value, wanted)
            return numeric
        if literal.kind == "string":
            unequal = op == "!="

            def textual(value):
                return compare(value, wanted) if type(value) is str else unequal
            return textual
    return lambda value: _holds(cond, kind(column, value), value)


class Query:
    """A parsed ``--where``; ``select`` resolves its columns against rows and filters them."""

    def __init__(self, text: str, tree) -> None:
        self.text, self.tree = text, tree

    def conditions(self) -> list[Condition]:
        found, stack = [], [self.tree]
        while stack:
            tree = stack.pop()
            if type(tree) is Condition:
                found.append(tree)
            elif tree[0] == "not":
                stack.append(tree[1])
            else:
                stack.extend(reversed(tree[1]))
        return found

    def select(self, rows: list[dict]) -> Matched:
        """The rows the query matches, in order; UsageError for an unknown or ambiguous
        column and for a comparison no row's value could satisfy by kind."""
        matched = Matched()
        matched.undecided = []
        if not rows:
            return matched
        known = Columns(rows)
        unreadable: set | None = None
        conditions = self.conditions()
        for cond in conditions:
            if _file_kind(cond.name) and cond.name not in known:
                if unreadable is None:
                    broken = [row for row in rows if ERRORS in row]
                    unreadable = {kind for kind in FILE_KINDS if any(_unreadable(row, kind) for row in broken)}
                if _file_kind(cond.name) in unreadable:
                    cond.column = cond.name  # may be in a file that could not be read: undecided there
                    cond.file_kind = _file_kind(cond.name)
                    continue
            cond.column = resolve_column(cond.name, known, at=cond.token)
            cond.file_kind = _file_kind(cond.column)
        for cond in conditions:
            _check_kind(cond, rows)
        test = _compile(self.tree)
        undecided = matched.undecided
        for row in rows:
            result = test(row)
            if result:
                matched.append(row)
            elif result is None:
                undecided.append(row)
        return matched


def _check_kind(cond: Condition, rows: list[dict]) -> None:
    """UsageError when no row's value in ``cond``'s column could satisfy it by its kind
    (rows are read until one could: usually the first)."""
    if cond.op == "missing":
        return
    column, values, items = cond.column, set(), set()
    for row in rows:
        value = row.get(column)
        if value is None:
            continue
        value_kind = kind(column, value)
        row_items = {kind(None, item) for item in value} if value_kind == "list" else set()
        if _fits(cond, value_kind, row_items):
            return
        values.add(value_kind)
        items |= row_items
    if not values or (values == {"list"} and not items and cond.op == "contains"):
        return  # nothing but missing values, or only empty lists: nothing to say
    literal = cond.values[0]
    if cond.op == "matches":
        raise _error(f"{column} holds {_plural(values)}, and ~ and matches test text", literal.token, _hint(values))
    if cond.op == "contains":
        if "list" in values and items:
            raise _error(f"the lists in {column} hold {_plural(items)}, and {literal.token.quoted()} is "
                         f"{_a(literal.kind)}", literal.token, _hint(items))
        raise _error(f"{column} holds {_plural(values)}, and contains tests lists and text", literal.token,
                     _hint(values))
    raise _error(f"{column} holds {_plural(values)}, and {literal.token.quoted()} is {_a(literal.kind)}",
                 literal.token, _hint(values) if "list" not in values else
                 f"test its items with `{column} contains {literal.text}`")


def _fits(cond: Condition, value_kind: str, items: set) -> bool:
    """Whether a value of ``value_kind`` (a list: with items of the kinds ``items``)
    could satisfy ``cond``."""
    if cond.op == "matches":
        return value_kind == "string" or (value_kind == "list" and "string" in items)
    if cond.op == "contains":
        if value_kind == "string":
            return True
        return value_kind == "list" and any(literal.kind in COMPATIBLE[item] for literal in cond.values for item in items)
    return any(literal.kind in COMPATIBLE[value_kind] for literal in cond.values)


def _plural(kinds: set) -> str:
    return " and ".join(PLURAL[k] for k in sorted(kinds))


def _a(literal_kind: str) -> str:
    return {"number": "a number", "string": "text", "boolean": "a boolean", "duration": "a duration",
            "time": "a time"}[literal_kind]


def _hint(kinds: set) -> str:
    for value_kind in ("time", "duration", "number", "string", "boolean", "list", "other"):
        if value_kind in kinds:
            return HINTS[value_kind]
    return HINTS["other"]


def parse(text: str, now: float | None = None) -> Query:
    """``text`` as a Query (``now``: the time ``2d ago`` counts from); UsageError with
    the position for anything it cannot read."""
    if len(text) > MAX_LENGTH:
        raise UsageError(f"--where: the query is {len(text)} characters long, more than {MAX_LENGTH} — shorten it")
    return Query(text, Parser(text, time.time() if now is None else now).parse())


class Columns:
    """The columns of ``rows`` for ``resolve_column``: ``in`` reads rows until one has the
    column (usually the first); iterating lists them all (``known_columns``)."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows, self.found = rows, {}

    def __contains__(self, name: str) -> bool:
        if name not in self.found:
            self.found[name] = any(name in row for row in self.rows)
        return self.found[name]

    def __iter__(self):
        return iter(known_columns(self.rows))


def known_columns(rows: list[dict]) -> list[str]:
    """Every key of ``rows``: the dotted ones (params.*, metrics.*) sorted, then the
    plain ones in row order."""
    seen: dict = {}
    for row in rows:
        seen.update(row)  # the values come along, but in C: 10k rows in ~3 ms
    return sorted(k for k in seen if "." in k) + [k for k in seen if "." not in k]


def resolve_column(name: str, known_columns, *, option: str = "--where", at: Token | None = None) -> str:
    """The column ``name`` stands for among ``known_columns``: itself, or else the one of
    ``params.NAME`` and ``metrics.NAME`` that exists.  UsageError when neither does (naming
    close matches and the known columns) or both do (naming both)."""
    known = dict.fromkeys(known_columns) if isinstance(known_columns, (list, tuple)) else known_columns
    if name in known:
        return name
    candidates = [prefix + name for prefix in SHORT_PREFIXES if prefix + name in known]
    if len(candidates) == 1:
        return candidates[0]
    where = f" {at.where()}" if at is not None else ""
    if candidates:
        raise UsageError(f"{option}: {shown(name)}{where} could be {' or '.join(map(shown, candidates))} — "
                         "write the whole column name")
    import difflib

    ordered = list(known)
    close = difflib.get_close_matches(name, ordered, n=3, cutoff=0.75)
    listed = ", ".join(ordered[:COLUMNS_SHOWN]) + (f" and {len(ordered) - COLUMNS_SHOWN} more"
                                                    if len(ordered) > COLUMNS_SHOWN else "")
    guess = f"did you mean {' or '.join(map(shown, close))}? " if close else ""
    raise UsageError(f"{option}: no column named {shown(name)}{where} — {guess}known columns: {listed}")


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def sort_rows(rows: list[dict], key: str, known: list[str] | None = None) -> list[dict]:
    """Sort by ``key`` (``-key`` descending), a column of ``known`` (default: the rows'
    keys; short forms as ``resolve_column``): numbers first, then the others by their
    text, missing last."""
    descending = key.startswith("-")
    key = key[1:] if descending else key
    known = known_columns(rows) if known is None else known
    if known:
        key = resolve_column(key, known, option="--sort")

    def rank(row):
        value = row.get(key)
        num = number(value)
        if num is not None:
            return (0, num, "")
        return (1, 0.0, str(value).lower() if isinstance(value, bool) else str(value))

    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    present.sort(key=rank, reverse=descending)
    return present + missing
