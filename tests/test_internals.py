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


def test_push_reads_its_local_refs_in_one_listing_as_three_would_have(repo):
    """``push.start_local`` lists experiments, DVC's refs, our notes and the remote's as
    last fetched in one for-each-ref; ``local_listing`` splits it into what the separate
    listings said: ``Repo.start_refs``, ``dvc.listed``, ``notesync._refs``."""
    from git_exp import dvc, notesync
    from git_exp.commands.push import Here, local_listing, start_local
    from git_exp.remotes import our_listing
    from git_exp.repo import Repo, usable

    head = git(repo, "rev-parse", "HEAD").strip()
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    other = git(repo, "commit-tree", "-p", head, "-m", "other", tree).strip()
    origin, url = Remote("origin", "/x.git"), Remote("/x.git", "/x.git", stage="refs/exp-staging/1-ab/")

    def both(remote: Remote):
        found = Repo()
        ours, here = local_listing(start_local(remote.name if remote.configured else None, found), remote)
        assert ours == found.start_refs().wait().out and usable(ours) == our_listing(found.start_refs())
        assert (here.notes, here.known) == notesync._refs(found, remote)
        assert dvc.listed(found, text=here.dvc) == dvc.listed(found)
        return ours, here

    assert both(origin) == ("", Here(None, None, ""))
    for name in ("a", "sweep/1", "z\u00a0z", "ü"):
        git(repo, "update-ref", f"refs/exp/{name}", head)
    git(repo, "symbolic-ref", "refs/exp/link", "refs/heads/main")  # no experiment: left out
    ours, here = both(origin)
    assert sha_map(ours, "refs/exp/") == {"a": head, "sweep/1": head, "z\u00a0z": head, "ü": head}
    assert here == Here(None, None, "")
    git(repo, "update-ref", "refs/notes/remote-exp/origin", other)  # theirs as fetched, none of ours
    assert both(origin)[1] == Here(None, other, "")
    git(repo, "update-ref", "refs/notes/exp", head)
    git(repo, "update-ref", "refs/notes/remote-exp/elsewhere", head)
    assert both(origin)[1] == Here(head, other, "")
    assert both(url)[1] == Here(head, None, "")  # a URL's notes are never tracked here
    dvc_ref = f"refs/exps/{head[:2]}/{head[2:]}/ionic-pump"
    git(repo, "update-ref", dvc_ref, other)
    git(repo, "update-ref", "refs/exps/stash", other)  # DVC's own: not an experiment
    ours, here = both(origin)
    assert sha_map(ours, "refs/exp/") == {"a": head, "sweep/1": head, "z\u00a0z": head, "ü": head}
    assert dvc.listed(Repo(), text=here.dvc) == {dvc_ref: other} and here.notes == head


def test_nothing_to_push_reads_no_colours_and_imports_neither_shutil_nor_the_cache(repo, tmp_path):
    """A push with nothing to send prints no line to colour: it runs no ``git config`` for
    colours and imports none of what only sending, merging notes or a screenful needs."""
    import os
    import subprocess
    from pathlib import Path

    from git_exp.commands.push import Outcome, Pushed
    from git_exp.present import share

    git(repo, "update-ref", "refs/exp/a", git(repo, "rev-parse", "HEAD").strip())
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    git(repo, "remote", "add", "origin", str(tmp_path / "remote.git"))
    git(repo, "push", "-q", "origin", "refs/exp/*:refs/exp/*")
    heavy = ("shutil", "git_exp.cache", "git_exp.notes", "git_exp.commands.pull", "subprocess", "typer", "git_exp.terminal",
             "git_exp.dvc_share", "git_exp.tombstones")
    code = ("import sys; from git_exp.cli import main; code = main(sys.argv[1:]); "
            f"sys.stdout.write(repr(sorted(m for m in {heavy!r} if m in sys.modules))); sys.exit(code)")
    env = {**os.environ, "PYTHONPATH": str(Path(render.__file__).parents[1])}  # this checkout's package
    ran = subprocess.run([sys.executable, "-c", code, "push", "origin", "--all"], cwd=repo, capture_output=True,
                         text=True, env=env)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "[]", "1 experiment already up to date\n"), ran

    def no_colours():
        raise AssertionError("read colours for no line")

    done = Pushed()
    done.already = 3
    assert share.pushed(done, "origin", no_colours) == 0
    asked = []
    assert share.pushed(Pushed([Outcome("b", "rejected", "fetch first")]), "origin",
                        lambda: asked.append(1) or {"rejected": "<red>"}) == 1
    assert asked == [1]


def test_the_rows_listing_is_split_once_unless_a_symbolic_ref_or_an_odd_name_is_in_it():
    """``rows.fields``: two fields a line, symbolic refs and names that are not UTF-8 left
    out; a name with a non-ASCII space (git allows it) is one field, not two."""
    from git_exp.rows import fields

    a, b = "a" * 40, "b" * 40
    assert fields(f"{a}\trefs/exp/x\t\n{b}\trefs/exp/y\t\n") == [a, "refs/exp/x", b, "refs/exp/y"]
    assert fields("") == []
    assert fields(f"{a}\trefs/exp/x\t\n{b}\trefs/exp/link\trefs/heads/main\n") == [a, "refs/exp/x"]
    assert fields(f"{a}\trefs/exp/lr\u00a00.1\t\n{b}\trefs/exp/y\t\n") == [a, "refs/exp/lr\u00a00.1", b, "refs/exp/y"]
    odd = b"\xff".decode("utf-8", "surrogateescape")
    assert fields(f"{a}\trefs/exp/{odd}\t\n{b}\trefs/exp/y\t\n") == [b, "refs/exp/y"]
