"""Tags and notes (refs/notes/exp) and tombstones (refs/exp-tombstones/): written, shown,
merged across clones through real remotes, and removals that travel.

State is read back with real git (``git notes``, ``for-each-ref``, ``config``); clones
and remotes are real (a bare repository on disk, and one real server).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from git_exp import notes
from tests import formats

from .conftest import assert_error, exp_refs, git, init_repo, write

NOTES = "refs/notes/exp"
TOMBS = "refs/exp-tombstones/"
FILES = {"README": "hello\n", "params.yaml": "lr: 0.1\n"}


# --------------------------------------------------------------------------- helpers

def refs_of(repo: Path, prefix: str) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    return dict(line.split(" ") for line in out.splitlines())


def notes_ref(repo: Path) -> str:
    return git(repo, "rev-parse", "-q", "--verify", NOTES, check=False).strip()


def raw_note(repo: Path, rev: str) -> str:
    return git(repo, "notes", f"--ref={NOTES}", "show", rev, check=False)


def save(exp, repo: Path, name: str, files: dict | None = None) -> str:
    if files:
        write(repo, files)
    ran = exp("save", "-n", name, cwd=repo)
    assert ran.code == 0, ran
    return exp_refs(repo)[name]


def tags(exp, repo: Path, name: str) -> list[str]:
    ran = exp("tag", name, cwd=repo)
    assert ran.code == 0, ran
    return ran.out.splitlines()


def note_lines(exp, repo: Path, name: str) -> list[str]:
    ran = exp("note", name, cwd=repo)
    assert ran.code == 0, ran
    return ran.out.splitlines()


def clones(remote_url: str, root: Path, exp, names=("e1",)) -> tuple[Path, Path]:
    """(a, b): a saved ``names`` and pushed them with main; b cloned and pulled them."""
    a = init_repo(root / "a", files=dict(FILES))
    git(a, "remote", "add", "origin", remote_url)
    git(a, "push", "-q", "-u", "origin", "main")
    for name in names:
        save(exp, a, name, {"params.yaml": f"lr: {name}\n"})
    assert exp("push", "origin", "--all", cwd=a).code == 0
    b = root / "b"
    git(root, "clone", "-q", remote_url, str(b))
    assert exp("pull", "origin", "--all", cwd=b).code == 0
    return a, b


@pytest.fixture
def bare(tmp_path) -> Path:
    path = tmp_path / "remote.git"
    path.mkdir()
    git(path, "init", "-q", "--bare", "-b", "main")
    return path


# --------------------------------------------------------------------------- tag / note

def test_tag_add_list_remove_and_json(repo, exp):
    sha = save(exp, repo, "e1")
    ran = exp("tag", "e1", "best", "paper-v2", "best")
    assert ran.code == 0 and ran.out == "", ran
    assert ran.err == f"added best, paper-v2 on e1 ({sha[:7]})\n"
    assert tags(exp, repo, "e1") == ["best", "paper-v2"]
    ran = exp("tag", "e1", "best")
    assert ran.code == 0 and ran.err == "e1 already has best\n", ran
    assert exp("tag", "-d", "e1", "paper-v2").code == 0
    assert json.loads(exp("tag", "e1", "--json").out) == {"name": "e1", "sha": sha, "tags": ["best"]}
    # stored as events in the note of the experiment's commit, written by git notes
    lines = [line for line in raw_note(repo, sha).splitlines() if line]
    assert [line.split(" ")[0] for line in lines] == ["tag:", "tag:", "untag:"]
    assert git(repo, "reflog", "show", NOTES).count("\n") == 2  # two git notes writes, with a reflog


def test_note_add_list_clear_and_secrets_redacted(repo, exp, monkeypatch):
    save(exp, repo, "e1")
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnopqrstuvwxyz0123")
    assert exp("note", "e1", "  warm-up helps  ").code == 0
    assert exp("note", "e1", "used hf_abcdefghijklmnopqrstuvwxyz0123 to download").code == 0
    assert note_lines(exp, repo, "e1") == ["warm-up helps", "used $HF_TOKEN to download"]
    assert "hf_abcdefghijklmnopqrstuvwxyz0123" not in git(repo, "log", "-p", NOTES)
    ran = exp("note", "e1", "--clear")
    assert ran.code == 0 and "cleared the notes of e1" in ran.err, ran
    assert note_lines(exp, repo, "e1") == []
    assert exp("note", "e1", "after").code == 0
    assert json.loads(exp("note", "e1", "--json").out)["notes"] == ["after"]
    ran = exp("note", "e1", "--clear", "x")
    assert_error(ran, 2, "--clear takes no text")


@pytest.mark.parametrize("bad, why", [
    ("a b", "white space"), ("a,b", "','"), ("-x", "start with '-'"), ("x" * 65, "at most 64"),
    ("a\x1bb", "'\\x1b'"), ("a\u202eb", "'\\u202e'"), ("", "empty"),
])
def test_bad_tags_are_refused_and_nothing_is_written(repo, exp, bad, why):
    save(exp, repo, "e1")
    assert exp("tag", "e1", "good").code == 0
    before = notes_ref(repo)
    assert_error(exp("tag", "e1", "--", "ok", bad), 2, "invalid tag", why)
    assert_error(exp("tag", "-d", "e1", "--", bad), 2, "invalid tag")
    assert notes_ref(repo) == before
    assert tags(exp, repo, "e1") == ["good"]


@pytest.mark.parametrize("bad, why", [
    ("two\nlines", "a line break"), ("bell\x07", "control character"), ("   ", "the note is empty"),
    ("x" * 501, "more than 500"),
])
def test_bad_note_text_is_refused_and_nothing_is_written(repo, exp, bad, why):
    save(exp, repo, "e1")
    assert_error(exp("note", "e1", bad), 2, why)
    assert notes_ref(repo) == ""


def test_unknown_experiment_and_absent_tag(repo, exp):
    save(exp, repo, "e1")
    assert_error(exp("tag", "nope", "best"), 2, "no experiment named 'nope'")
    assert_error(exp("note", "nope", "text"), 2, "no experiment named 'nope'")
    assert_error(exp("tag", "e1", "bad name/.."), 2, "invalid tag")
    assert_error(exp("tag", "-d", "e1", "never"), 2, "has no tag 'never'", "nothing was changed")
    assert_error(exp("tag", "-d", "e1"), 2, "name the tags to remove")
    assert notes_ref(repo) == ""


def test_notes_ref_held_by_another_git_is_a_one_line_error(repo, exp):
    save(exp, repo, "e1")
    assert exp("tag", "e1", "first").code == 0
    before = notes_ref(repo)
    # another git in the middle of a transaction on refs/notes/exp holds its lock
    holder = subprocess.Popen(["git", "update-ref", "--stdin"], cwd=repo, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    holder.stdin.write(f"start\nupdate {NOTES} {before} {before}\nprepare\n")
    holder.stdin.flush()
    assert holder.stdout.readline() == "start: ok\n" and holder.stdout.readline() == "prepare: ok\n"
    try:
        assert_error(exp("tag", "e1", "second"), 1, "could not add tags of 'e1'", "is locked by another git")
        assert_error(exp("note", "e1", "text"), 1, "is locked by another git")
    finally:
        holder.stdin.write("abort\n")
        holder.stdin.close()
        holder.wait()
    assert notes_ref(repo) == before
    assert tags(exp, repo, "e1") == ["first"]


def test_tags_survive_a_rename_and_belong_to_the_commit(repo, exp):
    save(exp, repo, "e1")
    assert exp("tag", "e1", "best").code == 0
    assert exp("rename", "e1", "final").code == 0
    assert tags(exp, repo, "final") == ["best"]


# --------------------------------------------------------------------------- show

def test_show_has_tags_and_note_columns_patterns_and_where(repo, exp):
    for name in ("e1", "e2", "e3"):
        save(exp, repo, name, {"params.yaml": f"lr: {name}\n"})
    rows = json.loads(exp("show", "--json").out)
    assert [(r["tags"], r["note"]) for r in rows] == [([], None)] * 3
    assert "tags" not in exp("show").out  # no column while nothing is said
    assert exp("tag", "e1", "best", "v1").code == 0
    assert exp("tag", "e3", "best").code == 0
    assert exp("note", "e2", "diverged at step 40").code == 0
    assert exp("note", "e2", "rerun with lower lr").code == 0
    rows = {r["name"]: r for r in json.loads(exp("show", "--json").out)}
    assert rows["e1"]["tags"] == ["best", "v1"] and rows["e1"]["note"] is None
    assert rows["e2"]["tags"] == [] and rows["e2"]["note"] == "diverged at step 40\nrerun with lower lr"
    table = exp("show", "--columns", "name,tags,note").out.splitlines()
    assert table[0].split() == ["name", "tags", "note"]
    rows = {line.split()[0]: line for line in table[1:]}
    assert "best, v1" in rows["e1"] and "diverged at step 40; rerun with lower lr" in rows["e2"]
    assert sorted(r["name"] for r in json.loads(exp("show", "tag:best", "--json").out)) == ["e1", "e3"]  # newest first: ties
    assert sorted(r["name"] for r in json.loads(exp("show", "tag:v1", "e2", "--json").out)) == ["e1", "e2"]
    assert_error(exp("show", "tag:nothing"), 2, "no experiment is tagged 'nothing'")
    assert_error(exp("show", "tag:a b"), 2, "invalid tag")
    where = json.loads(exp("show", "--where", "note = 'diverged at step 40\nrerun with lower lr'", "--json").out)
    assert [r["name"] for r in where] == ["e2"]
    md = exp("show", "--md").out
    assert "| best, v1 |" in md
    csv_text = exp("show", "--csv").out
    assert "best, v1" in csv_text


def test_show_caches_never_keep_old_tags(repo, exp):
    """show's caches are keyed by experiment commit; a tag changes with the commit the same."""
    for i in range(12):  # enough rows for the one-per-line JSON that show --json caches
        save(exp, repo, f"e{i:02d}", {"params.yaml": f"lr: {i}\n"})
    first = json.loads(exp("show", "--json").out)
    assert json.loads(exp("show", "--json").out) == first  # the cached path gives the same
    assert exp("tag", "e03", "best").code == 0
    assert exp("note", "e04", "look").code == 0
    for _ in range(2):  # the long way, then from the caches
        rows = {r["name"]: r for r in json.loads(exp("show", "--json").out)}
        assert rows["e03"]["tags"] == ["best"] and rows["e04"]["note"] == "look"
        assert rows["e05"]["tags"] == [] and rows["e05"]["note"] is None
    assert exp("tag", "-d", "e03", "best").code == 0
    rows = {r["name"]: r for r in json.loads(exp("show", "--json").out)}
    assert rows["e03"]["tags"] == []
    assert_error(exp("show", "tag:best", "--json"), 2, "no experiment is tagged 'best'")


