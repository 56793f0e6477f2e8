"""`run --isolated` sees the ignored inputs of the work tree (git_exp/isolate.py)."""
import json
import os
import sys
from pathlib import Path

import pytest

from .conftest import assert_error, exp_refs, git, write

# What the command saw, as JSON in seen.json: for each path, how it is there (or absent).
LOOK = """
import json, os, sys
seen = {}
for path in sys.argv[1:]:
    if os.path.islink(path):
        seen[path] = "symlink"
    elif os.path.isdir(path):
        seen[path] = "dir"
    elif os.path.isfile(path):
        seen[path] = open(path).read()
    else:
        seen[path] = None
json.dump(seen, open("seen.json", "w"), sort_keys=True)
"""


def look(*paths):
    return [sys.executable, "-c", LOOK, *paths]


def seen(repo, name):
    return json.loads(git(repo, "show", f"refs/exp/{name}:seen.json"))


@pytest.fixture
def data_repo(repo):
    """``repo`` with an ignored data directory, junk and a cache beside the tracked files."""
    write(repo, {".gitignore": "data/\n__pycache__/\n.venv/\ncache/\n*.log\n"})
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore")
    write(repo, {"data/train.csv": "1,2\n", "data/big/part-0.bin": "p0", "cache/c.tmp": "c",
                 "src/__pycache__/m.pyc": "pyc", ".venv/bin/tool": "t", "run.log": "l"})
    return repo


def test_isolated_run_sees_ignored_inputs_and_leaves_them_alone(data_repo, exp):
    repo = data_repo
    train = (repo / "data/train.csv").stat()
    script = ("import json, os; rows = open('data/train.csv').read().split(','); "
              "os.makedirs('data/out', exist_ok=True); open('data/out/cache.bin', 'w').write('x'); "
              "open('model.txt', 'w').write('trained on %d' % len(rows)); "
              "json.dump({'rows': len(rows)}, open('metrics.json', 'w'))")
    before = git(repo, "status", "--porcelain", "--ignored")
    ran = exp("run", "-n", "iso", "--isolated", "--", sys.executable, "-c", script)
    assert ran.code == 0, ran
    assert json.loads(git(repo, "show", "refs/exp/iso:metrics.json")) == {"rows": 2}
    assert git(repo, "show", "refs/exp/iso:model.txt") == "trained on 2"  # an untracked output goes in
    tree = git(repo, "ls-tree", "-r", "--name-only", "refs/exp/iso").split()
    assert not [p for p in tree if p.startswith(("data/", "cache/"))]  # ignored inputs and outputs stay out
    assert not (repo / "data/out").exists()  # what the run made stayed in its worktree
    assert (repo / "data/train.csv").read_text() == "1,2\n"
    assert (repo / "data/train.csv").stat().st_mtime_ns == train.st_mtime_ns
    assert git(repo, "status", "--porcelain", "--ignored") == before  # the worktree's removal took nothing of ours
    assert (repo / "data/big/part-0.bin").read_text() == "p0"
    assert git(repo, "worktree", "list").count("\n") == 1


def test_default_selection_leaves_out_caches_and_environments(data_repo, exp):
    paths = ["data/train.csv", "data/big/part-0.bin", "cache/c.tmp", "run.log", "src/__pycache__/m.pyc",
             ".venv/bin/tool", "src/__pycache__"]
    ran = exp("run", "-n", "dflt", "--isolated", "--", *look(*paths))
    assert ran.code == 0, ran
    got = seen(data_repo, "dflt")
    assert {p: got[p] for p in paths[:4]} == {"data/train.csv": "1,2\n", "data/big/part-0.bin": "p0",
                                              "cache/c.tmp": "c", "run.log": "l"}
    assert got["src/__pycache__/m.pyc"] is None and got[".venv/bin/tool"] is None and got["src/__pycache__"] is None


def test_exp_isolate_globs_choose_what_comes_in(data_repo, exp):
    repo = data_repo
    paths = ["data/train.csv", "data/big/part-0.bin", "cache/c.tmp", "run.log", ".venv/bin/tool"]
    git(repo, "config", "--add", "exp.isolate", "!*")  # nothing ...
    git(repo, "config", "--add", "exp.isolate", "data")  # ... but data/ ...
    git(repo, "config", "--add", "exp.isolate", "!data/big")  # ... without data/big/
    git(repo, "config", "--add", "exp.isolate", ".venv")  # and the environment after all
    ran = exp("run", "-n", "globs", "--isolated", "--", *look(*paths))
    assert ran.code == 0, ran
    assert seen(repo, "globs") == {"data/train.csv": "1,2\n", "data/big/part-0.bin": None, "cache/c.tmp": None,
                                   "run.log": None, ".venv/bin/tool": "t"}


def test_selection_rules():
    from git_exp.isolate import DEFAULT_GLOBS, Selection

    chosen = Selection([*DEFAULT_GLOBS, "!**/*.ckpt", "!data/raw", "data/raw/keep-*.csv"])
    assert chosen.wanted("data/a.csv") and chosen.wanted("notes.txt")
    assert not chosen.wanted("a/b/__pycache__/x.pyc") and not chosen.wanted("x.pyc")
    assert not chosen.wanted("models/last.ckpt") and not chosen.wanted("last.ckpt")
    assert not chosen.wanted("data/raw/x.csv") and chosen.wanted("data/raw/keep-1.csv")
    assert chosen.worth_entering("data/raw") and not chosen.worth_entering(".venv")
    only = Selection([*DEFAULT_GLOBS, "!*", "data/**/*.csv"])
    assert only.wanted("data/a/b.csv") and only.wanted("data/b.csv") and not only.wanted("data/b.txt")
    assert only.worth_entering("data") and not only.worth_entering("models")


