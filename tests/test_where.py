"""``--where`` end to end: show, ls, rm, gc, push and pull select with the same language,
on real repositories with real git (push to and pull from a real bare remote); every
error is one line, exit 2, and changes nothing."""
from __future__ import annotations

import json
import time

import pytest

from .conftest import assert_error, exp_refs, git, write


def run_exp(exp, repo, name, acc, lr, command=("true",)):
    write(repo, {"params.yaml": f"lr: {lr}\nopt: adam\n", "metrics.json": json.dumps({"acc": acc})})
    ran = exp("run", "-n", name, "--", *command, cwd=repo)
    assert ran.code == (0 if command == ("true",) else 1), ran


@pytest.fixture
def scored(repo, exp, monkeypatch):
    """good (acc 0.95, 4.5 days old), fine (0.85, 3.5 d), poor (0.4, lr 0.5, 2.5 d), crashed
    (failed, 0.1, 1.5 d), and broken (a metrics file that does not parse, 0.5 d)."""
    now = time.time()

    def days_ago(days):
        monkeypatch.setenv("GIT_COMMITTER_DATE", f"{int(now - days * 86400)} +0000")
    days_ago(4.5)
    run_exp(exp, repo, "good", 0.95, 0.01)
    days_ago(3.5)
    run_exp(exp, repo, "fine", 0.85, 0.1)
    days_ago(2.5)
    run_exp(exp, repo, "poor", 0.4, 0.5)
    days_ago(1.5)
    run_exp(exp, repo, "crashed", 0.1, 0.1, command=("false",))
    days_ago(0.5)
    write(repo, {"metrics.json": "{not json"})
    assert exp("save", "-n", "broken", cwd=repo).code == 0
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    return repo


def shown_names(exp, *args):
    ran = exp("show", "--json", *args)
    assert ran.code == 0, ran
    return sorted(row["name"] for row in json.loads(ran.out))


UNDECIDED = ("git-exp: warning: 1 experiment was left out because --where cannot decide without its unreadable "
             "params or metrics files: 'broken' (`git exp show` shows why)")


def test_show_where_answers_or_refuses(scored, exp):
    assert shown_names(exp, "--where", "acc > 0.9 or status == failed") == ["crashed", "good"]
    assert shown_names(exp, "--where", "not (acc > 0.5) and params.lr in (0.5, 0.1)") == ["crashed", "poor"]
    assert shown_names(exp, "--where", "duration < 10s and created > 2000-01-01") == [
        "crashed", "fine", "good", "poor"]  # `broken` was saved, not run: no duration
    assert shown_names(exp, "--where", "created < 2d ago") == ["fine", "good", "poor"]
    assert shown_names(exp, "--where", "created > 3d ago and created < 1d ago") == ["crashed", "poor"]
    day = time.strftime("%Y-%m-%d", time.localtime(time.time() - 2.5 * 86400))
    assert "poor" in shown_names(exp, "--where", f"created == {day}")
    assert "poor" not in shown_names(exp, "--where", f"created > {day}")
    assert shown_names(exp, "--where", "metrics is not missing") == ["broken"]  # the error cell
    ran = exp("show", "--where", "acc < 0.5")
    assert ran.code == 0 and sorted(line.split()[0] for line in ran.out.splitlines()[2:]) == ["crashed", "poor"]
    assert UNDECIDED in ran.err.splitlines()
    assert_error(exp("show", "--where", "metrcs.acc > 0.9"), 2,
                 "--where: no column named 'metrcs.acc' (at character 1) — did you mean 'metrics.acc'? known columns: "
                 "metrics.acc, params.lr, params.opt, name, remote,")
    assert_error(exp("show", "--where", "duration > fast"), 2, "duration holds durations, and 'fast' is text")
    assert_error(exp("show", "--where", "acc >"), 2, "expected a value after '>'")
    assert_error(exp("show", "--sort", "zzz"), 2, "--sort: no column named 'zzz' — known columns: metrics.acc")
    assert [line.split()[0] for line in exp("show", "--sort", "-acc").out.splitlines()[2:5]] == ["good", "fine", "poor"]


