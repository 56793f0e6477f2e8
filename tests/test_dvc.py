"""DVC's experiments (issue 13): refs/exps/ read, named dvc:NAME, shared, saved and imported.

The first tests build DVC's ref layout with plain git (`git update-ref`), so they run in
both passes (SHA-1/files and SHA-256/reftable).  The tests marked `once` run the real
DVC (`dvc==3.67.1`, built by .ci/dvc.sh; `make test` exports its path as
GIT_EXP_TEST_DVC): DVC handles SHA-1 repositories only.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from .conftest import assert_error, bare_remote, commit_all, exp_refs, git, init_repo, write

DVC = os.environ.get("GIT_EXP_TEST_DVC", "")  # read before the hermetic fixture drops GIT_* variables

DVC_YAML = """\
stages:
  train:
    cmd: python3 train.py
    deps: [train.py]
    params:
      - lr
      - conf/extra.yaml:
          - depth
    metrics:
      - eval/scores.json:
          cache: false
    plots:
      - curves/loss.tsv:
          cache: false
"""


def all_refs(repo) -> str:
    return git(repo, "for-each-ref", "--format=%(objectname) %(refname)")


def dvc_exp(repo, name: str, files: dict, baseline: str | None = None) -> tuple[str, str]:
    """A DVC-style experiment: a commit of ``files`` on ``baseline`` (HEAD) under
    refs/exps/<2 hex>/<rest>/<name>, HEAD left where it was; (ref, sha)."""
    head = git(repo, "rev-parse", "HEAD").strip()
    base = baseline or head
    git(repo, "checkout", "-q", "--detach", base)
    write(repo, files)
    sha = commit_all(repo, "dvc: commit experiment 0123")
    git(repo, "checkout", "-q", "-f", head)
    git(repo, "clean", "-qfd")
    ref = f"refs/exps/{base[:2]}/{base[2:]}/{name}"
    git(repo, "update-ref", ref, sha)
    return ref, sha


@pytest.fixture
def dvc_repo(tmp_path, monkeypatch):
    """A repository with dvc.yaml, one DVC experiment `ionic-pump` (lr 0.3, depth 4, acc
    0.6, a loss curve), and DVC's internal refs beside it."""
    path = init_repo(tmp_path / "repo", files={"params.yaml": "lr: 0.1\n", "conf/extra.yaml": "depth: 2\n",
                                               "dvc.yaml": DVC_YAML, "train.py": "pass\n"})
    monkeypatch.chdir(path)
    ref, sha = dvc_exp(path, "ionic-pump", {"params.yaml": "lr: 0.3\n", "conf/extra.yaml": "depth: 4\n",
                                            "eval/scores.json": '{"acc": 0.6}',
                                            "curves/loss.tsv": "step\tloss\n0\t1.0\n1\t0.5\n"})
    for internal in ("refs/exps/celery/abc", "refs/exps/exec/EXEC_HEAD", "refs/exps/stash",
                     "refs/exps/apply/stash", f"refs/exps/{sha[:2]}/{sha[2:8]}/short",
                     f"refs/exps/ZZ/{sha[2:]}/upper", f"refs/exps/{sha[:2]}/{sha[2:]}/a/b"):
        git(path, "update-ref", internal, sha)
    return path, ref, sha


def test_ls_and_show_read_dvc_experiments_through_dvc_yaml(dvc_repo, exp):
    repo, ref, sha = dvc_repo
    exp("save", "-n", "mine")
    ls = json.loads(exp("ls", "--json").out)
    assert [(r["name"], r["sha"]) for r in ls][-1] == ("dvc:ionic-pump", sha)
    assert [r["name"] for r in ls] == ["mine", "dvc:ionic-pump"]  # no celery/exec/stash, no malformed ref
    rows = {r["name"]: r for r in json.loads(exp("show", "--json").out)}
    dvc_row = rows["dvc:ionic-pump"]
    assert dvc_row["baseline"] == git(repo, "rev-parse", "HEAD").strip()
    assert (dvc_row["params.lr"], dvc_row["params.depth"], dvc_row["metrics.acc"]) == (0.3, 4, 0.6)
    assert dvc_row["metrics.loss"] == 0.5  # the plots entry, read as a history
    assert "params.depth" not in rows["mine"]  # git-exp's own rows keep their configured files
    picked = json.loads(exp("show", "--json", "dvc:*").out)
    assert [r["name"] for r in picked] == ["dvc:ionic-pump"]


