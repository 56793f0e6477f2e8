"""push/pull/rm as a person sees them: URLs as remotes, names with --keep/--older-than,
a screenful of lines and one summary, git's progress, English for one and for many."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.conftest import assert_error, exp_refs, git, init_repo
from tests.test_share import FILES, make_runner, on_remote, save


def assert_failed(ran, code: int, *fragments: str) -> None:
    """A ``git-exp: error:`` line (git's own reason may follow, indented), no traceback."""
    first, *rest = ran.err.splitlines()
    assert ran.code == code and first.startswith("git-exp: error: "), ran
    assert all(line.startswith("    ") for line in rest) and "Traceback" not in ran.err, ran
    for fragment in fragments:
        assert fragment in first, ran


def all_refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


# ------------------------------------------------------------------ remotes as URLs

def test_push_pull_ls_rm_take_a_url(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    a = save(exp, runner, "a", files={"params.yaml": "lr: 0.2\n"})
    b = save(exp, runner, "sweep/b", files={"params.yaml": "lr: 0.3\n"})
    url = f"file://{local_remote.path}"
    ran = exp("push", url, "a", "sweep/*", cwd=runner)
    assert ran.code == 0 and sorted(ran.out.split()) == sorted(["new", "a", "new", "sweep/b"]), ran
    assert on_remote(local_remote) == {"a": a, "sweep/b": b}

    laptop = init_repo(tmp_path / "laptop", files=dict(FILES))  # no remote configured at all
    ran = exp("ls", str(local_remote.path), cwd=laptop)
    assert ran.code == 0 and "remote-only" in ran.out, ran
    ran = exp("pull", url, "--all", cwd=laptop)
    assert ran.code == 0, ran
    assert exp_refs(laptop) == {"a": a, "sweep/b": b}
    # a URL has no remote-tracking refs: nothing is left beside the experiments
    assert [r for r in all_refs(laptop).split("\n") if "exp-staging" in r or "remote-exp" in r] == []
    assert f"git exp pull: from {url}" in git(laptop, "reflog", "show", "refs/exp/a")

    ran = exp("rm", "--remote", str(local_remote.path), "sweep/*", cwd=laptop)
    assert ran.code == 0 and ran.out == f"deleted sweep/b ({b})\n", ran
    assert on_remote(local_remote) == {"a": a}
    git(laptop, "push", "-q", url, f"{b}:refs/exp/sweep/b")  # the restore it prints works
    assert on_remote(local_remote) == {"a": a, "sweep/b": b}


def test_a_url_with_credentials_is_never_recorded(http_auth_remote, tmp_path, exp):
    runner = make_runner(http_auth_remote, tmp_path)
    a = save(exp, runner, "a", files={"params.yaml": "lr: 0.2\n"})
    assert exp("push", "origin", "a", cwd=runner).code == 0
    scheme, rest = http_auth_remote.url.split("://", 1)
    url = f"{scheme}://{http_auth_remote.username}:{http_auth_remote.password}@{rest}"
    laptop = init_repo(tmp_path / "laptop", files=dict(FILES))
    ran = exp("pull", url, "a", cwd=laptop)
    assert ran.code == 0 and exp_refs(laptop) == {"a": a}, ran
    reflog = git(laptop, "reflog", "show", "refs/exp/a")
    assert http_auth_remote.password not in reflog + ran.out + ran.err and "***@" in reflog
    wrong = f"{scheme}://{http_auth_remote.username}:wrong-s3cret@{rest}"
    ran = exp("ls", wrong, cwd=laptop)
    assert_failed(ran, 1, "listing experiments on", "***@", "needs credentials")
    assert "wrong-s3cret" not in ran.err


def test_a_url_that_is_no_url_is_refused(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    save(exp, runner, "a", files={"params.yaml": "lr: 0.2\n"})
    before = all_refs(runner)
    assert_error(exp("push", "./x\x1b[2J", "a", cwd=runner), 2, "is not a URL git can use")
    assert_error(exp("pull", "/" + "x" * 3000, "a", cwd=runner), 2, "is not a URL git can use")
    assert_failed(exp("push", "./nowhere.git", "a", cwd=runner), 1, "listing experiments on ./nowhere.git failed")
    assert all_refs(runner) == before


# ------------------------------------------------------------------ names with --keep / --older-than

def aged(exp, repo: Path, names: list[str]) -> dict[str, str]:
    """Experiments committed a minute apart, oldest first."""
    shas = {}
    for i, name in enumerate(names):
        stamp = f"@{1_700_000_000 + 60 * i} +0000"
        os.environ["GIT_COMMITTER_DATE"] = os.environ["GIT_AUTHOR_DATE"] = stamp
        try:
            shas[name] = save(exp, repo, name, files={"params.yaml": f"lr: {i}\n"})
        finally:
            del os.environ["GIT_COMMITTER_DATE"], os.environ["GIT_AUTHOR_DATE"]
    return shas


def test_gc_and_rm_take_names_with_keep_and_older_than(repo, exp):
    shas = aged(exp, repo, ["sweep/1", "sweep/2", "sweep/3", "other/1", "other/2"])
    ran = exp("gc", "sweep/*", "--keep", "1")
    assert ran.code == 0 and ran.out.splitlines() == [f"deleted sweep/1 ({shas['sweep/1']})",
                                                      f"deleted sweep/2 ({shas['sweep/2']})"], ran
    assert set(exp_refs(repo)) == {"sweep/3", "other/1", "other/2"}  # the others were not candidates

    ran = exp("rm", "other/*", "--keep", "1", "--dry-run")
    assert ran.out == f"would delete other/1 ({shas['other/1']})\n", ran
    ran = exp("rm", "other/*", "sweep/*", "--older-than", "1d")  # all are from 2023
    assert ran.code == 0 and len(ran.out.splitlines()) == 3, ran
    assert exp_refs(repo) == {}


def test_gc_and_rm_name_errors_delete_nothing(repo, exp, local_remote):
    aged(exp, repo, ["sweep/1", "sweep/2"])
    before = exp_refs(repo)
    assert_error(exp("gc", "sweep/*"), 2, "say which of them to delete", "git exp rm")
    assert_error(exp("gc", "nope/*", "--keep", "1"), 2, "no experiment matches 'nope/*'")
    assert_error(exp("rm", "sweep/*", "nope", "--keep", "0"), 2, "no experiment matches 'nope'")
    assert_error(exp("rm", "sweep/*", "--older-than", "soon"), 2, "cannot read age 'soon'")
    local_remote.configure(repo)
    assert_error(exp("rm", "--remote", "origin", "sweep/*", "--keep", "1"), 2, "--older-than and --keep work on local")
    assert exp_refs(repo) == before


# ------------------------------------------------------------------ a screenful, a summary, progress

def in_terminal(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` with stdout and stderr on a pseudo-terminal; its exit code and output."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            env={**os.environ, **env}, start_new_session=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                block = os.read(master, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not block:
                break
            chunks.append(block)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode().replace("\r\n", "\n")


def many(exp, repo: Path, n: int) -> None:
    for i in range(n):
        (repo / "params.yaml").write_text(f"lr: {i}\n")
        assert exp("save", "-n", f"s/{i:02d}", cwd=repo).code == 0


def test_push_shows_a_screenful_then_counts(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    many(exp, runner, 30)
    code, text = in_terminal(["git-exp", "push", "origin", "--dry-run", "s/*"], runner, {"LINES": "15"})
    assert code == 0, text
    shown = [line for line in text.splitlines() if line.startswith("would be new")]
    assert len(shown) == 10 and "... and 20 more (-v lists them all)" in text, text
    assert "30 would be new" in text
    code, text = in_terminal(["git-exp", "push", "origin", "-v", "--dry-run", "s/*"], runner, {"LINES": "15"})
    assert len([line for line in text.splitlines() if line.startswith("would be new")]) == 30, text
    # to a pipe: every line (a script reads them), the summary on stderr
    ran = exp("push", "origin", "s/*", cwd=runner)
    assert ran.code == 0 and len(ran.out.splitlines()) == 30 and ran.err == "30 new\n", ran
    save(exp, runner, "s/00", "--append", files={"x": "1\n"})
    ran = exp("push", "origin", "--all", cwd=runner)
    assert ran.out.split() == ["updated", "s/00"] and ran.err == "1 updated, 29 up to date\n", ran
    ran = exp("push", "origin", "-q", "--all", cwd=runner)
    assert (ran.code, ran.out, ran.err) == (0, "", ""), ran
    assert_error(exp("push", "origin", "-q", "-v", "--all", cwd=runner), 2, "-q contradicts -v")


def test_git_progress_is_passed_through(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    save(exp, runner, "big", files={"blob.bin": os.urandom(200_000).hex()})
    code, text = in_terminal(["git-exp", "push", "origin", "big"], runner, {})
    assert code == 0 and "Writing objects: 100%" in text and "new          big" in text, text
    laptop = local_remote.clone(tmp_path / "laptop", "--no-local")  # objects through upload-pack
    ran = exp("pull", "origin", "--progress", "big", cwd=laptop)
    assert ran.code == 0 and "objects: 100%" in ran.err, ran
    assert "[new ref]" not in ran.err and "From " not in ran.err  # only progress comes through
    ran = exp("pull", "origin", "big", cwd=laptop)  # not a terminal: no progress
    assert "objects" not in ran.err, ran


def test_messages_read_as_english_for_one_and_many(local_remote, tmp_path, exp):
    runner = make_runner(local_remote, tmp_path)
    laptop = local_remote.clone(tmp_path / "laptop")
    for name in ("x", "y"):
        save(exp, runner, name, files={"params.yaml": f"lr: {name}\n"})
    assert exp("push", "origin", "x", "y", cwd=runner).code == 0
    assert exp("pull", "origin", "x", "y", cwd=laptop).code == 0
    save(exp, laptop, "x", "--force", files={"laptop.txt": "mine\n"})
    ran = exp("pull", "origin", "x", cwd=laptop)
    assert "1 experiment diverged from origin and was left as it is: x" in ran.err, ran
    save(exp, laptop, "y", "--force", files={"laptop.txt": "mine too\n"})
    ran = exp("pull", "origin", "x", "y", cwd=laptop)
    assert "2 experiments diverged from origin and were left as they are: x, y" in ran.err, ran
    assert "2 diverged" in ran.err.splitlines()[0]


# ------------------------------------------------------------------ empty states

def test_empty_listings_say_what_to_do(repo, exp, local_remote):
    ran = exp("ls")
    assert (ran.code, ran.out) == (0, "") and ran.err.startswith("no experiments yet — `git exp save`"), ran
    assert exp("ls", "--json").out == "[]\n"
    ran = exp("ls", "-r")
    assert (ran.code, ran.out) == (0, "") and "git exp pull origin --all" in ran.err, ran
    local_remote.configure(repo)
    ran = exp("ls", "origin")
    assert (ran.code, ran.out) == (0, "") and ran.err.startswith("no experiments on origin or here"), ran
    save(exp, repo, "a")
    ran = exp("ls")
    assert ran.code == 0 and ran.out.startswith("sha ") and ran.err == "", ran
