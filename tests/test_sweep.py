"""run -S (params set for a run, files kept as written) and sweeps (grid, --jobs, --random,
--name-prefix, Ctrl-C), with real git and real parallel processes."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import assert_error, exp_refs, git, write

ROOT = Path(__file__).resolve().parents[1]

PARAMS = """\
# training parameters
lr: 0.1   # learning rate
model:
  depth: 3    # layers
  name: 'resnet'
  layers:
    - 64
    - 128
dropout: ~
epochs: 10
"""

# Reads params.yaml, writes metrics.json with when it ran.  With $MARKS set it first drops
# a marker there and waits (up to 20 s) until $WAIT_FOR markers exist: two runs that both
# get past that wait were running at the same time, whatever the machine's load.
TRAIN = """\
import json, os, pathlib, sys, time, yaml
p = yaml.safe_load(open("params.yaml"))
start = time.time()
marks = os.environ.get("MARKS")
if marks:
    pathlib.Path(marks, f"{p['lr']}-{p['model']['depth']}").write_text("")
    deadline = time.time() + 20
    while len(os.listdir(marks)) < int(os.environ["WAIT_FOR"]) and time.time() < deadline:
        time.sleep(0.02)
if p["lr"] in p.get("slow", []):
    print("sleeping", flush=True)
    time.sleep(60)
json.dump({"acc": round(1 - p["lr"] / p["model"]["depth"], 4), "start": start, "end": time.time()},
          open("metrics.json", "w"))