# --------------------------------------------------------------------------- events merge

def test_events_union_keeps_removals_and_later_readds():
    base = [notes.event("tag", "best", now=100), notes.event("tag", "old", now=100)]
    ours = base + [notes.event("untag", "old", now=200), notes.event("note", "ours", now=210)]
    theirs = base + [notes.event("tag", "new", now=205), notes.event("note", "theirs", now=201)]
    union = "\n".join(sorted(set(ours + theirs)))  # what cat_sort_uniq makes of both
    assert notes.parse(union) == notes.Annotation(("best", "new"), ("theirs", "ours"))
    readd = union + "\n" + notes.event("tag", "old", now=300)
    assert notes.parse(readd).tags == ("best", "new", "old")
    cleared = union + "\n" + notes.event("clear", now=220) + "\n" + notes.event("note", "fresh", now=230)
    assert notes.parse(cleared).notes == ("fresh",)
    same_time = notes.event("tag", "x", now=50) + "\n" + notes.event("untag", "x", now=50)
    assert notes.parse(same_time).tags == ()
    assert notes.parse("hand-written\ntag: bogus\n\n").tags == ()


# --------------------------------------------------------------------------- sharing

def concurrent_edits(exp, a: Path, b: Path) -> None:
    """Both clones change the note of e1 before either pushes; b also removes a tag both had."""
    assert exp("tag", "e1", "shared", cwd=a).code == 0
    assert exp("push", "origin", "e1", cwd=a).code == 0
    assert exp("pull", "origin", "--all", cwd=b).code == 0
    assert tags(exp, b, "e1") == ["shared"]
    assert exp("tag", "e1", "from-a", cwd=a).code == 0
    assert exp("note", "e1", "note from a", cwd=a).code == 0
    assert exp("tag", "e1", "from-b", cwd=b).code == 0
    assert exp("note", "e1", "note from b", cwd=b).code == 0
    assert exp("tag", "-d", "e1", "shared", cwd=b).code == 0