def test_show_where_and_sort_short_form_ambiguous(repo, exp):
    write(repo, {"params.yaml": "acc: 1\n", "metrics.json": '{"acc": 0.5}'})
    exp("save", "-n", "both")
    assert_error(exp("show", "--where", "acc > 0"), 2, "'acc' (at character 1) could be 'params.acc' or 'metrics.acc'")
    assert_error(exp("show", "--sort", "acc"), 2, "--sort: 'acc' could be 'params.acc' or 'metrics.acc'")
    assert shown_names(exp, "--where", "metrics.acc > 0.1") == ["both"]


def test_ls_where(scored, exp):
    ran = exp("ls", "--where", "acc >= 0.85")
    assert ran.code == 0, ran
    assert [line.split()[-1] for line in ran.out.splitlines()[1:]] == ["fine", "good"]
    rows = json.loads(exp("ls", "--json", "--where", "exit_code != 0").out)
    assert [r["name"] for r in rows] == ["crashed"] and rows[0]["exit_code"] == 1
    assert rows[0]["sha"] == exp_refs(scored)["crashed"]
    assert_error(exp("ls", "--where", "acc > 0.9 and"), 2, "expected a condition (at the end)")
    assert_error(exp("ls", "origin", "--where", "acc > 0.9"), 2, "--where needs the experiments' metrics")


def test_rm_where(scored, exp):
    before = exp_refs(scored)
    ran = exp("rm", "--dry-run", "--where", "acc < 0.5")
    assert ran.code == 0 and ran.out.split("\n")[:2] == [f"would delete crashed ({before['crashed']})",
                                                         f"would delete poor ({before['poor']})"]
    assert exp_refs(scored) == before
    # a pattern and a query: both
    ran = exp("rm", "p*", "c*", "--where", "acc < 0.2")
    assert ran.code == 0 and ran.out == f"deleted crashed ({before['crashed']})\n"
    assert UNDECIDED not in ran.err  # broken was not among the names given
    ran = exp("rm", "--where", "acc < 0.5")
    assert ran.code == 0 and ran.out == f"deleted poor ({before['poor']})\n"
    assert UNDECIDED in ran.err.splitlines()  # and it is still there
    assert sorted(exp_refs(scored)) == ["broken", "fine", "good"]
    ran = exp("rm", "--where", "acc < 0")
    assert ran.code == 0 and ran.out == "" and "no experiment matches --where; nothing was deleted" in ran.err


ERRORS = [  # (command line, fragment of its one-line error); each changes nothing
    (("rm", "--where", "acc < 0.5 or"), "expected a condition (at the end)"),
    (("rm", "--where", ""), "--where: the query is empty"),
    (("show", "--where", " "), "--where: the query is empty"),
    (("ls", "--where", ""), "--where: the query is empty"),
    (("push", "--where", ""), "--where: the query is empty"),
    (("rm", "--where", "acc < low"), "metrics.acc holds numbers, and 'low' is text"),
    (("rm", "--where", "acu < 0.5"), "no column named 'acu'"),
    (("rm", "nothing*", "--where", "acc < 0.5"), "no experiment matches 'nothing*'"),
    (("rm", "--remote", "origin", "--where", "acc < 0.5 and"), "expected a condition"),
    (("gc", "--where", "acc < 0.5 and created > 2026"), "created holds times, and '2026' is a number"),
    (("gc", "--keep", "1", "--where", "(acc < 0.5"), "is not closed"),
    (("push", "origin", "--where", "acc ~ '['"), "is not a regular expression"),
    (("pull", "origin", "--where", "acc >"), "expected a value after '>'"),  # before any fetch
]


