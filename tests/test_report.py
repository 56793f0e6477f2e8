"""``git exp report``: the data in the page, its escaping, and how it is written.

What the page does in a browser is tested in test_report_browser.py (Chromium)."""
import html as html_lib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import assert_error, git, write

DATA = re.compile(r'<script id="report-data" type="application/json">(.*?)</script>', re.S)


def history(scale: float, steps: int = 5) -> str:
    return "".join(json.dumps({"step": s, "loss": 1 / (1 + s * scale), "train": {"acc": s * scale / 10}}) + "\n"
                   for s in range(steps))


@pytest.fixture
def sweep(repo, exp):
    """Three experiments over one baseline (params.yaml lr 0.1, metrics.json acc 0.5)."""
    write(repo, {"metrics.json": '{"acc": 0.5}', "train.py": "print('hi')\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline")
    for lr, acc in (("0.01", 0.9), ("0.5", 0.4), ("0.2", 0.7)):
        write(repo, {"params.yaml": f"lr: {lr}\n", "metrics.json": json.dumps({"acc": acc}),
                     "metrics.jsonl": history(float(lr)), "train.py": f"print('lr {lr}')\n"})
        assert exp("save", "-n", f"lr-{lr}").code == 0
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "clean", "-fdq")
    return repo


def page_data(text: str) -> dict:
    """The page's data, its step metrics read back as the page reads them
    (``{sha: {metric: [steps, values]}}``, None for NaN)."""
    found = DATA.search(text)
    assert found, "no data element"
    data = json.loads(found.group(1))
    data["histories"] = curves(data["histories"], data["points"])
    return data


def curves(histories: dict, points: str) -> dict:
    import base64
    from array import array

    flat = array("d", base64.b64decode(points, validate=True))
    if sys.byteorder == "big":
        flat.byteswap()

    def read(at, count):
        assert 0 <= at and at + count <= len(flat)
        return [None if value != value else value for value in flat[at:at + count]]

    return {sha: {metric: [list(range(entry[1])) if len(entry) == 2 else read(entry[2], entry[1]),
                           read(entry[0], entry[1])]
                  for metric, entry in series.items()}
            for sha, series in histories.items()}


def test_report_holds_rows_changes_and_histories(sweep, exp):
    (sweep / ".gitignore").write_text("out.html\n")
    ran = exp("report", "-o", "out.html")
    assert ran.code == 0, ran
    assert ran.out == "out.html\n" and ran.err == "wrote out.html: 3 experiments\n"
    text = (sweep / "out.html").read_text()
    assert "<script src" not in text and "http-equiv=\"Content-Security-Policy\"" in text
    data = page_data(text)
    rows = {row["name"]: row for row in data["rows"]}
    assert sorted(rows) == ["lr-0.01", "lr-0.2", "lr-0.5"]
    assert rows["lr-0.01"]["params.lr"] == 0.01 and rows["lr-0.01"]["metrics.acc"] == 0.9
    assert data["params"] == ["params.lr"]
    assert data["metrics"] == ["metrics.acc", "metrics.loss", "metrics.train.acc"]  # the last two: history
    sha = rows["lr-0.01"]["sha"]
    assert sha == git(sweep, "rev-parse", "refs/exp/lr-0.01").strip()
    change = data["changes"][sha]
    assert {"key": "params.lr", "baseline": 0.1, "experiment": 0.01} in change["values"]
    assert {"key": "metrics.acc", "baseline": 0.5, "experiment": 0.9} in change["values"]
    assert {"key": "metrics.loss", "baseline": None, "experiment": 1 / (1 + 4 * 0.01)} in change["values"]
    numstat = git(sweep, "diff", "--numstat", "HEAD", sha).split("\n")
    expected = sorted([line.split("\t")[2], int(line.split("\t")[0]), int(line.split("\t")[1])]
                      for line in numstat if line)
    assert sorted(change["files"]) == expected  # as git diff --numstat says
    assert "+print('lr 0.01')" in change["patch"] and "-print('hi')" in change["patch"]
    assert "params.yaml" not in change["patch"] and "metrics.json" not in change["patch"]  # shown as values
    assert data["histories"][sha]["loss"] == [list(range(5)), [1 / (1 + s * 0.01) for s in range(5)]]
    assert data["histories"][sha]["train.acc"][1][-1] == 4 * 0.01 / 10