def assert_merged_everywhere(exp, *repos: Path) -> None:
    for repo in repos:
        assert tags(exp, repo, "e1") == ["from-a", "from-b"], repo
        assert sorted(note_lines(exp, repo, "e1")) == ["note from a", "note from b"], repo


def test_two_clones_tag_and_note_at_once_both_push_both_pull(bare, tmp_path, exp):
    a, b = clones(str(bare), tmp_path, exp)
    concurrent_edits(exp, a, b)
    ran = exp("push", "origin", "--all", cwd=a)
    assert ran.code == 0 and "pushed tags and notes to origin" in ran.err, ran
    ran = exp("push", "origin", "--all", cwd=b)  # theirs moved: fetched, merged, pushed
    assert ran.code == 0 and "(merged with theirs first)" in ran.err, ran
    ran = exp("pull", "origin", "--all", cwd=a)
    assert ran.code == 0 and "merged the tags and notes of origin" in ran.err, ran
    assert exp("pull", "origin", "--all", cwd=b).code == 0
    assert_merged_everywhere(exp, a, b)
    assert notes_ref(a) == notes_ref(b) == git(bare, "rev-parse", NOTES).strip()
    git(a, "fsck", "--no-progress")
    # the merge is git's: a merge commit of both sides in the notes' history
    parents = git(a, "log", "-1", "--format=%P", NOTES).split()
    assert len(parents) in (1, 2)
    assert len(git(bare, "log", "--merges", "--format=%H", NOTES).split()) == 1
    ran = exp("pull", "origin", "--all", cwd=b)  # nothing new: no notes message
    assert ran.code == 0 and "tags and notes" not in ran.err, ran