"""


def trailer_values(repo, ref, key):
    text = git(repo, "log", "-1", "--format=%B", ref)
    return [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith(key + ": ")]


def project(repo):
    write(repo, {"params.yaml": PARAMS, "train.py": TRAIN})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "project")


def test_set_keeps_yaml_comments_and_order_and_restores(repo, exp):
    project(repo)
    ran = exp("run", "-n", "one", "-S", "lr=1e-3", "-S", "model.layers.1=256", "-S", "+model.width=[8,16]",
              "-S", "model.name=vgg", "--", sys.executable, "-c", "print(open('params.yaml').read(), end='')")
    assert ran.code == 0, ran
    expected = PARAMS.replace("lr: 0.1   #", "lr: 0.001 #").replace("- 128", "- 256").replace(
        "'resnet'", "'vgg'").replace("    - 256\n", "    - 256\n  width: [8, 16]\n")
    assert ran.out == expected  # what the command saw
    assert git(repo, "show", "refs/exp/one:params.yaml") == expected
    assert (repo / "params.yaml").read_text() == PARAMS  # the work tree is as it was
    assert git(repo, "status", "--porcelain") == ""
    assert trailer_values(repo, "refs/exp/one", "Exp-Params-Set") == [
        "lr=1e-3", "model.layers.1=256", "+model.width=[8,16]", "model.name=vgg"]


def test_set_toml_and_json_keep_their_layout_and_values_are_typed(repo, exp):
    toml = "# top\nlr = 0.1  # learning rate\n\n[model]\ndepth = 3 # layers\nname = \"x\"\n"
    data = '{\n\t"lr": 0.1,\n\t"tags": ["a", "b"],\n\t"model": {\n\t\t"depth": 3\n\t},\n\t"s": "é"\n}\n'
    write(repo, {"conf.toml": toml, "conf.json": data, "w.yaml": b"a: 1\r\nb: 2  # c\r\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "configs")
    values = {"i": "5", "f": "0.1", "e": "1e-3", "b": "true", "n": "null", "l": "[1,2]", "s": "abc", "q": "'5'",
              "y": "yes"}
    sets = [arg for key, text in values.items() for arg in ("-S", f"conf.json:+{key}={text}")]
    ran = exp("run", "-n", "typed", "--isolated", *sets, "-S", "conf.toml:model.depth=5", "-S", "conf.toml:lr=2",
              "-S", "w.yaml:b=3", "--", "true")
    assert ran.code == 0, ran
    assert git(repo, "show", "refs/exp/typed:conf.toml") == toml.replace("= 0.1", "= 2").replace("= 3", "= 5")
    blob = subprocess.run(["git", "cat-file", "blob", "refs/exp/typed:w.yaml"], cwd=repo, capture_output=True).stdout
    assert blob == b"a: 1\r\nb: 3  # c\r\n"  # CRLF kept
    saved = git(repo, "show", "refs/exp/typed:conf.json")
    assert json.loads(saved) == {"lr": 0.1, "tags": ["a", "b"], "model": {"depth": 3}, "s": "abc", "i": 5, "f": 0.1, "e": 0.001,
                                 "b": True, "n": None, "l": [1, 2], "q": "5", "y": "yes"}
    assert saved.startswith('{\n\t"lr": 0.1,\n\t"tags": ["a", "b"],\n\t"model": {\n\t\t"depth": 3\n\t},\n\t"s": "abc",'
                            '\n\t"i": 5,')
    assert '\n\t"l": [1, 2],\n' in saved
    assert (repo / "conf.json").read_text() == data and (repo / "conf.toml").read_text() == toml
    assert git(repo, "status", "--porcelain") == ""


def test_set_errors_change_nothing(repo, exp, tmp_path):
    project(repo)
    write(repo, {"bad.yaml": "a: [1\n", "conf.toml": "x = 1\n"})
    os.symlink("/etc/hostname", repo / "out.yaml")
    marker = tmp_path / "ran"
    cases = [
        (["-S", "out.yaml:a=1"], "'out.yaml' leads out of the work tree"),
        (["-S", "lr"], "has no '='"),
        (["-S", "lr.x=1"], "lr in params.yaml is the number 0.1, not a mapping"),
        (["-S", "model.dept=5"], "params.yaml has no model.dept (keys under model: depth, name, layers)"),
        (["-S", "missing.yaml:a=1"], "'missing.yaml' does not exist"),
        (["-S", "bad.yaml:a=2"], "bad.yaml does not parse"),
        (["-S", "lr=[0.1"], "the value '[0.1' does not parse as YAML"),
        (["-S", "lr="], "has an empty value"),
        (["-S", "conf.toml:x=null"], "TOML has no null"),
        (["-S", "lr=0.1", "-S", "lr=0.2"], "sets lr again"),
        (["-S", "lr=0.1,0.2", "-n", "x"], "-n names one run, and this is a sweep"),
        (["-S", "lr=0.1,0.2", "--jobs", "0"], "--jobs 0"),
    ]
    before = {p: p.read_bytes() for p in repo.iterdir() if p.is_file()}
    for args, fragment in cases:
        assert_error(exp("run", *args, "--", "touch", str(marker)), 2, fragment)
    assert not marker.exists()
    assert exp_refs(repo) == {}
    assert {p: p.read_bytes() for p in repo.iterdir() if p.is_file()} == before


def start(repo, *args, **env):
    return subprocess.Popen([sys.executable, "-m", "git_exp", "run", *args], cwd=repo,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_ctrl_c_restores_the_params_of_a_run_in_place(repo):
    project(repo)
    write(repo, {"params.yaml": PARAMS + "slow: [9]\n"})  # an uncommitted edit of the user's, kept
    proc = start(repo, "-n", "stopped", "-S", "lr=9", "--", sys.executable, "train.py")
    assert proc.stdout.readline() == "sleeping\n"
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 130, proc.stderr.read()
    assert (repo / "params.yaml").read_text() == PARAMS + "slow: [9]\n"
    assert trailer_values(repo, "refs/exp/stopped", "Exp-Status") == ["interrupted"]
    assert "lr: 9 " in git(repo, "show", "refs/exp/stopped:params.yaml")


def test_sweep_runs_the_grid_in_parallel(repo, exp, tmp_path, monkeypatch):
    project(repo)
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARKS", str(marks))
    monkeypatch.setenv("WAIT_FOR", "2")
    ran = exp("run", "-S", "lr=0.1,0.01", "-S", "model.depth=3,5", "--jobs", "2", "--name-prefix", "sweep/",
              "--", sys.executable, "train.py")
    assert ran.code == 0, ran
    names = ["sweep/lr-0.1-depth-3", "sweep/lr-0.1-depth-5", "sweep/lr-0.01-depth-3", "sweep/lr-0.01-depth-5"]
    refs = exp_refs(repo)
    assert sorted(refs) == sorted(names)
    head = git(repo, "rev-parse", "HEAD").strip()
    ran_at = {}
    for name in names:
        lr, depth = name.split("-")[1], name.split("-")[3]
        assert git(repo, "rev-parse", f"refs/exp/{name}^").strip() == head  # one shared baseline
        saved = git(repo, "show", f"refs/exp/{name}:params.yaml")
        assert saved == PARAMS.replace("lr: 0.1   #", f"lr: {lr}".ljust(9) + " #").replace("depth: 3", f"depth: {depth}")
        metrics = json.loads(git(repo, "show", f"refs/exp/{name}:metrics.json"))
        assert metrics["acc"] == round(1 - float(lr) / int(depth), 4)
        ran_at[name] = (metrics["start"], metrics["end"])
        assert f"] ok  {name}  exit 0, " in ran.err
    first, second = ran_at[names[0]], ran_at[names[1]]
    assert first[0] < second[1] and second[0] < first[1]  # the first two ran at the same time
    assert ran.out.splitlines()[0].split() == ["name", "status", "duration", "lr", "model.depth", "metrics.acc",
                                              "metrics.start", "metrics.end"]
    assert [line.split()[0] for line in ran.out.splitlines()[1:]] == names
    assert "sweep done: 4 runs saved" in ran.err
    assert (repo / "params.yaml").read_text() == PARAMS and git(repo, "status", "--porcelain") == ""
    assert git(repo, "worktree", "list").count("\n") == 1
    again = exp("run", "-S", "lr=0.1,0.01", "-S", "model.depth=3,5", "--name-prefix", "sweep/", "--", "true")
    assert_error(again, 2, "experiment 'sweep/lr-0.1-depth-3' already exists")
    assert exp_refs(repo) == refs


@pytest.mark.parametrize("tty", [False, pytest.param(True, marks=pytest.mark.once)], ids=["pipes", "terminal"])
def test_ctrl_c_stops_a_sweep_cleanly(repo, tmp_path, tty):
    """Without a terminal the sweep passes SIGINT on to its runs; on one, the terminal
    sends it to every process of the job.  Either way: the same records."""
    from .test_processes import Started

    project(repo)
    write(repo, {"params.yaml": PARAMS + "slow: [2, 3]\n"})
    marks = tmp_path / "marks"
    marks.mkdir()
    started = Started(repo, ["run", "-S", "lr=1,2,3,4", "-j", "2", "--name-prefix", "s/", "--", sys.executable,
                             "train.py"], tty=tty, env={"MARKS": str(marks), "WAIT_FOR": "1", "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while not {"2-3", "3-3"} <= set(os.listdir(marks)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # both are in their sleep
    assert started.interrupt()
    code, out = started.finish()
    assert code == 130, out
    refs = exp_refs(repo)
    assert sorted(refs) == ["s/lr-1", "s/lr-2", "s/lr-3"], out  # lr-4 never started
    assert trailer_values(repo, "refs/exp/s/lr-1", "Exp-Status") == ["ok"]
    for name in ("s/lr-2", "s/lr-3"):
        assert trailer_values(repo, f"refs/exp/{name}", "Exp-Status") == ["interrupted"]
        assert trailer_values(repo, f"refs/exp/{name}", "Exp-Exit-Code") == ["130"]
    assert out.strip().splitlines()[-1] == ("git-exp: sweep interrupted (SIGINT): 1 run saved, "
                                            "2 saved as interrupted, 1 not started")
    assert "s/lr-4  not started" in out
    assert git(repo, "worktree", "list").count("\n") == 1
    assert (repo / "params.yaml").read_text() == PARAMS + "slow: [2, 3]\n"


def test_sweep_plan_names_and_random(repo):
    from git_exp import overrides
    from git_exp.commands import sweep
    from git_exp.repo import Repo

    project(repo)

    def plan(*sets, **kw):
        options = {"jobs": None, "random_": None, "seed": None, "prefix": "p/", "name": None, "force": False,
                   "append": False, **kw}
        return sweep.prepare(Repo(), overrides.parse_all(list(sets)), ["true"], **options)

    grid = plan("lr=1,2,3", "model.depth=4,5")
    assert [r.name for r in grid.runs] == ["p/lr-1-depth-4", "p/lr-1-depth-5", "p/lr-2-depth-4", "p/lr-2-depth-5",
                                           "p/lr-3-depth-4", "p/lr-3-depth-5"]
    one = plan("lr=1,2,3", "model.depth=4,5", random_=3, seed=7)
    assert [r.name for r in one.runs] == [r.name for r in plan("lr=1,2,3", "model.depth=4,5", random_=3, seed=7).runs]
    assert len(one.runs) == 3 and {r.name for r in one.runs} <= {r.name for r in grid.runs}
    samples = {tuple(r.name for r in plan("lr=1,2,3", "model.depth=4,5", random_=3, seed=s).runs) for s in range(4)}
    assert len(samples) > 1
    assert len(plan("lr=1,2", random_=10, seed=1).runs) == 2
    odd = plan("model.name='a b',[x,y]," + "v" * 40)  # a space, a comma in a list, a long value
    names = [r.name for r in odd.runs]
    assert names[0].startswith("p/name-_a_b_-") and names[1].startswith("p/name-_x,y_-") and len(set(names)) == 3
    assert names[2].startswith("p/name-" + "v" * 24 + "-") and len(names[2]) == len("p/name-") + 24 + 7
    assert all(len(n.rsplit("-", 1)[1]) == 6 for n in names)  # the hash of the point
    assert plan("lr=0.1", "model.depth=3").runs[0].name == "p/lr-0.1-depth-3"  # none varies: all named


def test_a_failed_run_keeps_its_output_and_fails_the_sweep(repo, exp):
    project(repo)
    script = "import yaml; lr = yaml.safe_load(open('params.yaml'))['lr']; print('lr is', lr); exit(3 if lr == 2 else 0)"
    ran = exp("run", "-S", "lr=1,2", "-j", "2", "--name-prefix", "f/", "--", sys.executable, "-c", script)
    assert ran.code == 1, ran
    assert trailer_values(repo, "refs/exp/f/lr-2", "Exp-Status") == ["failed"]
    assert trailer_values(repo, "refs/exp/f/lr-1", "Exp-Status") == ["ok"]
    line = next(one for one in ran.err.splitlines() if "f/lr-2" in one)
    log = line.split("(output: ", 1)[1].rstrip(")")
    assert line.startswith("git-exp: [2/2] failed  f/lr-2  exit 3, ")
    assert Path(log).read_text() == "lr is 2\n"
    assert "sweep done: 2 runs saved (1 failed)" in ran.err
