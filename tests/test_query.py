"""The ``--where`` language (git_exp/query.py): grammar, typed comparisons, the column
resolver, every error; property tests against a reference evaluation over random rows."""
from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from git_exp import query
from git_exp.errors import UsageError

pytestmark = pytest.mark.once  # pure Python, no git: the object and ref format change nothing here

NOW = 1_800_000_000.0  # 2027-01-15; "2d ago" counts from here
DAY = 86400


def local(y, m, d, hh=0, mm=0, ss=0):
    return int(time.mktime((y, m, d, hh, mm, ss, 0, 0, -1)))


ROWS = [
    {"name": "a", "remote": None, "created": int(NOW - 3600), "status": "ok", "duration": 2.5,
     "params.lr": 0.1, "params.opt": "adam", "metrics.acc": 0.91, "metrics.loss.train": 0.2,
     "tags": ["best", "sweep"], "note": "fast and good"},
    {"name": "b", "remote": None, "created": int(NOW - 5 * DAY), "status": "failed", "duration": 30.0,
     "params.lr": 0.01, "params.opt": "sgd", "metrics.acc": 0.5, "tags": [], "exit_code": 1},
    {"name": "c", "remote": "origin", "created": local(2026, 12, 1, 10, 30), "status": "ok", "duration": 600.0,
     "params.lr": "auto", "metrics.acc": 0.7, "params.seed": None},
]


def names(text, rows=ROWS):
    return [row["name"] for row in query.parse(text, NOW).select(rows)]


def message(text, rows=ROWS):
    with pytest.raises(UsageError) as caught:
        query.parse(text, NOW).select(rows)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2
    return str(caught.value)


@pytest.mark.parametrize("text, expected", [
    ("metrics.acc > 0.8", ["a"]),
    ("acc > 0.6 and acc < 0.8", ["c"]),  # short form
    ("acc > 0.8 or status == failed", ["a", "b"]),  # `or` answers (it used to return nothing)
    ("not acc > 0.8", ["b", "c"]),
    ("not (acc > 0.8 or status == failed)", ["c"]),
    ("status = ok AND NOT name == a", ["c"]),  # = and ==, keywords in any case
    ("acc >= 0.5 and acc <= 0.5", ["b"]),
    ("acc != 0.5", ["a", "c"]),
    ("status in (failed, 'x y')", ["b"]),
    ("status not in (failed)", ["a", "c"]),
    ("params.opt in (adam, sgd)", ["a", "b"]),
    ("tags contains best", ["a"]),
    ("tags not contains best", ["b"]),
    ("note contains 'and good'", ["a"]),
    ("name ~ '^[ab]$'", ["a", "b"]),
    ("name matches c", ["c"]),
    ("name ~ 1?a", ["a"]),  # not a number: a regex is read as written
    ("name ~ null or name ~ true", []),
    ("name !~ a", ["b", "c"]),
    ("name not matches '[bc]'", ["a"]),
    ("tags ~ ^sw", ["a"]),  # a regex tests each string of a list
    ("exit_code is missing", ["a", "c"]),
    ("exit_code is not missing", ["b"]),
    ("params.seed is missing", ["a", "b", "c"]),  # null is missing
    ("remote is missing", ["a", "b"]),
    ("remote == origin", ["c"]),
    ("duration > 10s", ["b", "c"]),  # seconds, not text: 2.5 s is not more than 10 s
    ("duration > 10", ["b", "c"]),
    ("duration >= 10m", ["c"]),
    ("duration < 1m", ["a", "b"]),
    ("duration == 0.5m", ["b"]),
    ("duration > 1h30m", []),
    ("duration < 3000ms", ["a"]),
    ("created > 2d ago", ["a"]),
    ("created < 2d ago", ["b", "c"]),
    ("created == 2026-12-01", ["c"]),  # that day
    ("created > 2026-12-01", ["a", "b"]),  # after that day
    ("created >= 2026-12-01", ["a", "b", "c"]),
    ("created < 2026-12-01", []),
    ("created <= 2026-12-01", ["c"]),
    ("created == 2026-12-01T10:30", ["c"]),  # that minute
    ("created > 2026-12-01T10:29 and created < 2026-12-01T10:31", ["c"]),
    ("created < 2026-12-01T10:30:01", ["c"]),
    ("params.lr < 0.05", ["b"]),  # mixed column: the string row compares by its own kind
    ("params.lr == auto", ["c"]),
    ("params.lr != 0.1", ["b", "c"]),
    ("`metrics.loss.train` < 1", ["a"]),
    ("loss.train < 1", ["a"]),
    ("name == 'it\\'s'", []),
    ("((((acc > 0.8))))", ["a"]),
    ("not not acc > 0.8", ["a"]),
])
def test_selects(text, expected):
    assert names(text) == expected


