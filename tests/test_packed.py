"""Bulk ref writes into packed-refs: as safe as git's own pack-refs."""
import os

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