def test_a_run_writing_into_an_input_is_told(data_repo, exp):
    """Through a hardlink or symlink the write reaches the user's file (as in a plain run),
    and run says so; on a filesystem with reflinks it reaches only the run's copy."""
    repo = data_repo
    ran = exp("run", "-n", "writes", "--isolated", "--", sys.executable, "-c",
              "open('data/train.csv', 'a').write('3\\n')")
    assert ran.code == 0, ran
    changed = (repo / "data/train.csv").read_text() != "1,2\n"
    warned = "ignored input of your work tree changed during the isolated run: 'data/train.csv'" in ran.err
    assert changed == warned, ran
    if warned:  # before the commit: the warning comes before the line that says it was saved
        assert ran.err.index("changed during the isolated run") < ran.err.index("saved experiment writes")


def test_worktree_on_another_filesystem_gets_symlinks(data_repo, exp, monkeypatch):
    shm = "/dev/shm"
    if not os.path.isdir(shm) or not os.access(shm, os.W_OK) or os.stat(shm).st_dev == data_repo.stat().st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the test's repository")
    monkeypatch.setenv("TMPDIR", shm)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    ran = exp("run", "-n", "far", "--isolated", "--", *look("data/train.csv", "data/big/part-0.bin"))
    assert ran.code == 0, ran
    got = seen(data_repo, "far")
    assert got == {"data/train.csv": "symlink", "data/big/part-0.bin": "symlink"}
    assert (data_repo / "data/train.csv").read_text() == "1,2\n"  # removing the worktree kept the originals
    assert not [p for p in os.listdir(shm) if p.startswith("git-exp-run-")]


def test_an_input_the_tree_tracks_is_the_tree_s(data_repo, exp):
    """A path the experiment's tree has (here an ignored file that is tracked) is never
    replaced by the user's ignored file of that name."""
    repo = data_repo
    write(repo, {"extra.log": "tracked\n"})
    git(repo, "add", "-f", "extra.log")
    git(repo, "commit", "-q", "-m", "track a log")
    ran = exp("run", "-n", "tracked", "--isolated", "--", *look("extra.log", "run.log"))
    assert ran.code == 0, ran
    assert seen(repo, "tracked") == {"extra.log": "tracked\n", "run.log": "l"}


def test_isolated_bad_glob_config_is_harmless(data_repo, exp):
    git(data_repo, "config", "--add", "exp.isolate", "!")  # empty after the '!': ignored
    ran = exp("run", "-n", "odd", "--isolated", "--", *look("data/train.csv"))
    assert ran.code == 0 and seen(data_repo, "odd") == {"data/train.csv": "1,2\n"}, ran


def test_isolated_without_commit_still_refused(tmp_path, exp):
    from .conftest import init_repo

    path = init_repo(tmp_path / "empty", files={"a": "a"}, commit=False)
    assert_error(exp("run", "--isolated", "--", "true", cwd=path), 2, "needs a commit")
    assert exp_refs(path) == {}


def test_exp_isolate_shared_links_a_directory_whole(data_repo, exp):
    repo = data_repo
    git(repo, "config", "--add", "exp.isolateShared", "data/big")
    ran = exp("run", "-n", "shared", "--isolated", "--", sys.executable, "-c",
              LOOK + "\nopen('data/big/made-by-run', 'w').write('r')\n", "data/big", "data/big/part-0.bin",
              "data/train.csv")
    assert ran.code == 0, ran
    assert seen(repo, "shared") == {"data/big": "symlink", "data/big/part-0.bin": "p0", "data/train.csv": "1,2\n"}
    assert (repo / "data/big/made-by-run").read_text() == "r"  # shared: the run wrote into your directory
    assert (repo / "data/big/part-0.bin").read_text() == "p0"  # and removing the worktree took nothing


REFLINK_DIR = os.environ.get("GIT_EXP_TEST_REFLINK_DIR")


@pytest.mark.skipif(not REFLINK_DIR, reason="set GIT_EXP_TEST_REFLINK_DIR to a directory on btrfs or XFS "
                                            "(mkfs.xfs -m reflink=1 on a loop image) to test reflinks")
def test_reflinked_inputs_are_copies(exp, monkeypatch):
    import tempfile

    from .conftest import init_repo

    base = tempfile.mkdtemp(dir=REFLINK_DIR)
    monkeypatch.setenv("TMPDIR", base)
    monkeypatch.setattr(tempfile, "tempdir", None)
    repo = init_repo(Path(base) / "repo", files={".gitignore": "data/\n"})
    write(repo, {"data/train.csv": "1,2\n"})
    mode = (repo / "data/train.csv").stat().st_mode
    script = ("import os, json; st = os.stat('data/train.csv'); open('data/train.csv', 'a').write('3'); "
              "json.dump({'nlink': st.st_nlink, 'mode': st.st_mode}, open('seen.json', 'w'))")
    ran = exp("run", "-n", "cow", "--isolated", "--", sys.executable, "-c", script, cwd=repo)
    assert ran.code == 0, ran
    assert json.loads(git(repo, "show", "refs/exp/cow:seen.json")) == {"nlink": 1, "mode": mode}
    assert (repo / "data/train.csv").read_text() == "1,2\n"  # the run wrote into its own copy
    assert "changed during the isolated run" not in ran.err
