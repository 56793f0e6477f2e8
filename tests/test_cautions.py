"""What save and run say before an experiment is written (git_exp/cautions.py)."""
import subprocess
import sys

import pytest

from .conftest import assert_error, exp_refs, git, write


def traced(monkeypatch):
    """git-exp traces each git it ran, in order, on stderr: a line said before the trace of
    ``git commit-tree`` was said before the commit was written (the code is sequential)."""
    from git_exp import git as git_module

    monkeypatch.setattr(git_module, "TRACE", True)


def commit_line(lines):
    return next(i for i, line in enumerate(lines) if line.startswith("git-exp: trace:") and "git commit-tree" in line)


def sized(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


def test_save_refuses_a_large_untracked_file(repo, exp):
    sized(repo / "model.bin", (10 << 20) + 1)
    write(repo, {"small.txt": "s"})
    before = exp_refs(repo)
    objects = git(repo, "count-objects", "-v")
    assert_error(exp("save", "-n", "big"), 2, "an untracked file over exp.largeFile (10 MiB) would be saved",
                 "'model.bin' (10 MiB)", ".gitignore", "git-lfs", "git exp save --allow-large")
    assert exp_refs(repo) == before
    assert git(repo, "count-objects", "-v") == objects  # nothing hashed into the repository either
    ran = exp("save", "-n", "big", "--allow-large")
    assert ran.code == 0, ran
    assert "model.bin" in git(repo, "ls-tree", "--name-only", "refs/exp/big")


def test_refused_save_hashes_no_untracked_file_while_tracked_changes_are_staged(repo, exp):
    """The check runs beside ``git add -u`` (tracked changes): the untracked files, large
    or not, are still never hashed when the save is refused."""
    git(repo, "config", "exp.largeFile", "1k")
    write(repo, {"README": "changed\n", "dump.bin": "x" * 2000, "note.txt": "small\n"})
    assert_error(exp("save", "-n", "big"), 2, "'dump.bin'")
    for path in ("dump.bin", "note.txt"):
        blob = git(repo, "hash-object", path).strip()  # no -w: only the id
        assert subprocess.run(["git", "cat-file", "-e", blob], cwd=repo).returncode != 0, path
    assert "big" not in exp_refs(repo) and not list((repo / ".git").glob("exp-index*"))


def test_large_file_limit_is_configurable(repo, exp):
    write(repo, {"a.bin": "x" * 3000, "b.bin": "x" * 2000, "c.bin": "x" * 5000, "d.bin": "x" * 4000, "e.txt": "e"})
    git(repo, "config", "exp.largeFile", "1k")
    ran = exp("save", "-n", "s")
    assert_error(ran, 2, "4 untracked files over exp.largeFile (1 KiB)",
                 "'c.bin' (4.9 KiB), 'd.bin' (3.9 KiB), 'a.bin' (2.9 KiB) and 1 more")
    git(repo, "config", "exp.largeFile", "0")  # no check
    assert exp("save", "-n", "s").code == 0
    git(repo, "config", "exp.largeFile", "ten")
    assert_error(exp("save", "-n", "t"), 2, "exp.largeFile is not a size: 'ten'")
    assert "t" not in exp_refs(repo)


def test_tracked_ignored_and_lfs_files_are_not_large_untracked_files(repo, exp):
    write(repo, {".gitignore": "*.ckpt\n", ".gitattributes": "*.pt filter=lfs diff=lfs merge=lfs -text\n",
                 "tracked.bin": "x" * 4000})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "setup")
    git(repo, "config", "exp.largeFile", "1k")
    write(repo, {"tracked.bin": "y" * 5000, "last.ckpt": "z" * 5000, "weights.pt": "w" * 5000})
    git(repo, "config", "filter.lfs.clean", "cat")  # stands in for git-lfs: the path's attribute is what counts
    ran = exp("save", "-n", "ok")
    assert ran.code == 0, ran


def test_run_refuses_before_the_command_runs(repo, exp, tmp_path):
    git(repo, "config", "exp.largeFile", "1k")
    write(repo, {"dump.bin": "x" * 2000})
    mark = tmp_path / "ran"
    assert_error(exp("run", "-n", "r", "--", "touch", str(mark)), 2, "'dump.bin'", "git exp run --allow-large")
    assert not mark.exists() and "r" not in exp_refs(repo)
    ran = exp("run", "-n", "r", "--allow-large", "--", "touch", str(mark))
    assert ran.code == 0 and mark.exists(), ran
    assert "exp.largeFile" not in ran.err  # --allow-large: no word about size