def test_where_errors_change_nothing(scored, exp, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(scored, "remote", "add", "origin", str(remote))
    git(scored, "push", "-q", "origin", "refs/exp/good:refs/exp/good", "refs/exp/poor:refs/exp/poor")
    before, theirs = exp_refs(scored), exp_refs(remote)
    for args, fragment in ERRORS:
        assert_error(exp(*args), 2, fragment)
        assert exp_refs(scored) == before and exp_refs(remote) == theirs, args
        assert exp_refs(scored, "refs/remote-exp/") == {}, args  # pull fetched nothing
    # a column is known once the remote's rows are read: fetched as git fetch would, no local ref
    assert_error(exp("pull", "origin", "--where", "labels contains x"), 2, "no column named 'labels'")
    assert exp_refs(scored) == before and exp_refs(remote) == theirs
    assert exp_refs(scored, "refs/remote-exp/origin/") == theirs


def test_gc_where(scored, exp):
    before = exp_refs(scored)
    ran = exp("gc", "--dry-run", "--where", "status == failed or acc < 0.5")
    assert ran.code == 0 and sorted(ran.out.splitlines()) == [
        f"would delete crashed ({before['crashed']})", f"would delete poor ({before['poor']})"]
    assert UNDECIDED in ran.err.splitlines()
    # criteria combine with AND: --keep 3 keeps broken, crashed and poor; the query takes good of the rest
    ran = exp("gc", "--keep", "3", "--where", "metrics.acc > 0.9")
    assert ran.code == 0 and ran.out == f"deleted good ({before['good']})\n"
    assert UNDECIDED not in ran.err.splitlines()  # broken was kept by --keep: nothing to decide
    assert sorted(exp_refs(scored)) == ["broken", "crashed", "fine", "poor"]
    ran = exp("gc", "--older-than", "2d", "--where", "created < 3d ago")  # both: only fine now
    assert ran.code == 0 and ran.out == f"deleted fine ({before['fine']})\n"


def test_push_where_to_a_bare_remote(scored, exp, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(scored, "remote", "add", "origin", str(remote))
    ours = exp_refs(scored)
    ran = exp("push", "--where", "acc > 0.9")  # the default remote, every experiment with acc > 0.9
    assert ran.code == 0, ran
    assert ran.out == "new          good\n"
    assert exp_refs(remote) == {"good": ours["good"]}
    ran = exp("push", "origin", "f*", "p*", "--where", "acc > 0.5", "--dry-run")
    assert ran.code == 0 and ran.out == "would be new fine\n"
    ran = exp("push", "origin", "--all", "--where", "acc > 0.5")
    assert ran.code == 0 and ran.out == "new          fine\n" and "1 new, 1 up to date" in ran.err
    assert UNDECIDED in ran.err.splitlines()
    assert exp_refs(remote) == {"good": ours["good"], "fine": ours["fine"]}
    ran = exp("push", "origin", "--where", "acc > 2")
    assert ran.code == 0 and "no experiment matches --where; nothing to push" in ran.err
    git(remote, "fsck", "--no-progress")


def test_pull_where_from_a_bare_remote(scored, exp, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(scored, "remote", "add", "origin", str(remote))
    git(scored, "push", "-q", "origin", "main")
    assert exp("push", "origin", "--all").code == 0
    theirs = exp_refs(remote)
    laptop = tmp_path / "laptop"
    git(tmp_path, "clone", "-q", str(remote), str(laptop))
    ran = exp("pull", "--where", "acc > 0.8 and params.lr <= 0.1", cwd=laptop)
    assert ran.code == 0, ran
    assert sorted(ran.out.splitlines()) == ["new            fine", "new            good"]
    err = ran.err.splitlines()
    assert "2 experiments did not match --where (fetched to refs/remote-exp/origin/ only)" in err
    assert UNDECIDED.replace("'broken'", "'origin/broken'") in err
    assert exp_refs(laptop) == {n: theirs[n] for n in ("fine", "good")}
    assert exp_refs(laptop, "refs/remote-exp/origin/") == theirs  # all fetched, as git fetch would
    ran = exp("ls", "-r", "--where", "remote == origin and status == failed", cwd=laptop)
    assert ran.code == 0 and [line.split()[-1] for line in ran.out.splitlines()[1:]] == ["origin/crashed"]
    # a pattern and a query; then the same pull again is a no-op
    ran = exp("pull", "origin", "c*", "p*", "--where", "status == failed", cwd=laptop)
    assert ran.code == 0 and ran.out == "new            crashed\n"
    assert "1 experiment did not match --where" in ran.err
    ran = exp("pull", "origin", "--where", "status == failed", cwd=laptop)
    assert ran.code == 0 and ran.out == "" and "1 experiment already up to date" in ran.err
    assert sorted(exp_refs(laptop)) == ["crashed", "fine", "good"]
    git(laptop, "fsck", "--no-progress")


def test_rm_remote_where_decides_on_current_remote_tracking_refs(scored, exp, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(scored, "remote", "add", "origin", str(remote))
    assert exp("push", "origin", "--all").code == 0
    ours, theirs = exp_refs(scored), exp_refs(remote)
    # not fetched: the query cannot see the remote's experiments
    assert_error(exp("rm", "--remote", "origin", "--where", "acc < 0.5"), 2,
                 "--where decides on the experiments as fetched, and 5 on origin are not fetched as they are there",
                 "nothing was deleted")
    assert exp_refs(remote) == theirs
    assert exp("pull", "origin", "--all").code == 0  # writes the remote-tracking refs
    ran = exp("rm", "--remote", "origin", "--where", "acc < 0.5")
    assert ran.code == 0, ran
    assert sorted(ran.out.splitlines()) == [f"deleted crashed ({theirs['crashed']})", f"deleted poor ({theirs['poor']})"]
    assert UNDECIDED.replace("'broken'", "'origin/broken'") in ran.err.splitlines()
    assert sorted(exp_refs(remote)) == ["broken", "fine", "good"] and exp_refs(scored) == ours
    # the remote moved on since the fetch: refused rather than decided on the old commit
    write(scored, {"metrics.json": '{"acc": 0.1}'})
    assert exp("save", "-n", "fine", "--append").code == 0
    git(scored, "push", "-q", "origin", "refs/exp/fine:refs/exp/fine")
    assert_error(exp("rm", "--remote", "origin", "fine", "--where", "acc < 0.5"), 2,
                 "1 on origin are not fetched as they are there (e.g. 'fine')")
    assert exp_refs(remote)["fine"] == exp_refs(scored)["fine"]


def test_where_with_the_other_criteria_of_rm_and_gc(scored, exp):
    before = exp_refs(scored)
    ran = exp("rm", "--dry-run", "--older-than", "3d", "--where", "acc > 0.9")  # good and fine are old enough
    assert ran.code == 0 and ran.out == f"would delete good ({before['good']})\n"
    ran = exp("gc", "p*", "c*", "--where", "acc < 0.2")  # names, then the query
    assert ran.code == 0 and ran.out == f"deleted crashed ({before['crashed']})\n"
    assert sorted(exp_refs(scored)) == ["broken", "fine", "good", "poor"]


def test_pull_where_from_a_url_is_refused(scored, exp, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(scored, "push", "-q", str(remote), "refs/exp/*:refs/exp/*")
    laptop = tmp_path / "laptop"
    git(tmp_path, "init", "-q", str(laptop))
    assert_error(exp("pull", str(remote), "--where", "acc > 0.9", cwd=laptop), 2, "which a URL has none of")
    assert exp_refs(laptop, "refs/") == {}


def test_every_where_sees_the_columns_show_shows(repo, exp, tmp_path):
    """A metric only a history file has (metrics.jsonl's latest step) is a column for
    ls, rm, push as for show: they read rows through the same reader."""
    write(repo, {"metrics.jsonl": '{"loss": 0.9}\n{"loss": 0.2}\n'})
    assert exp("save", "-n", "converged").code == 0
    write(repo, {"metrics.jsonl": '{"loss": 0.9}\n{"loss": 0.8}\n'})
    assert exp("save", "-n", "stuck").code == 0
    assert shown_names(exp, "--where", "loss < 0.5") == ["converged"]
    assert [line.split()[-1] for line in exp("ls", "--where", "loss < 0.5").out.splitlines()[1:]] == ["converged"]
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    assert exp("push", "--where", "metrics.loss < 0.5").code == 0
    assert sorted(exp_refs(remote)) == ["converged"]
    ran = exp("rm", "--where", "loss >= 0.5")
    assert ran.code == 0 and sorted(exp_refs(repo)) == ["converged"]
