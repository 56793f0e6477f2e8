import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_exp import names
from git_exp.errors import UsageError

from .conftest import assert_error, exp_refs

BAD = ["../x", "a b", "a..b", "-rf", "x.lock", "@{u}", "a\x01b", "tab\there", "", "x" * 300,
       "a/", "/a", "a//b", ".hidden", "a/.b", "end.", "q?", "st*r", "br[ack", "back\\slash", "co:lon",
       "ti~lde", "car^et", "del\x7f"]


@pytest.mark.parametrize("name", BAD)
def test_invalid_names_are_refused(name):
    assert names.problem(name)
    with pytest.raises(UsageError):
        names.ExpName(name)


@pytest.mark.parametrize("name", ["lr-0.1", "ci/123", "alice/lr-sweep/1", "a.b", "ünïcödé", "@", "x" * 200])
def test_valid_names(name):
    assert names.problem(name) is None


def _git_accepts(name: str) -> bool:
    return subprocess.run(["git", "check-ref-format", f"refs/exp/{name}"], capture_output=True).returncode == 0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x7f), max_size=12)
       | st.text(alphabet="ab./-@{}*: ~^", max_size=8))
def test_validation_agrees_with_git(name):
    ours = names.problem(name) is None
    if ours:
        assert _git_accepts(name), name
    elif not name.startswith("-") and len(name.encode()) <= names.MAX_BYTES and name:
        assert not _git_accepts(name), name


@pytest.mark.parametrize("name", ["../x", "a b", "a..b", "-rf", "x.lock", "@{u}", "a\x01b", "", "x" * 300])
def test_save_with_invalid_name_exits_2_and_creates_nothing(repo, exp, name):
    ran = exp("save", "-n", name)
    assert_error(ran, 2, "invalid experiment name")
    assert exp_refs(repo) == {}


def test_file_directory_conflict_both_ways(repo, exp):
    assert exp("save", "-n", "a/b").code == 0
    assert_error(exp("save", "-n", "a"), 2, "'a/b' exists")
    assert exp("save", "-n", "c").code == 0
    assert_error(exp("save", "-n", "c/d"), 2, "'c' exists")
    assert sorted(exp_refs(repo)) == ["a/b", "c"]
    assert_error(exp("save", "-n", "c/d/e"), 2, "'c' exists")  # a parent two levels up
    assert exp("save", "-n", "a/c").code == 0  # a sibling is no clash
    assert exp("save", "-n", "a/b", "--force").code == 0
    assert sorted(exp_refs(repo)) == ["a/b", "a/c", "c"]


def test_generated_names_shape_and_uniqueness():
    sha = "abcdef0123456789" * 2 + "abcdef01"
    first = names.generate(sha, [])
    adjective, noun, tail = first.split("-")
    assert adjective in names.ADJECTIVES and noun in names.NOUNS and tail == "abcd"
    second = names.generate(sha, [first])
    assert second == f"{adjective}-{noun}-abcde"


def test_select_globs_cross_slashes():
    chosen, unmatched = names.select(["ci/1", "ci/2", "sweep/a/1", "x"], ["ci/*", "sweep/*", "nope*"])
    assert chosen == ["ci/1", "ci/2", "sweep/a/1"]
    assert unmatched == ["nope*"]


def test_clashes_both_directions_str_and_bytes():
    clashes = names.Clashes(["a/b", "c", "sweep/x/1"])
    assert clashes.find("a") == "a/b"
    assert clashes.find("c/d") == "c"
    assert clashes.find("sweep/x") == "sweep/x/1"
    assert clashes.find("sweep/y") is None and clashes.find("a-b") is None
    raw = names.Clashes([b"refs/exp/a/b"])
    assert raw.find(b"refs/exp/a") == b"refs/exp/a/b" and raw.find(b"refs/exp/ab") is None


def test_all_valid_and_clash_free_agree_with_the_checks_one_by_one():
    """``all_valid`` is True only when ``problem`` finds nothing in any name, and
    ``clash_free`` only when no name is a directory of another."""
    from git_exp.names import Clashes, all_valid, clash_free, problem

    good = ["a", "sweep/lr-0.1", "ci/123/b", "x" * 200, "a.b/c-d_e@f"]
    assert all_valid(good) and not any(problem(n) for n in good)
    assert all_valid(["é/ü", "ab/" + "é" * 47]) and not all_valid(["é", "x" * 60])  # bytes unknown: one by one
    bad = ["", "-x", "a..b", "a@{b", "a.", "a/", "a//b", "/a", ".a", "a/.b", "x.lock", "x.lock/y", "a b", "a\tb",
           "a~b", "a^b", "a:b", "a?b", "a*b", "a[b", "a\\b", "a\x7fb", "a\x85b", "a\u202eb", "x" * 201,
           "é" * 101, "a" + b"\xff".decode("utf-8", "surrogateescape")]
    for name in bad:
        assert problem(name), name
        assert not all_valid(["ok", name, "fine/too"]), name
    for group in (["a", "a/b"], ["x/y", "x/y/z/w"], ["a/b", "a"], ["p/q", "p-q", "p"]):
        assert not clash_free(group) and any(Clashes(set(group) - {n}).find(n) for n in group), group
    for group in (["a", "ab/c", "a-b/c"], ["x/y", "x/z", "xy"], [], ["one"]):
        assert clash_free(group) and not any(Clashes(set(group) - {n}).find(n) for n in group), group


STRUCTURE = st.lists(st.sampled_from([*"ab./-@{é", ".lock"]), max_size=8).map("".join)  # the rules' shapes
ANY = st.text(alphabet=st.sampled_from(list("ab./-@{}~^:?*[\\ \t\x7fé\x85\u202e")), max_size=10)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(STRUCTURE, STRUCTURE, ANY), min_size=1, max_size=3))
def test_all_valid_never_passes_a_name_problem_refuses(names):
    """Drawn names over the characters the rules are about: ``all_valid`` says True only
    when ``problem`` finds nothing in every one (it is a shortcut, never a second rule)."""
    from git_exp.names import all_valid, problem

    if all_valid(names):
        assert not any(problem(n) for n in names), names
