"""The caches' versions are computed, not bumped by hand: from ``cache.FORMAT`` and the
source of the modules that decide what an entry holds (pinned here: a cache that comes
to depend on another module must name it), keyed by the configuration that changes
entries (file lists, size limit, ``trailer.*``)."""
import json
import os

from git_exp import cache, history, results, rows
from git_exp.commands import ls
from git_exp.present import show as present_show

from .conftest import git


def test_each_cache_names_the_code_it_depends_on():
    assert rows.CACHE_VERSION == cache.version("rows.py", "repo.py")  # heads.marshal
    assert ls.CACHE_VERSION == cache.version("commands/ls.py")  # commits.marshal
    assert results.RowCache.VERSION == cache.version("results.py", "plainyaml.py")  # rows.marshal
    assert history.CACHE_VERSION == cache.version("history.py", "results.py", "plainyaml.py")  # history.marshal
    assert present_show.LINES_VERSION == cache.version("present/show.py", "present/rows.py", "render.py")


def test_a_version_changes_with_the_source_and_the_format(tmp_path, monkeypatch):
    (tmp_path / "parse.py").write_text("LIMIT = 10\n")
    monkeypatch.setattr(cache, "__file__", str(tmp_path / "cache.py"))
    first = cache.version("parse.py")
    assert cache.version("parse.py") == first  # the same code: the same version
    (tmp_path / "parse.py").write_text("LIMIT = 11\n")
    second = cache.version("parse.py")
    assert second != first
    monkeypatch.setattr(cache, "FORMAT", cache.FORMAT + 1)
    assert cache.version("parse.py") not in (first, second)
    assert cache.version("gone.py") == cache.version("gone.py")  # unreadable source: by name and release


def _exit_code_trailer_with_equals(repo):
    """An experiment whose exit code is a trailer only when ``=`` separates trailers."""
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    commit = git(repo, "commit-tree", tree, "-p", "HEAD", "-m", "x\n\nExp-Exit-Code= 3").strip()
    git(repo, "update-ref", "refs/exp/eq", commit)


def test_trailer_settings_invalidate_what_was_read_under_others(repo, exp):
    _exit_code_trailer_with_equals(repo)
    for _ in range(2):  # cold, then warm
        assert json.loads(exp("ls", "--json").out)[0]["exit_code"] is None
        assert json.loads(exp("show", "--json").out)[0]["exit_code"] is None
    git(repo, "config", "trailer.separators", "=:")
    for _ in range(2):
        assert json.loads(exp("ls", "--json").out)[0]["exit_code"] == 3
        row = json.loads(exp("show", "--json").out)[0]
        assert row["exit_code"] == 3 and row["status"] == "failed"
    git(repo, "config", "--unset", "trailer.separators")
    assert json.loads(exp("ls", "--json").out)[0]["exit_code"] is None
    assert json.loads(exp("show", "--json").out)[0]["exit_code"] is None


def test_gc_clears_every_cache_file(repo, exp):
    _exit_code_trailer_with_equals(repo)
    exp("ls")
    exp("show", "--json")
    where = os.path.join(repo, ".git", "git-exp")
    assert os.listdir(where)
    exp("gc")
    assert not [name for name in os.listdir(where) if name in cache.FILES]