def test_dates_with_zone_and_utc():
    start = time.mktime((2026, 12, 1, 10, 30, 0, 0, 0, -1))
    offset = int(start - __import__("calendar").timegm((2026, 12, 1, 10, 30, 0, 0, 0, 0)))
    rows = [{"name": "z", "created": int(start)}]
    utc = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(start))
    assert names(f"created == {utc}Z", rows) == ["z"]
    assert names(f"created == {utc}+00:00", rows) == ["z"]
    hours, minutes = divmod(abs(offset) // 60, 60)
    sign = "-" if offset > 0 else "+"  # local = UTC - offset
    assert names(f"created == 2026-12-01T10:30{sign}{hours:02d}:{minutes:02d}", rows) == ["z"]


def test_yaml_dates_compare_as_times():
    import datetime

    rows = [{"name": "d", "params.day": datetime.date(2026, 3, 4)},
            {"name": "e", "params.day": datetime.datetime(2026, 3, 5, 12, 0)}]
    assert names("params.day == 2026-03-04", rows) == ["d"]
    assert names("params.day > 2026-03-04", rows) == ["e"]
    assert names("params.day < 2026-03-05T13:00", rows) == ["d", "e"]


def test_booleans_and_numbers():
    rows = [{"name": "t", "params.gpu": True, "params.n": 1}, {"name": "f", "params.gpu": False, "params.n": 1.0}]
    assert names("params.gpu == true", rows) == ["t"]
    assert names("params.gpu != TRUE", rows) == ["f"]
    assert names("params.n == 1", rows) == ["t", "f"]  # 1 and 1.0 are one number
    assert names("params.n == 1e0 and params.n > -1 and params.n < .5e1", rows) == ["t", "f"]


@pytest.mark.parametrize("text, fragments", [
    ("metrics.acc >", ["expected a value after '>', found nothing (at the end)"]),
    ("metrics.acc", ["expected an operator after 'metrics.acc', found nothing (at the end)"]),
    ("acc > 0.8 status == ok", ["expected and, or or the end, found 'status' (at character 11)"]),
    ("(acc > 0.8", ["the '(' at character 1 is not closed", "(at the end)"]),
    ("acc > 0.8)", ["')' has no '(' before it (at character 10)"]),
    ("acc > 'x", ["this quote is never closed (at character 7)"]),
    ("acc > 0.8 && status == ok", ["'&&' is not an operator here (at character 11)", "write and"]),
    ("acc > 0.8 || x", ["write or"]),
    ("! acc > 1", ["'!' is not an operator here (at character 1)"]),
    ("name ~ a|b", ["'|' is not an operator here (at character 9)", "quote the value that holds it"]),
    ("name ~ (a)", ["expected a regular expression after '~', found '(' (at character 8)", "quote it"]),
    ("name ~ or", ["expected a regular expression after '~', found 'or'"]),
    ("0.9 < acc", ["expected a column name, found '0.9' (at character 1)", "write the column first"]),
    ("'acc' > 1", ["expected a column name, found"]),
    ("and acc > 1", ["expected a column name, found the keyword 'and' (at character 1)"]),
    ("acc > and", ["found the keyword 'and' (at character 7)"]),
    ("acc == null", ["'null' is no value (at character 8)", "is missing"]),
    ("acc > (", ["expected a value after '>', found '(' (at character 7)"]),
    ("acc is there", ["expected missing after is, found 'there' (at character 8)"]),
    ("acc not > 1", ["expected in, contains or matches after not, found '>' (at character 9)"]),
    ("status in ok", ["expected '(' after in, found 'ok' (at character 11)"]),
    ("status in (ok failed)", ["expected ',' or ')' in the list, found 'failed' (at character 15)"]),
    ("acc > 0.9and", ["'0.9and' is not a number, duration (10s, 5m, 2h, 1d) or date (2026-12-01) (at character 7)"]),
    ("duration > 5min", ["'5min' is not a number, duration"]),
    ("created > 2026-02-30", ["'2026-02-30' is not a date (at character 11)"]),
    ("flag > true", ["> cannot order true and false (at character 6)"]),
    ("name ~ '('", ["'(' is not a regular expression (missing ), unterminated subpattern at position 0) "
                    "(at character 8)"]),
    ("name ~ '" + "a" * 300 + "'", [f"longer than {query.MAX_PATTERN} characters (at character 8)"]),
    ("", ["the query is empty"]),
    ("   ", ["the query is empty"]),
    ("(" * 40 + "acc > 1" + ")" * 40, [f"nests deeper than {query.MAX_DEPTH} levels (at character 33)"]),
    ("not " * 40 + "acc > 1", [f"nests deeper than {query.MAX_DEPTH} levels"]),
    ("acc > 1 or " * 300 + "acc > 1", [f"more than {query.MAX_LENGTH}"]),
])
def test_syntax_errors(text, fragments):
    with pytest.raises(UsageError) as caught:
        query.parse(text, NOW)
    text_ = str(caught.value)
    assert text_.startswith("--where: ") and " — " in text_ and "\n" not in text_
    for fragment in fragments:
        assert fragment in text_, text_


@pytest.mark.parametrize("text, fragments", [
    ("metrcs.acc > 0.9", ["no column named 'metrcs.acc' (at character 1)", "did you mean 'metrics.acc'?",
                          "known columns: metrics.acc, metrics.loss.train, params.lr, params.opt, params.seed, name, remote"]),
    ("lr > 0 and stauts == ok", ["no column named 'stauts' (at character 12)", "did you mean 'status'?"]),
    ("created > 2026", ["created holds times, and '2026' is a number (at character 11)",
                        "compare it with a date (2026-12-01), a time (2026-12-01T10:00) or a relative time (2d ago)"]),
    ("created > yesterday", ["created holds times, and 'yesterday' is text"]),
    ("duration > fast", ["duration holds durations, and 'fast' is text", "a duration (10s, 5m, 2h)"]),
    ("acc > high", ["metrics.acc holds numbers, and 'high' is text (at character 7)", "compare it with a number"]),
    ("acc > 2d ago", ["metrics.acc holds numbers, and '2d' is a time"]),
    ("acc > 10s", ["metrics.acc holds numbers, and '10s' is a duration"]),
    ("name == 123", ["name holds strings, and '123' is a number", "quote the value"]),
    ("name == 2026-12-01", ["name holds strings, and '2026-12-01' is a time"]),
    ("status == true", ["status holds strings, and 'true' is a boolean"]),
    ("tags == best", ["tags holds lists", "tags contains best"]),
    ("tags contains 3", ["the lists in tags hold strings, and '3' is a number"]),
    ("acc contains 3", ["metrics.acc holds numbers, and contains tests lists and text"]),
    ("acc ~ '^0'", ["metrics.acc holds numbers, and ~ and matches test text"]),
    ("acc in (a, b)", ["metrics.acc holds numbers, and 'a' is text"]),
])
def test_column_and_kind_errors(text, fragments):
    text_ = message(text)
    for fragment in fragments:
        assert fragment in text_, text_


def test_ambiguous_short_form_names_both():
    rows = [{"name": "x", "params.acc": 1, "metrics.acc": 0.5}]
    text = message("acc > 0", rows)
    assert text == ("--where: 'acc' (at character 1) could be 'params.acc' or 'metrics.acc' — "
                    "write the whole column name")
    assert names("metrics.acc > 0", rows) == ["x"]


def test_known_columns_are_shortened():
    rows = [{"name": "x", **{f"metrics.m{i:02d}": i for i in range(30)}}]
    text = message("nothing > 1", rows)
    assert "known columns: metrics.m00, metrics.m01, " in text and "metrics.m11 and 19 more" in text


def test_no_rows_nothing_to_check():
    assert query.parse("whatever > 1", NOW).select([]) == []
    with pytest.raises(UsageError):
        query.parse("whatever >", NOW)  # syntax is still checked


def test_resolve_column_shared_with_sort():
    known = ["name", "params.lr", "metrics.acc", "params.x", "metrics.x"]
    assert query.resolve_column("acc", known) == "metrics.acc"
    assert query.resolve_column("params.x", known) == "params.x"
    with pytest.raises(UsageError, match="could be 'params.x' or 'metrics.x'"):
        query.resolve_column("x", known)
    with pytest.raises(UsageError, match="^--sort: no column named 'nope' — known columns: name, params.lr"):
        query.sort_rows([{"name": "a"}], "nope", known)
    rows = [{"name": "a", "metrics.acc": 0.1}, {"name": "b", "metrics.acc": 0.9}, {"name": "c"}]
    assert [r["name"] for r in query.sort_rows(rows, "-acc")] == ["b", "a", "c"]


def test_unreadable_files_are_undecided():
    rows = [{"name": "ok", "metrics.acc": 0.9},
            {"name": "broken", "metrics": "error: metrics.json is too large", "errors": ["metrics.json is too large"]},
            {"name": "nometrics"}]
    for text in ("acc > 0.5", "not acc > 0.5", "acc is missing", "acc > 0.5 or not acc > 0.5"):
        matched = query.parse(text, NOW).select(rows)
        assert "broken" not in [r["name"] for r in matched]
        assert [r["name"] for r in matched.undecided] == ["broken"], text
    assert names("acc is missing", rows) == ["nometrics"]
    # decided all the same when the other side settles it
    assert names("name == broken or acc > 0.5", rows) == ["ok", "broken"]
    assert names("name == ok and acc > 0.5", rows) == ["ok"]
    assert names("errors is not missing", rows) == ["broken"]
    # a column only an unreadable file could hold: undecided there, not unknown
    matched = query.parse("metrics.f1 > 0.5 or name == nometrics", NOW).select(rows)
    assert [r["name"] for r in matched] == ["nometrics"] and [r["name"] for r in matched.undecided] == ["broken"]
    assert "no column named 'f1'" in message("f1 > 0.5", rows)  # short forms resolve among what was read
    assert "no column named 'params.f1'" in message("params.f1 > 0.5", rows)


# --- properties against a reference evaluation --------------------------------------------

OPTS = ["adam", "sgd", "rms"]
TAGS = ["best", "sweep", "old"]

rows_strategy = st.lists(
    st.fixed_dictionaries({}, optional={
        "metrics.acc": st.one_of(st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 2)), st.sampled_from(["n/a"])),
        "params.opt": st.sampled_from(OPTS),
        "tags": st.lists(st.sampled_from(TAGS), max_size=3),
        "duration": st.sampled_from([0.5, 5.0, 50.0, 500.0]),
        "created": st.integers(int(NOW) - 10 * DAY, int(NOW)),
    }),
    min_size=1, max_size=8,
).map(lambda rows: [{"name": "e0", "metrics.acc": 0.5, "params.opt": "adam", "tags": ["best"],
                     "duration": 5.0, "created": int(NOW)}]  # every column holds its kind somewhere
      + [{"name": f"e{i + 1}", **row} for i, row in enumerate(rows)])