def test_report_selects_like_show(sweep, exp):
    assert exp("report", "lr-0.0*", "lr-0.5", "-o", "a.html").code == 0
    assert sorted(r["name"] for r in page_data((sweep / "a.html").read_text())["rows"]) == ["lr-0.01", "lr-0.5"]
    assert exp("report", "--where", "metrics.acc >= 0.7", "-o", "b.html").code == 0
    assert sorted(r["name"] for r in page_data((sweep / "b.html").read_text())["rows"]) == ["lr-0.01", "lr-0.2"]
    assert_error(exp("report", "nothing-*", "-o", "c.html"), 2, "no experiment matches")
    assert not (sweep / "c.html").exists()


def test_a_report_the_next_save_would_record_gets_a_hint(sweep, exp, tmp_path):
    ran = exp("report", "-o", "sub.html")
    assert ran.code == 0 and "hint: sub.html is in the work tree and not ignored" in ran.err
    for elsewhere in (str(tmp_path / "outside.html"), ".git/r.html"):
        ran = exp("report", "-o", elsewhere)
        assert ran.code == 0 and "hint" not in ran.err, ran
    git(sweep, "add", "-A")  # the hint is right: the file is new and git would take it
    assert "sub.html" in git(sweep, "diff", "--cached", "--name-only")


def test_report_to_stdout(sweep, exp):
    ran = exp("report", "-o", "-")
    assert ran.code == 0 and ran.out.startswith("<!DOCTYPE html>") and ran.out.rstrip().endswith("</html>")
    assert len(page_data(ran.out)["rows"]) == 3


def test_report_write_errors_leave_nothing(sweep, exp):
    assert_error(exp("report", "-o", "missing/dir/r.html"), 2, "no folder", "missing/dir")
    assert not (sweep / "missing").exists()
    (sweep / "r.html").write_text("kept")
    os.mkdir(sweep / "folder")
    assert_error(exp("report", "-o", "folder"), 2, "it is a folder")
    if os.geteuid() != 0:  # root writes anywhere
        os.chmod(sweep / "folder", 0o500)
        assert_error(exp("report", "-o", "folder/r.html"), 1, "cannot write")
        os.chmod(sweep / "folder", 0o700)
    assert (sweep / "r.html").read_text() == "kept"
    assert [p.name for p in sweep.iterdir() if p.name.endswith(".tmp")] == []


def test_everything_from_the_repository_is_escaped(repo, exp):
    """Names, values and file contents cannot end the data element or start markup."""
    hostile = "</script><script>alert(1)</script><!--"
    write(repo, {"params.yaml": json.dumps({"lr": hostile}), "notes.txt": f"{hostile}\n&amp;\n"})
    name = "<b>x</b>"
    assert exp("save", "-n", name, "-m", hostile).code == 0
    ran = exp("report", "-o", "-")
    assert ran.code == 0, ran.err
    body = DATA.search(ran.out).group(1)
    assert "<" not in body and ">" not in body and "&" not in body
    data = json.loads(body)
    row = data["rows"][0]
    assert row["name"] == name and row["params.lr"] == hostile and row["message"] == hostile
    assert hostile in data["changes"][row["sha"]]["patch"]
    head = ran.out.split("<body>")[0]
    assert "<title>" + html_lib.escape(data["title"]) in head


