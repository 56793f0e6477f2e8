"""Bulk ref writes into packed-refs: as safe as git's own pack-refs."""
import os
import stat
import subprocess

from git_exp import packed
from git_exp.repo import Repo

from .conftest import git


def refs_of(repo, prefix="refs/exp/"):
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    return dict(line.split() for line in out.splitlines())


def test_bulk_create_is_visible_to_git_and_keeps_peeled_tags(repo):
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "tag", "-a", "-m", "annotated", "v1")
    git(repo, "pack-refs", "--all")
    r = Repo(repo)
    r.bulk_create([(f"refs/exp/n{i}", head) for i in range(100)], "test")
    assert len(refs_of(repo)) == 100
    assert not (repo / ".git" / "refs" / "exp").exists()  # no loose files were written
    text = (repo / ".git" / "packed-refs").read_text()
    assert text.startswith("# pack-refs with: peeled fully-peeled sorted \n")
    assert f"^{head}" in text  # the annotated tag's peeled line survived
    assert git(repo, "rev-parse", "v1^{commit}").strip() == head
    git(repo, "fsck", "--strict")
    r.bulk_delete([(f"refs/exp/n{i}", head) for i in range(100)], "test")
    assert refs_of(repo) == {}
    assert git(repo, "rev-parse", "v1^{commit}").strip() == head


def test_existing_loose_ref_is_never_shadowed(repo):
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "commit", "-q", "--allow-empty", "-m", "second")
    second = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/exp/taken", second)
    left, _ = packed.update(repo / ".git", {"refs/exp/taken": head, "refs/exp/free": head})
    assert left == {"refs/exp/taken": head}
    assert refs_of(repo) == {"refs/exp/free": head, "refs/exp/taken": second}


def test_file_directory_clashes_are_left_to_update_ref(repo):
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/exp/a/b", head)  # loose
    git(repo, "update-ref", "refs/exp/c", head)
    git(repo, "pack-refs", "--all")  # packed
    git(repo, "update-ref", "refs/exp/d", head)  # loose again
    wanted = {"refs/exp/a": head, "refs/exp/c/x": head, "refs/exp/d/y": head, "refs/exp/ok/1": head}
    left, _ = packed.update(repo / ".git", wanted)
    assert set(left) == {"refs/exp/a", "refs/exp/c/x", "refs/exp/d/y"}
    git(repo, "fsck")


def test_held_lock_falls_back_to_update_ref(repo, monkeypatch):
    head = git(repo, "rev-parse", "HEAD").strip()
    monkeypatch.setattr(packed, "PACKED_TIMEOUT", 0.1)
    lock = repo / ".git" / "packed-refs.lock"
    lock.write_text("another git holds this\n")
    Repo(repo).bulk_create([(f"refs/exp/n{i}", head) for i in range(70)], "test")
    assert lock.read_text() == "another git holds this\n"  # the lock was honoured
    assert len(refs_of(repo)) == 70
    assert len(os.listdir(repo / ".git" / "refs" / "exp")) == 70  # written loose instead


def test_remove_only_at_expected_value(repo):
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "commit", "-q", "--allow-empty", "-m", "second")
    second = git(repo, "rev-parse", "HEAD").strip()
    packed.update(repo / ".git", {"refs/exp/x": head, "refs/exp/y": head})
    _, left = packed.update(repo / ".git", {}, {"refs/exp/x": second, "refs/exp/y": head})
    assert left == {"refs/exp/x": second}
    assert refs_of(repo) == {"refs/exp/x": head}


def test_rewrite_keeps_the_file_mode_and_git_byte_order(repo):
    """packed-refs keeps its mode, and stays sorted the way git binary-searches it
    (by bytes) even next to a ref name that is not UTF-8."""
    head = git(repo, "rev-parse", "HEAD").strip()
    odd = b"refs/tags/x\xf5"  # not UTF-8 (git allows it); as bytes it sorts after the next one,
    subprocess.run([b"git", b"update-ref", odd, head.encode()], cwd=repo, check=True)
    git(repo, "update-ref", "refs/tags/x\ue000", head)  # by code point (escaped) before it
    git(repo, "update-ref", "refs/tags/\U0001f600smile", head)  # outside the BMP
    git(repo, "pack-refs", "--all")
    path = repo / ".git" / "packed-refs"
    path.chmod(0o640)
    wanted = {f"refs/exp/n{i}": head for i in range(70)} | {"refs/exp/\u00e9t\u00e9": head, "refs/exp/\uffeewide": head}
    Repo(repo).bulk_create(wanted.items(), "test")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    names = [line.split(b" ", 1)[1] for line in path.read_bytes().splitlines()[1:] if not line.startswith(b"^")]
    assert names == sorted(names) and odd in names
    assert refs_of(repo) == wanted
    for name in names:  # git finds every one of them by binary search
        assert subprocess.run([b"git", b"show-ref", b"--verify", b"-q", name], cwd=repo).returncode == 0, name


def test_rewrite_worked_out_early_is_redone_when_packed_refs_changed(repo):
    """A ``Rewrite`` prepared before another writer changed packed-refs does not
    overwrite that writer's change: it is worked out again under the lock."""
    head = git(repo, "rev-parse", "HEAD").strip()
    rewrite = packed.Rewrite(str(repo / ".git"), {f"refs/exp/n{i}": head for i in range(3)})
    git(repo, "update-ref", "refs/exp/other", head)
    git(repo, "update-ref", "refs/exp/n1", head)  # someone created one of ours meanwhile
    git(repo, "pack-refs", "--all")
    left, _ = rewrite.commit()
    assert left == {"refs/exp/n1": head}
    assert set(refs_of(repo)) == {"refs/exp/n0", "refs/exp/n1", "refs/exp/n2", "refs/exp/other"}


def test_a_packed_refs_write_that_fails_says_so_and_changes_nothing(repo, tmp_path):
    """A full disk, here a file size limit (``ulimit -f``: writes past it fail with EFBIG),
    on the packed-refs rewrite of a staged push: one error line, exit 1, no lock file
    left, packed-refs and the refs as they were, nothing pushed."""
    import sys

    from tests.bench.fixtures import git_exp_commits, import_commits

    head = git(repo, "rev-parse", "HEAD").strip()
    import_commits(repo, os.environ, head, git_exp_commits(200)(head))
    before = git(repo, "for-each-ref")
    remote = tmp_path / "r.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "r", str(remote))
    ran = subprocess.run(["bash", "-c", 'ulimit -f 4 && exec "$0" -m git_exp push r "sweep/?*"', sys.executable],
                         cwd=repo, capture_output=True, text=True)
    assert ran.returncode == 1, ran
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("git-exp: error: cannot write ") and "packed-refs" in lines[0], ran.stderr
    assert "File too large" in lines[0] and "Traceback" not in ran.stderr
    assert not os.path.exists(repo / ".git" / "packed-refs.lock")
    assert git(repo, "for-each-ref") == before
    assert git(remote, "for-each-ref") == ""