def leaf(column, op, literal, check):
    return ("leaf", f"{column} {op} {literal}", check)


NUMBER_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
              ">=": lambda a, b: a >= b, "==": lambda a, b: a == b}


def number_leaf(draw):
    op = draw(st.sampled_from(sorted(NUMBER_OPS) + ["!="]))
    value = draw(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]))

    def check(row):
        acc = row.get("metrics.acc")
        if not isinstance(acc, float):
            return op == "!=" and acc is not None
        return acc != value if op == "!=" else NUMBER_OPS[op](acc, value)
    return leaf(draw(st.sampled_from(["metrics.acc", "acc"])), op, value, check)


@st.composite
def leaves(draw):
    kind = draw(st.sampled_from(["number", "opt", "in", "tag", "regex", "missing", "duration", "created"]))
    if kind == "number":
        return number_leaf(draw)
    if kind == "opt":
        op, value = draw(st.sampled_from(["==", "!="])), draw(st.sampled_from(OPTS))
        return leaf("params.opt", op, value, lambda r: "params.opt" in r and ((r["params.opt"] == value) == (op == "==")))
    if kind == "in":
        values = draw(st.lists(st.sampled_from(OPTS), min_size=1, max_size=3))
        return leaf("opt", "in", f"({', '.join(values)})", lambda r: r.get("params.opt") in values)
    if kind == "tag":
        value = draw(st.sampled_from(TAGS))
        return leaf("tags", "contains", value, lambda r: value in r.get("tags", ()))
    if kind == "regex":
        pattern = draw(st.sampled_from(["^e1", "[02468]$", "e", "^x"]))
        return leaf("name", "~", f"'{pattern}'", lambda r: re.search(pattern, r["name"]) is not None)
    if kind == "missing":
        column = draw(st.sampled_from(["metrics.acc", "params.opt", "tags", "duration"]))
        negate = draw(st.booleans())
        return leaf(column, "is", "not missing" if negate else "missing", lambda r: (column in r) == negate)
    if kind == "duration":
        op = draw(st.sampled_from(sorted(NUMBER_OPS)))
        value, seconds = draw(st.sampled_from([("5s", 5), ("1m", 60), ("0.5m", 30), ("8m20s", 500)]))
        return leaf("duration", op, value, lambda r: "duration" in r and NUMBER_OPS[op](r["duration"], seconds))
    days = draw(st.integers(0, 10))
    op = draw(st.sampled_from(["<", ">"]))
    cut = NOW - days * DAY
    return leaf("created", op, f"{days}d ago",
                lambda r: "created" in r and (r["created"] < cut if op == "<" else r["created"] > cut))