def test_two_clones_merge_over_a_real_server(http_remote, tmp_path, exp):
    a, b = clones(http_remote.url, tmp_path, exp)
    concurrent_edits(exp, a, b)
    assert exp("push", "origin", "e1", cwd=b).code == 0
    assert exp("push", "origin", "e1", cwd=a).code == 0
    assert exp("pull", "origin", "e1", cwd=b).code == 0
    assert_merged_everywhere(exp, a, b)
    on_server = git(http_remote.path, "notes", f"--ref={NOTES}", "show", exp_refs(a)["e1"])
    assert "from-a" in on_server and "note from b" in on_server


def test_installed_refspecs_carry_notes_with_plain_git(bare, tmp_path, exp):
    a, b = clones(str(bare), tmp_path, exp)
    for repo in (a, b):
        assert exp("install", "origin", cwd=repo).code == 0
    git(b, "fetch", "-q", "origin")  # the remote has no notes yet: fetch still works
    git(b, "push", "-q", "origin")  # nor do we: push still works
    assert exp("tag", "e1", "best", cwd=a).code == 0
    git(a, "push", "-q", "origin")
    assert git(bare, "rev-parse", NOTES).strip() == notes_ref(a)
    git(b, "fetch", "-q", "origin")
    assert git(b, "rev-parse", "refs/notes/remote-exp/origin").strip() == notes_ref(a)
    assert exp("pull", "origin", "e1", cwd=b).code == 0
    assert tags(exp, b, "e1") == ["best"]
    assert exp("uninstall", "origin", cwd=b).code == 0
    assert refs_of(b, "refs/notes/remote-exp/") == {}
    assert "notes" not in git(b, "config", "--get-regexp", "^remote\\.origin\\.", check=False)


def test_a_refused_notes_push_is_reported_after_the_experiments(bare, tmp_path, exp):
    a, _b = clones(str(bare), tmp_path, exp)
    hook = bare / "hooks" / "update"
    hook.write_text("#!/bin/sh\ncase \"$1\" in refs/notes/*) echo \"no notes here\" >&2; exit 1;; esac\nexit 0\n")
    hook.chmod(0o755)
    save(exp, a, "e2", {"params.yaml": "lr: 2\n"})
    assert exp("tag", "e2", "best", cwd=a).code == 0
    ran = exp("push", "origin", "e2", cwd=a)
    assert ran.code == 1, ran
    assert ran.out.startswith("new          e2")
    errors = [line for line in ran.err.splitlines() if line.startswith("git-exp: error:")]
    assert len(errors) == 1 and "origin refused the tags and notes" in errors[0], ran.err
    assert "e2" in exp_refs(bare) and git(bare, "rev-parse", "-q", "--verify", NOTES, check=False) == ""