def test_diff_apply_branch_take_dvc_names_and_refs(dvc_repo, exp):
    repo, ref, sha = dvc_repo
    changes = {c["key"]: (c["a"], c["b"]) for c in json.loads(exp("diff", "--json", "dvc:ionic-pump").out)["changes"]}
    assert changes["params.lr"] == (0.3, 0.1) and changes["metrics.acc"] == (0.6, None)
    assert exp("branch", ref, "from-dvc").code == 0
    assert git(repo, "rev-parse", "from-dvc").strip() == sha
    assert exp("apply", "dvc:ionic-pump").code == 0
    assert (repo / "params.yaml").read_text() == "lr: 0.3\n"


def test_same_dvc_name_on_two_baselines_is_refused_and_the_ref_chooses(dvc_repo, exp):
    repo, ref, sha = dvc_repo
    write(repo, {"README": "two\n"})
    commit_all(repo, "second baseline")
    other_ref, other = dvc_exp(repo, "ionic-pump", {"params.yaml": "lr: 0.9\n"})
    before = all_refs(repo)
    assert_error(exp("branch", "dvc:ionic-pump", "x"), 2, "ambiguous", ref, other_ref)
    assert all_refs(repo) == before
    assert json.loads(exp("show", "--json", other_ref).out)[0]["params.lr"] == 0.9
    assert_error(exp("show", "refs/exps/zz/nothex/x"), 2, "no DVC experiment ref")
    assert_error(exp("branch", "dvc:a..b", "x"), 2, "invalid DVC experiment name")