trees = st.recursive(leaves(), lambda inner: st.one_of(
    st.tuples(st.just("not"), inner),
    st.tuples(st.sampled_from(["and", "or", "AND", "Or"]), st.lists(inner, min_size=2, max_size=3)),
), max_leaves=8)


def render(tree) -> str:
    if tree[0] == "leaf":
        return tree[1]
    if tree[0] == "not":
        return f"not ({render(tree[1])})"
    return f" {tree[0]} ".join(f"({render(item)})" for item in tree[1])


def reference(tree, row) -> bool:
    if tree[0] == "leaf":
        return tree[2](row)
    if tree[0] == "not":
        return not reference(tree[1], row)
    results = [reference(item, row) for item in tree[1]]
    return all(results) if tree[0].lower() == "and" else any(results)


def selected(text, rows):
    return [row["name"] for row in query.parse(text, NOW).select(rows)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, rows_strategy)
def test_matches_reference(tree, rows):
    assert selected(render(tree), rows) == [row["name"] for row in rows if reference(tree, row)]


@settings(max_examples=150, deadline=None)
@given(trees, trees, rows_strategy)
def test_or_is_union_and_is_intersection_not_is_complement(a, b, rows):
    sa, sb = set(selected(render(a), rows)), set(selected(render(b), rows))
    every = {row["name"] for row in rows}
    assert set(selected(f"({render(a)}) or ({render(b)})", rows)) == sa | sb
    assert set(selected(f"({render(a)}) and ({render(b)})", rows)) == sa & sb
    assert set(selected(f"not ({render(a)})", rows)) == every - sa


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(list("ab.c()'\"`=<>!~,&| 0129-:TZsdmh") + [
    "and ", "or ", "not ", "in ", "contains ", "is ", "missing", "ago", "acc", "tags", "created", "2026-12-01"]),
    max_size=30).map("".join))
def test_any_text_parses_or_is_refused(text):
    """Nothing but a Query or a one-line UsageError comes out of any input."""
    try:
        parsed = query.parse(text, NOW)
    except UsageError as exc:
        assert str(exc).startswith("--where: ") and "\n" not in str(exc)
        return
    try:
        parsed.select(ROWS)
    except UsageError as exc:
        assert str(exc).startswith("--where: ") and "\n" not in str(exc)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_unicode_never_crashes(text):
    assume(text.strip())
    try:
        query.parse(text, NOW).select(ROWS)
    except UsageError:
        pass
