"""A selection costs what it selects: ``show PATTERN`` lists only the refs the pattern's
literal start names (``rows.narrowed``) and reads only the commits it selects."""
import fnmatch
import json
import shutil

import pytest

from git_exp import results, rows

from .conftest import assert_error, git, write

NAMES = ("a/1", "a/10", "a/1x/deep", "a/2", "b/1", "ab")


@pytest.fixture
def named(repo, exp):
    for i, name in enumerate(NAMES):
        write(repo, {"params.yaml": f"lr: 0.{i + 1}\n", "metrics.json": json.dumps({"acc": i / 10})})
        assert exp("save", "-n", name).code == 0
    return repo


def _rows(exp, *args):
    ran = exp("show", "--json", *args)
    assert ran.code == 0, ran
    return {row["name"]: row for row in json.loads(ran.out)}


def _clear(repo):
    shutil.rmtree(repo / ".git" / "git-exp", ignore_errors=True)


@pytest.mark.parametrize("patterns", [["a/1*"], ["a*"], ["a/1x/deep"], ["a/?"], ["a/[12]"], ["a/1", "b/*"], ["*1"]])
def test_a_selection_shows_what_the_whole_listing_selects(named, exp, patterns):
    _clear(named)
    selected = _rows(exp, *patterns)  # cold: the narrowed listing alone
    everything = _rows(exp)
    want = {name for name in NAMES if any(fnmatch.fnmatchcase(name, p) for p in patterns)}
    assert set(selected) == want and want
    assert all(selected[name] == everything[name] for name in want)
    assert set(everything) == set(NAMES)
    assert _rows(exp, *patterns) == selected  # warm: from the caches


def test_a_selection_first_leaves_the_caches_whole(named, exp):
    _clear(named)
    assert set(_rows(exp, "a/1*")) == {"a/1", "a/10", "a/1x/deep"}
    assert set(_rows(exp)) == set(NAMES)
    assert set(_rows(exp, "b/*")) == {"b/1"}


def test_a_selection_reads_only_the_commits_it_may_select(named, exp, monkeypatch):
    loaded, asked = [], []
    real_load, real_read = rows.load, results.read

    def load(*args, **kwargs):
        loaded.append({row["name"] for row in real_load(*args, **kwargs)})
        return real_load(*args, **kwargs)

    def read(repo, commits, *args, **kwargs):
        asked.append(set(commits))
        return real_read(repo, commits, *args, **kwargs)

    monkeypatch.setattr(rows, "load", load)
    monkeypatch.setattr(results, "read", read)
    _clear(named)
    chosen = {"a/1", "a/10", "a/1x/deep"}
    assert set(_rows(exp, "a/1*")) == chosen
    shas = {git(named, "rev-parse", f"refs/exp/{n}").strip() for n in chosen}
    assert loaded == [chosen]  # not the others' commits: their refs were not even listed
    assert asked and all(commits <= shas for commits in asked)


def test_a_pattern_matching_nothing_is_still_refused(named, exp):
    assert_error(exp("show", "a/3*"), 2, "no experiment matches", "a/3*")
    assert_error(exp("show", "zz"), 2, "no experiment matches", "zz")


def test_narrowed_patterns():
    assert rows.narrowed(["sweep/1*"]) == ["refs/exp/sweep/1*", "refs/exp/sweep/1*/**"]
    assert rows.narrowed(["lr-0.1"]) == ["refs/exp/lr-0.1"]
    assert rows.narrowed(["a/[12]"]) == ["refs/exp/a/*", "refs/exp/a/*/**"]
    assert rows.narrowed(["*1"]) is None and rows.narrowed([]) is None
    assert rows.narrowed(["a*"], remotes=True) is None
    assert rows.narrowed(["d*"])[-1] == "refs/exps/"  # may name a DVC experiment, dvc:NAME
    assert "refs/exps/" not in rows.narrowed(["e*"])


def test_the_commits_are_read_by_prefix_not_by_name(named, exp, monkeypatch):
    """Cold, the rows are read by one ``for-each-ref`` of the prefix (or the narrowed
    patterns), never by naming every listed ref (argv would overflow at 100k)."""
    from git_exp import git

    started = []
    real = git.start

    def start(*args, **kwargs):
        started.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(git, "start", start)
    for patterns in ([], ["a/1*"]):
        started.clear()
        _clear(named)
        assert _rows(exp, *patterns)
        listings = [args[args.index("--") + 1:] for args in started if args[0] == "for-each-ref"]
        assert listings and all(len(refs) <= 4 for refs in listings), listings


def test_a_few_selected_are_read_without_loading_the_cache_files(named, exp, monkeypatch):
    """Warm, a selection of a few (``rows.FEW``) reads just them: loading a cache file
    costs what every experiment costs (~0.2 s at 100k), reading 10 commits ~10 ms."""
    from git_exp import cache

    everything = _rows(exp)  # fills every cache
    opened = []
    real = cache.load

    def load(where, *args, **kwargs):
        if where is not None:
            opened.append(where.section)
        return real(where, *args, **kwargs)

    monkeypatch.setattr(cache, "load", load)
    selected = _rows(exp, "a/1*")
    assert selected == {name: everything[name] for name in ("a/1", "a/10", "a/1x/deep")}
    assert opened == []
    _rows(exp)
    assert "heads" in opened  # the whole listing still reads the caches


def test_a_tag_pattern_is_not_narrowed_to_names(named, exp):
    assert exp("tag", "a/2", "best").code == 0
    assert set(_rows(exp, "tag:best")) == {"a/2"}
    assert set(_rows(exp, "tag:best", "b/*")) == {"a/2", "b/1"}