def test_payload_escapes_notes_and_tags(sweep):
    """Notes and tags (from the notes work) go through the same escaping."""
    from git_exp.commands.report import report
    from git_exp.present.report import html
    from git_exp.repo import Repo

    gathered = report(Repo(sweep))
    gathered.rows[0]["note"] = "</script><img src=x onerror=alert(1)>"
    gathered.rows[0]["tags"] = ["<svg onload=alert(2)>", "best"]
    page = html(gathered, "git-exp test")
    body = DATA.search(page).group(1)
    assert "<" not in body
    row = json.loads(body)["rows"][0]
    assert row["note"] == "</script><img src=x onerror=alert(1)>" and row["tags"][0] == "<svg onload=alert(2)>"
    assert page.count("<script") == 5  # data, three vendored, the page's own
    assert len(set(re.findall(r'nonce="([0-9a-f]+)"', page))) == 1


def test_data_encoded_in_two_steps_is_the_same_text(repo, exp):
    """``git exp report`` encodes all but the changes while git diffs (``prepare``), then
    the changes: the page's data is the text one encoding gives, escapes and NaN included."""
    from git_exp.commands.report import gather
    from git_exp.present.report import _data, embedded_json, payload, prepare
    from git_exp.repo import Repo

    hostile = "</script><!--&\u2028"
    write(repo, {"params.yaml": json.dumps({"lr": hostile}), "metrics.yaml": "acc: .nan\n", "notes.txt": hostile,
                 "metrics.jsonl": '{"step": 1, "loss": NaN}\n{"step": 2, "loss": 0.5}\n'})
    assert exp("save", "-n", "<i>x</i>", "-m", hostile).code == 0
    with gather(Repo(repo)) as gathering:
        prepared = prepare(gathering.report, "v")
        gathered = gathering.finish()
    assert gathered.changes[gathered.rows[0]["sha"]].patch  # the changes came after: they are in the text
    one = embedded_json(payload(gathered, "v"))
    assert _data(gathered, "v", prepared) == one and "<" not in one and '"nan"' in one


def test_leaving_the_gathering_stops_git(sweep):
    """Leaving ``gather``'s block (the page failed) stops the git still diffing."""
    from git_exp.commands.report import Gathering, gather
    from git_exp.repo import Repo

    repo = Repo(sweep)
    with gather(repo) as gathering:
        assert gathering.diff is not None
        finished = gathering.finish()
    assert gathering.diff is None and finished.changes and all(c.files for c in finished.changes.values())
    slow = repo.start("-c", "alias.slow=!sleep 30", "slow").background()  # a git that is still running
    with pytest.raises(KeyError):
        with Gathering(repo, gathering.report, {}, slow):
            raise KeyError("while the page was encoded")
    assert slow.result is not None and slow.result.returncode != 0  # stopped and reaped, not ended


def test_step_metrics_are_packed_exactly(tmp_path):
    """The page's array gives back each value and step as the double JSON would: NaN
    for a gap, an int past a double's range as the infinity ``JSON.parse`` makes."""
    from git_exp.present.report import step_points

    series = {"a": {"loss": [(0, 0.1), (1, None), (2, 2**53 + 1), (3, 10**400)],
                    "acc": [(0.0, 1e-300), (1.0, -0.0)], "none": []},
              "b": {"loss": [(5, 1), (-0.0, 2), (2.5, -(10**400)), (float("inf"), 0.3)]},
              "c": {}}
    histories, points = step_points(series)
    assert set(histories) == {"a", "b"} and set(histories["a"]) == {"loss", "acc"}
    assert histories["a"]["loss"][1:] == [4] and histories["a"]["acc"][1:] == [2]  # steps 0, 1...: not held
    assert set(points) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    back = curves(histories, points)
    assert back["a"]["loss"] == [[0, 1, 2, 3], [0.1, None, float(2**53 + 1), float("inf")]]
    assert back["a"]["acc"] == [[0, 1], [1e-300, -0.0]] and str(back["a"]["acc"][1][1]) == "-0.0"
    assert back["b"]["loss"] == [[5, -0.0, 2.5, float("inf")], [1, 2, float("-inf"), 0.3]]
    assert str(back["b"]["loss"][0][1]) == "-0.0"


def test_non_finite_numbers_stay_valid_json(repo, exp):
    write(repo, {"metrics.yaml": "acc: .nan\nloss: .inf\n"})
    assert exp("save", "-n", "odd").code == 0
    data = page_data(exp("report", "-o", "-").out)
    assert data["rows"][0]["metrics.acc"] == "nan" and data["rows"][0]["metrics.loss"] == "inf"


