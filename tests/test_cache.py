"""One file of commit facts whose version is computed, not bumped by hand: from
``cache.FORMAT`` and the source of the modules that decide what an entry holds (pinned
here: a fact that comes to depend on another module must name it), each section keyed by
the configuration that changes its entries (file lists, size limit, ``trailer.*``)."""
import json
import os

from git_exp import cache, history, results, rows
from git_exp.commands import ls
from git_exp.present import show as present_show

from .conftest import git


def test_one_version_names_the_code_every_fact_depends_on():
    assert cache.MODULES == ("cache.py", "rows.py", "repo.py", "commands/ls.py", "results.py", "plainyaml.py",
                             "history.py", "notes.py", "present/show.py", "present/rows.py", "render.py",
                             "commands/show_cold.py")
    assert cache.VERSION == cache.version(*cache.MODULES)
    from git_exp import cache as again  # every reader and writer shares it: nothing else keeps a version

    assert not [name for name in dir(rows) + dir(results) + dir(history) + dir(ls) + dir(present_show)
                if "VERSION" in name and name != "FORMAT"] and again.VERSION == cache.VERSION


def test_the_facts_are_one_file_each_section_read_alone(tmp_path):
    """Sections are written together at the end (``flush``), read one at a time, and a
    section saved again replaces only itself; another key reads as empty."""
    heads, files = cache.at(str(tmp_path), "heads"), cache.at(str(tmp_path), "files")
    cache.save(heads, {"a" * 40: (1, "x")}, "k1")
    cache.save(files, {"a" * 40: {"params.lr": 0.1}}, ("params.yaml",))
    assert cache.load(heads, "k1") == {"a" * 40: (1, "x")}  # before the write too
    assert not os.path.exists(cache.path(str(tmp_path)))
    cache.flush()
    assert os.listdir(tmp_path / "git-exp") == [cache.NAME] and cache.sections(str(tmp_path)) == ["heads", "files"]
    cache.save(heads, {"b" * 40: (2, "y")}, "k2")
    cache.flush()
    assert cache.load(heads, "k1") == {} and cache.load(heads, "k2") == {"b" * 40: (2, "y")}
    assert cache.load(files, ("params.yaml",)) == {"a" * 40: {"params.lr": 0.1}}  # copied as it was
    assert cache.load(files, ("params.yml",)) == {}
    cache.clear(str(tmp_path))
    assert cache.sections(str(tmp_path)) == [] and os.listdir(tmp_path / "git-exp") == []


def test_a_section_written_in_pieces_by_two_processes_reads_back_as_one_dict(tmp_path):
    """``Pieces``: entries written a piece at a time, by this process and a forked one,
    each to its own part file, are one section once flushed (the part files gone); a
    part file gone before the flush drops that section only, and the sections beside it
    are kept."""
    files, lines = cache.at(str(tmp_path), "files"), cache.at(str(tmp_path), "lines")
    cache.save(cache.at(str(tmp_path), "heads"), {"h" * 40: (1, "x")}, "k")
    mine = cache.Pieces(files)
    mine.add({"a" * 40: {"params.lr": 0.1, "params.name": "x"}, "b" * 40: {}})
    mine.add({"c" * 40: {"metrics.acc": [1, 2.5, None, True]}})
    read, write = os.pipe()
    pid = os.fork()
    if not pid:  # the child writes its own part and says where
        theirs = cache.Pieces(files)
        theirs.add({"d" * 40: {"params.lr": 0.2}})
        os.write(write, theirs.close().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    theirs = os.read(read, 4096).decode()
    os.close(read)
    assert str(pid) in theirs and os.path.exists(theirs)
    cache.save_parts(files, ("params.yaml",), [mine.close(), theirs, None])
    assert cache.load(files, ("params.yaml",))["d" * 40] == {"params.lr": 0.2}  # pending: read from the parts
    cache.flush()
    assert cache.load(files, ("params.yaml",)) == {"a" * 40: {"params.lr": 0.1, "params.name": "x"}, "b" * 40: {},
                                                   "c" * 40: {"metrics.acc": [1, 2.5, None, True]},
                                                   "d" * 40: {"params.lr": 0.2}}
    assert os.listdir(tmp_path / "git-exp") == [cache.NAME]
    gone = cache.Pieces(lines)
    gone.add({"e" * 40: "a line"})
    cache.save_parts(lines, "k", [gone.close()])
    os.remove(gone.part)
    cache.flush()
    assert cache.sections(str(tmp_path)) == ["heads", "files"] and cache.load(lines, "k") == {}
    assert cache.load(files, ("params.yaml",))["c" * 40] == {"metrics.acc": [1, 2.5, None, True]}


def test_a_facts_file_of_another_version_or_damaged_reads_as_empty(tmp_path, monkeypatch):
    where = cache.at(str(tmp_path), "heads")
    cache.save(where, {"a" * 40: 1})
    cache.flush()
    monkeypatch.setattr(cache, "VERSION", cache.VERSION + 1)
    assert cache.load(where) == {} and cache.sections(str(tmp_path)) == []
    monkeypatch.undo()
    assert cache.load(where) == {"a" * 40: 1}
    raw = open(cache.path(str(tmp_path)), "rb").read()
    for damaged in (raw[:-3], raw[:len(cache.MAGIC) + 3], b"x" + raw[1:], raw[:len(cache.MAGIC)] + b"\xff" * 8 + raw[24:]):
        with open(cache.path(str(tmp_path)), "wb") as f:
            f.write(damaged)
        assert cache.load(where) == {}
        cache.save(cache.at(str(tmp_path), "files"), {"b" * 40: 2})
        cache.flush()  # written afresh, the damaged section left out
        assert cache.load(where) == {} and cache.load(cache.at(str(tmp_path), "files")) == {"b" * 40: 2}


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
    assert cache.NAME in cache.FILES and "heads.marshal" in cache.FILES  # and those of earlier releases