def test_push_and_pull_keep_dvc_ref_names_and_leave_internals(dvc_repo, exp, tmp_path):
    repo, ref, sha = dvc_repo
    remote = bare_remote(tmp_path / "remote.git")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    ran = exp("push", "origin", "dvc:*")
    assert ran.code == 0 and "dvc:ionic-pump" in ran.out, ran
    assert git(remote, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/").splitlines() == [f"{ref} {sha}"]
    git(remote, "update-ref", f"refs/exps/{sha[:2]}/{sha[2:]}/-dash", sha)  # a name git-exp refuses
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    assert_error(exp("pull", "origin", "dvc:nope", cwd=clone), 2, "no DVC experiment on origin matches")
    ran = exp("pull", "origin", "--all", cwd=clone)
    assert ran.code == 0, ran
    assert git(clone, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/").splitlines() == [f"{ref} {sha}"]
    tracking = "refs/remote-exps/origin/" + ref[len("refs/exps/"):]
    assert git(clone, "rev-parse", tracking).strip() == sha
    # the remote moves on, the clone's copy diverges: reported, kept, --force takes it
    theirs = git(repo, "commit-tree", "-p", git(repo, "rev-parse", "HEAD").strip(), "-m", "new", f"{sha}^{{tree}}").strip()
    git(repo, "push", "-q", "-f", "origin", f"{theirs}:{ref}")
    assert exp("pull", "origin", "dvc:ionic-pump", cwd=clone).out.count("diverged") == 1
    assert git(clone, "rev-parse", ref).strip() == sha
    assert exp("pull", "origin", "--force", "dvc:ionic-pump", cwd=clone).code == 0
    assert git(clone, "rev-parse", ref).strip() == theirs


def test_install_dvc_makes_plain_fetch_bring_them_and_uninstall_removes_exactly_that(dvc_repo, exp, tmp_path):
    repo, ref, sha = dvc_repo
    remote = bare_remote(tmp_path / "remote.git")
    git(repo, "push", "-q", str(remote), "main", f"{ref}:{ref}")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    before = git(clone, "config", "--get-all", "remote.origin.fetch")
    assert exp("install", "--dvc", "--fetch-only", "origin", cwd=clone).code == 0
    assert "+refs/exps/*:refs/remote-exps/origin/*" in git(clone, "config", "--get-all", "remote.origin.fetch")
    git(clone, "fetch", "-q")
    tracking = "refs/remote-exps/origin/" + ref[len("refs/exps/"):]
    assert git(clone, "rev-parse", tracking).strip() == sha
    assert git(clone, "for-each-ref", "refs/exps/") == ""  # DVC sees nothing until pull
    listed = json.loads(exp("ls", "-r", "--json", cwd=clone).out)
    assert [(r["remote"], r["name"], r["sha"]) for r in listed] == [("origin", "dvc:ionic-pump", sha)]
    assert json.loads(exp("show", "--json", "origin/dvc:ionic-pump", cwd=clone).out)[0]["params.lr"] == 0.3
    assert "DVC's experiments fetched too" in exp("doctor", cwd=clone).out
    assert exp("pull", "origin", "dvc:*", cwd=clone).code == 0
    assert git(clone, "rev-parse", ref).strip() == sha
    assert exp("uninstall", "origin", cwd=clone).code == 0
    assert git(clone, "config", "--get-all", "remote.origin.fetch") == before
    assert git(clone, "for-each-ref", "refs/remote-exps/") == ""
    assert git(clone, "rev-parse", ref).strip() == sha  # the real ref is DVC's and stays


def test_save_dvc_writes_dvc_layout_and_refuses_what_dvc_cannot_hold(dvc_repo, exp):
    repo, ref, sha = dvc_repo
    head = git(repo, "rev-parse", "HEAD").strip()
    write(repo, {"params.yaml": "lr: 0.5\n"})
    ran = exp("save", "--dvc", "-n", "mine")
    assert ran.code == 0 and ran.out.strip() == "dvc:mine", ran
    saved = git(repo, "rev-parse", f"refs/exps/{head[:2]}/{head[2:]}/mine").strip()
    assert git(repo, "rev-parse", f"{saved}^").strip() == head
    assert git(repo, "show", f"{saved}:params.yaml") == "lr: 0.5\n"
    before = all_refs(repo)
    assert_error(exp("save", "--dvc", "-n", "mine"), 2, "already exists")
    assert_error(exp("save", "--dvc", "--append", "-n", "other"), 2, "--append")
    assert_error(exp("save", "--dvc", "-n", "a/b"), 2, "holds no /")
    assert all_refs(repo) == before


def test_import_dvc_keeps_the_commit_as_the_previous_version(dvc_repo, exp):
    repo, ref, sha = dvc_repo
    head = git(repo, "rev-parse", "HEAD").strip()
    ran = exp("import-dvc")
    assert ran.code == 0 and "ionic-pump" in ran.out, ran
    new = git(repo, "rev-parse", "refs/exp/ionic-pump").strip()
    assert git(repo, "rev-parse", f"{new}^1", f"{new}^2").split() == [head, sha]
    assert git(repo, "rev-parse", f"{new}^{{tree}}") == git(repo, "rev-parse", f"{sha}^{{tree}}")
    assert f"Exp-Imported-From: {ref}" in git(repo, "log", "-1", "--format=%B", new)
    log = json.loads(exp("log", "--json", "ionic-pump").out)
    assert [r["sha"] for r in log] == [new, sha]
    assert git(repo, "rev-parse", ref).strip() == sha  # DVC's ref stays
    before = all_refs(repo)
    assert_error(exp("import-dvc", "ionic-pump"), 1, "nothing imported", "exists")
    assert_error(exp("import-dvc", "dvc:nope"), 2, "no DVC experiment matches")
    assert all_refs(repo) == before
    assert exp("import-dvc", "--prefix", "d/", "dvc:ion*").code == 0
    assert git(repo, "rev-parse", "refs/exp/d/ionic-pump^2").strip() == sha


# -- against the real DVC --------------------------------------------------------------------

TRAIN = """\
import json
lr = float(open("params.yaml").read().split(":")[1])
json.dump({"acc": round(lr * 2, 3)}, open("metrics.json", "w"))
"""

REAL_DVC_YAML = """\
stages:
  train:
    cmd: python3 train.py
    deps: [train.py]
    params: [lr]
    metrics:
      - metrics.json:
          cache: false
"""


def dvc(cwd, *args) -> str:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_NO_UPDATER": "1"}
    proc = subprocess.run([DVC, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, f"dvc {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture
def real_dvc():
    if not DVC or not os.access(DVC, os.X_OK):
        pytest.skip("no DVC: GIT_EXP_TEST_DVC is not set to a dvc — `make test` sets it from .ci/dvc.sh "
                    "(installs dvc==3.67.1 once; needs PyPI)")
    return DVC


@pytest.mark.once  # DVC reads SHA-1 repositories with files refs only
def test_real_dvc_experiments_travel_over_http_and_back(real_dvc, tmp_path, monkeypatch, exp, http_remote):
    repo = init_repo(tmp_path / "repo", files={"params.yaml": "lr: 0.1\n", "train.py": TRAIN,
                                               "dvc.yaml": REAL_DVC_YAML})
    monkeypatch.chdir(repo)
    dvc(repo, "init", "-q")
    commit_all(repo, "dvc init")
    dvc(repo, "exp", "run", "-q", "-S", "lr=0.3", "-n", "ionic-pump")
    rows = {r["name"]: r for r in json.loads(exp("show", "--json").out)}
    assert (rows["dvc:ionic-pump"]["params.lr"], rows["dvc:ionic-pump"]["metrics.acc"]) == (0.3, 0.6)
    git(repo, "remote", "add", "origin", http_remote.url)
    git(repo, "push", "-q", "origin", "main")
    assert exp("push", "origin", "dvc:ionic-pump").code == 0
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", http_remote.url, str(clone))
    assert exp("pull", "origin", "dvc:*", cwd=clone).code == 0
    assert "ionic-pump" in dvc(clone, "exp", "list")
    # and back: saved by git-exp, seen by DVC on the other side with its params and metrics
    write(clone, {"params.yaml": "lr: 0.4\n", "metrics.json": '{"acc": 0.8}'})
    assert exp("save", "--dvc", "-n", "from-git-exp", cwd=clone).code == 0
    assert exp("push", "origin", "dvc:from-git-exp", cwd=clone).code == 0
    assert exp("pull", "origin", "--all").code == 0
    assert "from-git-exp" in dvc(repo, "exp", "list")
    shown = json.dumps(json.loads(dvc(repo, "exp", "show", "--json")))
    assert "from-git-exp" in shown and "0.8" in shown and "0.4" in shown


def test_push_all_sends_dvc_experiments_too_then_finds_nothing_to_do(dvc_repo, exp, tmp_path):
    repo, ref, sha = dvc_repo
    exp("save", "-n", "mine")
    remote = bare_remote(tmp_path / "remote.git")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    ran = exp("push", "origin", "--all")  # one local listing read them all (push.start_local)
    assert ran.code == 0 and "dvc:ionic-pump" in ran.out and "mine" in ran.out, ran
    assert git(remote, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/").splitlines() == [f"{ref} {sha}"]
    assert set(exp_refs(remote)) == {"mine"}
    ran = exp("push", "origin", "--all")
    assert (ran.code, ran.out) == (0, "") and ran.err == "2 experiments already up to date\n", ran  # its own and DVC's