# --------------------------------------------------------------------------- tombstones

def test_removed_on_the_remote_stays_removed(bare, tmp_path, exp):
    a, b = clones(str(bare), tmp_path, exp, names=("e1", "e2"))
    e1 = exp_refs(a)["e1"]
    ran = exp("rm", "--remote", "origin", "e1", cwd=a)
    assert ran.code == 0 and f"deleted e1 ({e1})" in ran.out, ran
    tomb = refs_of(bare, TOMBS)
    assert list(tomb) == [TOMBS + "e1/@removed"]
    assert git(bare, "rev-parse", TOMBS + "e1/@removed^").strip() == e1  # kept reachable there
    assert "Exp-Removed: e1" in git(bare, "log", "-1", "--format=%B", TOMBS + "e1/@removed")
    # tombstones are no experiments
    listed = exp("ls", "origin", "--json", cwd=b).out
    assert [(r["name"], r["state"]) for r in json.loads(listed)] == [("e1", "local-only"), ("e2", "same")]
    assert exp("ls", "-r", "--json", cwd=a).out.count('"e1"') == 1  # only the local one

    # b still has e1: push --all skips it, says why, exits 0
    ran = exp("push", "origin", "--all", cwd=b)
    assert ran.code == 0, ran
    assert "skipped      e1  (removed on origin; --force pushes it again)" in ran.out
    assert "e1" not in exp_refs(bare)
    ran = exp("push", "origin", "e1", cwd=b)
    assert ran.code == 0 and "skipped" in ran.out and "e1" not in exp_refs(bare)

    # pull says so, pull --prune removes the copy, prints its commit and keeps it reachable
    ran = exp("pull", "origin", "--all", cwd=b)
    assert ran.code == 0 and "1 experiment here was removed on origin: e1" in ran.err, ran
    ran = exp("pull", "origin", "--all", "--prune", cwd=b)
    assert ran.code == 0, ran
    assert f"removed        e1  (removed on origin; restore: git update-ref refs/exp/e1 {e1})" in ran.out
    assert "e1" not in exp_refs(b) and "e1" not in exp_refs(b, "refs/remote-exp/origin/")
    assert git(b, "rev-parse", TOMBS + "e1/@removed^").strip() == e1
    assert exp("pull", "origin", "--all", "--prune", cwd=b).out == ""  # done once

    # --force restores it and drops the tombstone, in one atomic push
    ran = exp("push", "origin", "e1", "--force", cwd=a)
    assert ran.code == 0, ran
    assert exp_refs(bare)["e1"] == e1 and refs_of(bare, TOMBS) == {}


def test_prune_keeps_a_copy_with_commits_the_tombstone_lacks(bare, tmp_path, exp):
    a, b = clones(str(bare), tmp_path, exp)
    assert exp("rm", "--remote", "origin", "e1", cwd=a).code == 0
    write(b, {"params.yaml": "lr: more\n"})
    assert exp("save", "--append", "-n", "e1", cwd=b).code == 0
    mine = exp_refs(b)["e1"]
    ran = exp("pull", "origin", "--all", "--prune", cwd=b)
    assert ran.code == 0, ran
    assert "kept           e1  (removed on origin, but yours has commits it lacks" in ran.out
    assert exp_refs(b)["e1"] == mine