def test_large_and_binary_changes_are_listed_not_shown(repo, exp):
    from git_exp.commands import report

    write(repo, {"big.txt": "x" * 10 + "\n" * (report.PATCH_MAX + 1), "blob.bin": b"\0\1\2"})
    assert exp("save", "-n", "big").code == 0
    data = page_data(exp("report", "-o", "-").out)
    change = data["changes"][data["rows"][0]["sha"]]
    assert change["patch"] is None and "too large or binary" in change["patch_note"]
    assert sorted(change["files"]) == [["big.txt", report.PATCH_MAX + 1, 0], ["blob.bin", None, None]]
    (repo / "big.txt").unlink()
    (repo / "blob.bin").unlink()
    write(repo, {"params.yaml": "lr: 0.2\n", "metrics.jsonl": "{}\n"})
    assert exp("save", "-n", "params-only").code == 0
    data = page_data(exp("report", "params-only", "-o", "-").out)
    change = data["changes"][data["rows"][0]["sha"]]
    assert change["patch"] is None and change["patch_note"].startswith("only params, metrics and step-metric files")


def test_an_empty_report_says_so(repo, exp):
    ran = exp("report", "-o", "r.html")
    assert ran.code == 0 and ran.out == "r.html\n"
    assert "the report holds no experiments — `git exp save`" in ran.err
    assert page_data((repo / "r.html").read_text())["rows"] == []


def test_root_experiment_has_no_changes(tmp_path, monkeypatch, exp):
    from .conftest import init_repo

    path = init_repo(tmp_path / "empty", commit=False, files={"params.yaml": "lr: 1\n"})
    monkeypatch.chdir(path)
    assert exp("save", "-n", "first").code == 0
    data = page_data(exp("report", "-o", "-").out)
    assert data["rows"][0]["baseline"] is None and data["changes"] == {}


def test_curves_come_from_the_history_reader(repo, exp, monkeypatch):
    """DVCLive's layout too, as ``history.read`` gives it; long series thinned for the page."""
    from git_exp import history
    from git_exp.commands import report

    rows = "".join(f"{1000 + s}\t{s}\t{1 / (s + 1)}\n" for s in range(40))
    write(repo, {"dvclive/plots/metrics/train/loss.tsv": "timestamp\tstep\tloss\n" + rows,
                 "metrics.jsonl": "".join(json.dumps({"step": s, "acc": s / 40}) + "\n" for s in range(40))})
    assert exp("save", "-n", "live").code == 0
    monkeypatch.setattr(report, "HISTORY_MAX_POINTS", 10)
    data = page_data(exp("report", "-o", "-").out)
    sha = data["rows"][0]["sha"]
    from git_exp.repo import Repo

    full = history.read(Repo(repo), [sha])[sha]
    assert sorted(data["histories"][sha]) == sorted(full) == ["acc", "train.loss"]
    steps, values = data["histories"][sha]["train.loss"]
    assert len(steps) == 10 and steps[0] == 0 and steps[-1] == 39
    assert [list(p) for p in zip(steps, values)] == [list(p) for p in full["train.loss"] if p[0] in steps]
    change = data["changes"][sha]  # history files are shown as curves, not as a patch
    assert change["patch"] is None and change["patch_note"].startswith("only params, metrics and step-metric")


def test_startup_does_not_read_the_report_code(repo):
    """`git exp ls` and `show` import nothing of the report (the plotting library is in it)."""
    code = ("import sys; from git_exp.cli import main; code = main(sys.argv[1:]); "
            "sys.stdout.write('\\nreport: %s\\n' % any('report' in m for m in sys.modules)); sys.exit(code)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for args in (["ls"], ["show", "--md"]):
        ran = subprocess.run([sys.executable, "-c", code, *args], cwd=repo, capture_output=True, text=True, env=env)
        assert ran.returncode == 0 and ran.stdout.endswith("report: False\n"), (args, ran)
