"""``plainyaml.load`` reads what it reads exactly as PyYAML does, and leaves the rest to it."""
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from git_exp import plainyaml, results

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TOKENS = ["0", "-0", "+3", "10", "007", "0x1F", "0o17", "0b11", "1_000", "3:30", "1e-05", "1e5", "1.0", "1.",
          "-2.5", "+0.5", "1.5e+3", "1.5E-3", "2.5e3", ".5", ".inf", "-.inf", ".nan", "2023-01-01",
          "2023-01-01 10:00:00", "yes", "Yes", "no", "on", "Off", "y", "n", "true", "False", "null", "Null", "~",
          "adam", "relu6", "a.b", "a/b", "a-b", "e", "a b", "a:b", "a: b", "'q'", '"d"', '"a\\nb"', "'it''s'",
          "''", '""', "'#'", "a #c", "a#b", "#c", "[1, 2]", "{a: 1}", "&x 1", "*x", "!!str 1", "|", ">", "-",
          "- 1", "=", "<<", "@x", "`x", "%x", "1" * 120, "é", "٣", "²", ""]
PLAIN = ["0", "-0", "+3", "10", "1.0", "1.", "-2.5", "+0.5", "1.5e+3", "1.5E-3", "007.5", "yes", "No", "on", "OFF",
         "true", "False", "null", "NULL", "~", "adam", "relu6", "a.b", "a/b", "a-b", "e", "E5", "'q r'", '"d"', "''",
         '""', "inf", "nan", "n", "y", "1" * 90]
KEYS = ["lr", "model", "depth", "a_b", "a-b", "e", "yes", "on", "null", "1", "_x", "Key", "a b", "é", "<<", "-"]


@st.composite
def documents(draw, tokens=tuple(TOKENS), odd=True):
    lines, indents = [], [0]
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["pair", "pair", "pair", "open", "close", "comment", "blank", *(["odd"] if odd else [])]))
        indent = indents[-1]
        if kind == "close" and len(indents) > 1:
            indents.pop()
            indent = indents[-1]
        if kind == "comment":
            lines.append(" " * indent + "# note")
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "  "])))
        elif kind == "odd":
            lines.append(draw(st.sampled_from(["---", "...", "\tx: 1", "x: 1\r", "- a", "  y: 2", " z: 3", "k:v"])))
        elif kind == "open":
            key = draw(st.sampled_from(KEYS[:6] if not odd else KEYS))
            lines.append(" " * indent + key + ":" + draw(st.sampled_from(["", " # c", " "])))
            indents.append(indent + draw(st.sampled_from([1, 2, 4])))
        else:
            key, value = draw(st.sampled_from(KEYS[:6] if not odd else KEYS)), draw(st.sampled_from(tokens))
            tail = draw(st.sampled_from(["", "  # c", " "]))
            lines.append(" " * indent + f"{key}: {value}{tail}")
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


def _pyyaml(text):
    try:
        return ("ok", yaml.load(text, Loader=LOADER))
    except Exception as exc:  # noqa: BLE001 - any parser error
        return ("error", type(exc).__name__)


def _typed(value):
    """``value`` with each leaf's type, so that 1 == 1.0 == True do not pass for one another."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    return (type(value).__name__, value if value == value else "nan")


def _same(text):
    mine = plainyaml.load(text)
    if mine is plainyaml.NOT_PLAIN:
        return False
    assert _pyyaml(text) == ("ok", mine), text
    assert _typed(_pyyaml(text)[1]) == _typed(mine), text
    return True


@settings(max_examples=600, deadline=None)
@given(documents())
def test_plain_yaml_reads_as_pyyaml_does(text):
    _same(text)


def test_plain_yaml_reads_as_pyyaml_does_the_documents_it_is_for():
    read = []

    @settings(max_examples=600, deadline=None)
    @given(documents(tuple(PLAIN), odd=False))
    def compare(text):
        read.append(_same(text))

    compare()
    assert sum(read) > len(read) / 5  # not vacuous: many were read without PyYAML (duplicate keys are not)


def test_plain_yaml_reads_the_usual_params_files():
    text = "lr: 0.001\nbatch_size: 32\nmodel:\n  depth: 3\n  act: relu  # why\n  drop: null\nseed: 7\nname: 'run a'\n"
    assert plainyaml.load(text) == yaml.load(text, Loader=LOADER)
    assert plainyaml.load("a:\n  b:\n    c: 1\n  d: 2\ne: 3\n") == {"a": {"b": {"c": 1}, "d": 2}, "e": 3}
    for text in ("a: 1e-05\n", "a: [1]\n", "a: 1\na: 2\n", "- 1\n", "a: 0x1\n", "a: 2023-01-01\n", "a: yes\n" * 0 or
                 "yes: 1\n", "a:\n\tb: 1\n", "a: 1\n  b: 2\n"):
        assert plainyaml.load(text) is plainyaml.NOT_PLAIN, text


def test_results_parse_gives_the_same_either_way():
    for text in ("a: 1e-05\n", "lr: 0.1\nopt: adam\n", "a: 1\na: 2\n"):
        assert results.parse("params.yaml", text.encode()) == yaml.load(text, Loader=LOADER)


def _flat_same(text):
    """``load_flat`` gives what ``results.flatten`` makes of ``load``, or NOT_PLAIN when
    ``load`` does; types included."""
    whole = plainyaml.load(text)
    flat = plainyaml.load_flat(text, "params", results.MAX_VALUES, results.MAX_DEPTH)
    if whole is plainyaml.NOT_PLAIN:
        assert flat is plainyaml.NOT_PLAIN, text
        return False
    expected: dict = {}
    results.flatten(whole, "params", expected)
    assert flat is not plainyaml.NOT_PLAIN, text
    assert list(flat.items()) == list(expected.items()) and _typed(flat) == _typed(expected), text
    return True


def test_flat_reading_is_load_then_flatten():
    read = []

    # derandomized: the same 600 documents each run, so that the share of plain ones (the
    # check below that the comparison is not vacuous) does not depend on the draw (114 of
    # 1,200 once, under the 1/10 asked)
    @settings(max_examples=600, deadline=None, derandomize=True)
    @given(st.one_of(documents(), documents(tuple(PLAIN), odd=False)))
    def compare(text):
        read.append(_flat_same(text))
        read.append(_flat_same(text))  # the second time from the remembered lines

    compare()
    assert sum(read) > len(read) / 10  # not vacuous


def test_flat_reading_leaves_documents_past_the_limits_to_pyyaml():
    deep = "".join(" " * i + f"k{i}:\n" for i in range(5)) + " " * 5 + "x: 1\n"
    assert plainyaml.load_flat(deep, "p", 100, 6) == {"p.k0.k1.k2.k3.k4.x": 1}
    assert plainyaml.load_flat(deep, "p", 100, 5) is plainyaml.NOT_PLAIN
    many = "".join(f"k{i}: {i}\n" for i in range(10))
    assert len(plainyaml.load_flat(many, "p", 10, 100)) == 10
    assert plainyaml.load_flat(many, "p", 9, 100) is plainyaml.NOT_PLAIN
    over = "".join(f"k{i}: 1\n" for i in range(results.MAX_VALUES + 1)).encode()
    flat: dict = {}
    assert not results._plain_cells("oid", "params.yaml", ["params"], over, flat) and not flat  # PyYAML's way says why
    assert results._plain_cells("oid", "params.yaml", ["params"], many.encode(), flat)
    assert flat[("oid", "params.yaml", "params")]["params.k9"] == 9