def test_renamed_on_the_remote_travels(bare, tmp_path, exp):
    a, b = clones(str(bare), tmp_path, exp, names=("e1", "e2"))
    e1 = exp_refs(a)["e1"]
    assert exp("rename", "--remote", "origin", "e1", "final", cwd=a).code == 0
    assert "Exp-Renamed-To: final" in git(bare, "log", "-1", "--format=%B", TOMBS + "e1/@removed")
    assert exp("push", "origin", "--all", cwd=b).code == 0
    assert "e1" not in exp_refs(bare)
    ran = exp("pull", "origin", "--all", "--prune", cwd=b)
    assert ran.code == 0, ran
    assert f"removed        e1  (renamed to final on origin; restore: git update-ref refs/exp/e1 {e1})" in ran.out
    assert exp_refs(b) == {"final": e1, "e2": exp_refs(a)["e2"]}
    # the new name's own old tombstone goes when the name is used again
    assert exp("rm", "--remote", "origin", "final", cwd=a).code == 0
    assert set(refs_of(bare, TOMBS)) == {TOMBS + "e1/@removed", TOMBS + "final/@removed"}
    assert exp("rm", "final", cwd=a).code == 0
    e2 = exp_refs(a)["e2"]
    assert exp("rename", "--remote", "origin", "e2", "final", cwd=a).code == 0
    assert set(refs_of(bare, TOMBS)) == {TOMBS + "e1/@removed", TOMBS + "e2/@removed"}
    assert exp_refs(bare) == {"final": e2}


def test_removal_refused_by_the_remote_removes_nothing(bare, tmp_path, exp):
    a, b = clones(str(bare), tmp_path, exp)
    hook = bare / "hooks" / "update"
    hook.write_text("#!/bin/sh\ncase \"$1\" in refs/exp-tombstones/*) exit 1;; esac\nexit 0\n")
    hook.chmod(0o755)
    before = refs_of(bare, "refs/")
    ran = exp("rm", "--remote", "origin", "e1", cwd=a)
    assert ran.code == 1, ran
    assert refs_of(bare, "refs/") == before  # atomic: the experiment is still there


def test_gc_tombstones_ages_them_out_here_and_on_the_remote(bare, tmp_path, exp, monkeypatch):
    a, b = clones(str(bare), tmp_path, exp, names=("old", "new"))
    monkeypatch.setenv("GIT_COMMITTER_DATE", "@1000000000 +0000")  # removed long ago
    assert exp("rm", "--remote", "origin", "old", cwd=a).code == 0
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    assert exp("rm", "--remote", "origin", "new", cwd=a).code == 0
    assert exp("pull", "origin", "--all", "--prune", cwd=b).code == 0
    assert set(refs_of(b, TOMBS)) == {TOMBS + "old/@removed", TOMBS + "new/@removed"}
    ran = exp("gc", "--tombstones", "--older-than", "30d", "--dry-run", cwd=b)
    assert ran.code == 0 and ran.out.startswith("would delete tombstone old (removed 2001-09-09"), ran
    assert len(refs_of(b, TOMBS)) == 2
    ran = exp("gc", "--tombstones", "--older-than", "30d", cwd=b)
    assert ran.code == 0 and set(refs_of(b, TOMBS)) == {TOMBS + "new/@removed"}, ran
    ran = exp("gc", "--tombstones", "--remote", "origin", "--older-than", "30d", cwd=b)
    assert ran.code == 0 and "deleted 1 tombstone on origin" in ran.err, ran
    assert set(refs_of(bare, TOMBS)) == {TOMBS + "new/@removed"}
    assert exp("gc", "--tombstones", "--remote", "origin", cwd=a).code == 0
    assert refs_of(bare, TOMBS) == {}
    assert exp("gc", "--tombstones", cwd=b).code == 0 and refs_of(b, TOMBS) == {}
    assert_error(exp("gc", "--remote", "origin", cwd=b), 2, "--remote (which needs it)")
    assert_error(exp("gc", "--tombstones", "--keep", "3", cwd=b), 2, "--tombstones")
    assert_error(exp("gc", "--tombstones", "--older-than", "soon", cwd=b), 2, "cannot read age")


def test_tags_and_notes_travel_to_and_from_a_url(bare, tmp_path, exp):
    a, b = clones(str(bare), tmp_path, exp)
    url = bare.as_uri()
    assert exp("tag", "e1", "by-url", cwd=a).code == 0
    ran = exp("push", url, "e1", cwd=a)
    assert ran.code == 0 and "pushed tags and notes" in ran.err, ran
    ran = exp("pull", url, "e1", cwd=b)
    assert ran.code == 0 and "merged the tags and notes" in ran.err, ran
    assert tags(exp, b, "e1") == ["by-url"]
    for repo in (a, b):  # a URL leaves no tracking ref behind
        assert refs_of(repo, "refs/exp-staging/") == {} and refs_of(repo, "refs/notes/remote-exp/") == {}


