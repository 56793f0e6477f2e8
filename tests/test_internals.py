"""Small building blocks of the fast paths: Record, sha_map, render.grid, render.json_text."""
import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_exp import render
from git_exp.commands.push import Outcome
from git_exp.remotes import Remote
from git_exp.repo import Exp, sha_map

from .conftest import git


def test_record_fields_defaults_equality():
    exp = Exp("a", "1" * 40, [], 5, "subject")
    assert (exp.trailers, exp.ref) == ({}, "")
    assert exp == Exp(name="a", sha="1" * 40, parents=[], created=5, subject="subject", trailers={})
    assert exp != Exp("a", "2" * 40, [], 5, "subject")
    assert Exp("a", "1" * 40, [], 5, "s").trailers is not Exp("b", "1" * 40, [], 5, "s").trailers
    with pytest.raises(TypeError):
        Exp("a", "1" * 40)  # missing fields
    with pytest.raises(TypeError):
        Exp("a", "1" * 40, [], 5, "s", colour="red")
    assert Outcome("a", "new") == Outcome("a", "new", "") and Outcome("a", "new").detail == ""
    assert "https://***@host/x" in repr(Remote("origin", "https://user:token@host/x"))
    assert {Remote("o", "u"), Remote("o", "u")} == {Remote("o", "u")}


def test_sha_map_fast_and_careful_paths(repo):
    head = git(repo, "rev-parse", "HEAD").strip()
    for name in ("a", "sweep/1", "sweep/2"):
        git(repo, "update-ref", f"refs/exp/{name}", head)
    git(repo, "update-ref", "refs/other/refs/exp/x", head)
    listed = git(repo, "ls-remote", ".", "refs/exp/*")  # tail match: lists refs/other/refs/exp/x too
    assert "refs/other/refs/exp/x" in listed
    assert sha_map(listed, "refs/exp/") == {"a": head, "sweep/1": head, "sweep/2": head}
    local = git(repo, "for-each-ref", "--format=%(objectname)%09%(refname)", "refs/exp/")
    assert sha_map(local, "refs/exp/") == {"a": head, "sweep/1": head, "sweep/2": head}
    assert sha_map("", "refs/exp/") == {}


def test_grid_aligns_and_trims():
    text = render.grid([["a", "long-name"], ["x", "%s"], ["1", ""]], ["name", "state", "n"])
    assert text == "name       state  n\na          x      1\nlong-name  %s\n"
    assert render.grid([[]], ["name"]) == "" and render.grid([], ["name"]) == ""
    rows = [{"name": "a", "n": None, "x": 1.5}, {"name": "bb", "n": "q", "x": True}]
    assert render.table(rows, ["name", "n", "x"]) == "name  n  x\na     -  1.5\nbb    q  true\n"


ROW_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.integers(), max_size=3), st.dates())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=8), ROW_VALUES, max_size=6), min_size=101, max_size=103))
def test_json_text_writes_what_json_writes(rows):
    """Long lists are written row by row, plain rows without the json module: byte for
    byte what json.dumps(row, default=str) gives, whatever the values."""
    expected = "[\n" + ",\n".join(json.dumps(row, default=str) for row in rows) + "\n]\n"
    assert render.json_text(rows) == expected


def test_json_text_without_the_c_encoder_writes_the_same(monkeypatch):
    """Where ``_json`` cannot be imported, the json module writes the same rows."""
    rows = [{"name": f"e{i}", "lr": i / 10, "n": i, "ok": i % 2 == 0, "x": None, "u": "caf\u00e9"} for i in range(200)]
    fast = render.json_text(rows)
    monkeypatch.setitem(sys.modules, "_json", None)  # import _json now raises ImportError
    assert render.json_text(rows) == fast == "[\n" + ",\n".join(map(json.dumps, rows)) + "\n]\n"


ODD_NAMES = ("no\u00a0break", "line\u2028sep", "ideo\u3000space", "plain")


def test_listings_keep_names_with_unicode_white_space(repo, exp):
    """git allows a no-break space (or any non-ASCII white space) in a ref name: every
    fast path that splits listings splits on tabs, spaces and newlines only."""
    head = git(repo, "rev-parse", "HEAD").strip()
    for name in ODD_NAMES:
        git(repo, "update-ref", f"refs/exp/{name}", head)
    want = {name: head for name in ODD_NAMES}
    local = git(repo, "for-each-ref", "--format=%(objectname)%09%(refname)", "refs/exp/")
    assert sha_map(local, "refs/exp/") == want
    listed = json.loads(exp("ls", "--json", cwd=repo).out)
    assert {row["name"]: row["sha"] for row in listed} == want
    remote = repo.parent / "odd.git"
    git(repo.parent, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "odd", str(remote))
    assert exp("push", "odd", "--all", cwd=repo).code == 0
    states = json.loads(exp("ls", "odd", "--json", cwd=repo).out)
    assert {row["name"]: row["state"] for row in states} == {name: "same" for name in ODD_NAMES}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="ab/é-x\u00a0", min_size=1, max_size=12),
                          st.sampled_from(["same", "remote-only", "local-only", "diverged", "differs (not fetched)"]),
                          st.sampled_from([None, "1" * 40, "2" * 40]), st.sampled_from([None, "3" * 40, "4" * 64])),
                min_size=1, max_size=20), st.booleans())
def test_ls_remote_table_is_the_grid_of_its_columns(rows, agree):
    """``ls REMOTE``'s table, made a column at a time, is ``render.grid`` of its columns."""
    from git_exp.present.ls import remote_table

    names, states, mine, theirs = (list(column) for column in zip(*rows))
    if agree:
        theirs = mine
    short = [[sha[:7] if sha else "-" for sha in shas] for shas in (mine, theirs)]
    assert remote_table(names, states, mine, theirs) == render.grid([names, states, *short],
                                                                     ["name", "state", "local", "remote"])