def test_run_warns_about_large_output_before_the_commit(repo, exp, monkeypatch):
    traced(monkeypatch)
    git(repo, "config", "exp.largeFile", "1k")
    ran = exp("run", "-n", "out", "--", sys.executable, "-c",
              "open('weights.bin', 'w').write('x' * 5000); open('metrics.json', 'w').write('{}')")
    assert ran.code == 0, ran
    lines = ran.err.splitlines()
    warning = next(i for i, line in enumerate(lines) if "the command wrote a file over exp.largeFile (1 KiB)" in line)
    assert "'weights.bin' (4.9 KiB)" in lines[warning] and ".gitignore it or track with git-lfs" in lines[warning]
    assert warning < commit_line(lines)  # said before the commit was written
    assert "weights.bin" in git(repo, "ls-tree", "--name-only", "refs/exp/out")  # and saved: the run is kept


def test_run_says_when_no_metrics_file_was_written(repo, exp, monkeypatch):
    traced(monkeypatch)
    ran = exp("run", "-n", "none", "--", "true")
    assert ran.code == 0, ran
    lines = ran.err.splitlines()
    said = [line for line in lines if "warning" in line]
    assert said == ["git-exp: warning: the command finished but no metrics file was found to save (looked for "
                    "metrics.json, metrics.yaml, metrics.yml) — write one, or name yours with "
                    "`git config --add exp.metrics PATH`"]
    assert lines.index(said[0]) < commit_line(lines)
    from git_exp import git as git_module

    monkeypatch.setattr(git_module, "TRACE", False)
    git(repo, "config", "--add", "exp.metrics", "out/scores.json")
    git(repo, "rm", "-q", "params.yaml")
    git(repo, "commit", "-q", "-m", "no params")
    ran = exp("run", "-n", "none2", "--", "true")
    assert "no params or metrics file was found to save (looked for out/scores.json, params.yaml" in ran.err
    write(repo, {"out/scores.json": "{}"})
    ran = exp("run", "-n", "some", "--", "touch", "out/scores.json")
    assert "warning" not in ran.err, ran


def test_run_says_when_the_metrics_file_is_stale_or_ignored(repo, exp):
    write(repo, {"metrics.json": '{"acc": 1}'})
    ran = exp("run", "-n", "stale", "--", "true")
    assert "the command finished without writing metrics.json: the file saved with it is from before the run" \
        in ran.err, ran
    ran = exp("run", "-n", "fresh", "--", sys.executable, "-c", "open('metrics.json', 'w').write('{\"acc\": 1}')")
    assert "warning" not in ran.err, ran  # rewritten with the same content: written by this run
    write(repo, {".gitignore": "metrics.json\n"})
    ran = exp("run", "-n", "ignored", "--", sys.executable, "-c", "open('metrics.json', 'w').write('{}')")
    assert "metrics.json is ignored by git, so not saved" in ran.err, ran


def test_failed_runs_are_not_told_about_metrics(repo, exp):
    ran = exp("run", "-n", "bad", "--", "sh", "-c", "exit 2")
    assert ran.code == 2 and "warning" not in ran.err, ran


def test_no_untracked_skips_the_size_check(repo, exp):
    git(repo, "config", "exp.largeFile", "1k")
    write(repo, {"dump.bin": "x" * 2000})
    ran = exp("save", "-n", "tracked-only", "--no-untracked")
    assert ran.code == 0, ran
    assert "dump.bin" not in git(repo, "ls-tree", "--name-only", "refs/exp/tracked-only")


@pytest.mark.parametrize("isolated", [False, True])
def test_an_unreadable_config_after_the_command_does_not_lose_the_run(repo, exp, isolated):
    """exp.maxFileSize is read after the command (for the metrics warning): a bad value
    becomes a warning, and the run is saved."""
    git(repo, "config", "exp.maxFileSize", "lots")
    ran = exp("run", "-n", "kept", *(["--isolated"] if isolated else []), "--", "true")
    assert ran.code == 0, ran
    assert "git-exp: warning: exp.maxFileSize is not a size" in ran.err
    assert "kept" in exp_refs(repo)


def test_the_check_costs_two_gits_whatever_the_number_of_files(repo, exp, monkeypatch):
    from git_exp import git as git_module

    write(repo, {f"new/{i}.txt": str(i) for i in range(50)})
    monkeypatch.setattr(git_module, "TRACE", True)
    ran = exp("save", "-n", "traced")
    assert ran.code == 0, ran
    checks = [line for line in ran.err.splitlines() if "ls-files" in line or "exp.largeFile" in line]
    assert len(checks) == 2, ran.err  # the limit, then the untracked files; no git per file


def test_a_sweep_refuses_large_files_before_its_first_run(repo, exp, tmp_path):
    git(repo, "config", "exp.largeFile", "1k")
    write(repo, {"dump.bin": "x" * 2000})
    mark = tmp_path / "ran"
    assert_error(exp("run", "-S", "lr=0.1,0.2", "--", "touch", str(mark)), 2, "'dump.bin'",
                 "git exp run --allow-large")
    assert not mark.exists() and exp_refs(repo) == {}
    ran = exp("run", "-S", "lr=0.1,0.2", "--allow-large", "--", "touch", str(mark))
    assert ran.code == 0 and mark.exists() and len(exp_refs(repo)) == 2, ran