def test_pull_prune_by_name_and_doctor_on_an_install_without_notes(bare, tmp_path, exp):
    a, b = clones(str(bare), tmp_path, exp, names=("e1", "e2"))
    assert exp("rm", "--remote", "origin", "e1", cwd=a).code == 0
    ran = exp("pull", "origin", "e1", "--prune", cwd=b)  # a removed name is no unknown name with --prune
    assert ran.code == 0 and ran.out.startswith("removed        e1"), ran
    assert_error(exp("pull", "origin", "e1", cwd=b), 2, "origin has no experiment matching 'e1'")
    assert exp("install", "origin", cwd=b).code == 0
    for kind, value in (("fetch", "+refs/notes/exp*:refs/notes/remote-exp/origin*"),
                        ("push", "refs/notes/exp*:refs/notes/exp*")):  # as an install before tags and notes
        git(b, "config", "--unset", "--fixed-value", f"remote.origin.{kind}", value)
        git(b, "config", "--unset", "--fixed-value", "exp.origin.installed", f"{kind}={value}")
    findings = json.loads(exp("doctor", "--json", cwd=b).out)
    assert any(f["remote"] == "origin" and "installed before tags and notes travelled" in f["what"]
               and f["fix"] == "git exp install origin" for f in findings), findings
    assert exp("install", "origin", cwd=b).code == 0
    assert "+refs/notes/exp*:refs/notes/remote-exp/origin*" in git(b, "config", "--get-all", "remote.origin.fetch")


def test_without_an_identity_git_notes_refuses_and_says_what_to_set(repo, exp, monkeypatch):
    save(exp, repo, "e1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var)
    git(repo, "config", "user.useConfigOnly", "true")
    assert_error(exp("tag", "e1", "best"), 2, "git needs your name and email", "git config user.email")
    assert notes_ref(repo) == ""


def test_a_merge_that_cannot_be_written_fails_the_pull_after_the_experiments(bare, tmp_path, exp):
    a, b = clones(str(bare), tmp_path, exp)
    assert exp("tag", "e1", "from-b", cwd=b).code == 0
    save(exp, a, "e2", {"params.yaml": "lr: 2\n"})
    assert exp("tag", "e1", "from-a", cwd=a).code == 0
    assert exp("push", "origin", "--all", cwd=a).code == 0
    before = notes_ref(b)
    holder = subprocess.Popen(["git", "update-ref", "--stdin"], cwd=b, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    holder.stdin.write(f"start\nupdate {NOTES} {before} {before}\nprepare\n")
    holder.stdin.flush()
    assert holder.stdout.readline() == "start: ok\n" and holder.stdout.readline() == "prepare: ok\n"
    try:
        ran = exp("pull", "origin", "--all", cwd=b)
    finally:
        holder.stdin.write("abort\n")
        holder.stdin.close()
        holder.wait()
    assert ran.code == 1, ran
    errors = [line for line in ran.err.splitlines() if line.startswith("git-exp: error:")]
    if formats.REF_FORMAT == "reftable":  # one lock for every ref: the experiments wait too
        assert ran.out == "" and len(errors) == 1 and "no ref of this step was changed" in errors[0], ran
        assert notes_ref(b) == before and "e2" not in exp_refs(b)
    else:
        assert ran.out.startswith("new            e2"), ran
        assert len(errors) == 1 and "could not merge the tags and notes of origin" in errors[0], ran.err
        assert notes_ref(b) == before and "e2" in exp_refs(b)
    assert exp("pull", "origin", "--all", cwd=b).code == 0  # once the lock is gone
    assert tags(exp, b, "e1") == ["from-a", "from-b"]


def test_where_everywhere_sees_tags_and_notes(repo, exp):
    for name in ("e1", "e2"):
        save(exp, repo, name, {"params.yaml": f"lr: {name}\n"})
    assert exp("tag", "e1", "keep").code == 0
    assert exp("note", "e2", "broken run").code == 0
    ran = exp("ls", "--where", "tags contains keep", "--json")
    assert ran.code == 0 and [r["name"] for r in json.loads(ran.out)] == ["e1"], ran
    ran = exp("rm", "--where", "note == 'broken run'")
    assert ran.code == 0 and list(exp_refs(repo)) == ["e1"], ran
