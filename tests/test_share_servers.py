"""Sharing against particular servers and setups: HTTP with auth (credential helper, and
credentials in the URL, which must never be shown), gitolite's per-ref permissions, git-lfs
objects travelling with a pushed experiment, shallow CI clones, and thousands of
experiments moved as one glob.  Real git and real servers throughout (see server_fixtures.py).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from .conftest import commit_all, exp_refs, git, init_repo, write
from .test_share import (
    FILES,
    PY,
    all_refs,
    assert_failed,
    fsck,
    has_object,
    lines,
    make_runner,
    on_remote,
    pull_line,
    push_line,
    save,
    tracking,
)

# --------------------------------------------------------------------------- HTTP with auth

def test_http_auth_right_password_push_and_pull(http_auth_remote, tmp_path, exp):
    remote = http_auth_remote
    runner = make_runner(remote, tmp_path)  # configure(): a credential store with the right password
    x = save(exp, runner, "x", files={"params.yaml": "lr: 0.2\n"})
    ran = exp("push", "origin", "x", cwd=runner)
    assert (ran.code, ran.out) == (0, push_line("new", "x") + "\n"), ran
    assert on_remote(remote) == {"x": x}
    laptop = remote.clone(tmp_path / "laptop")
    ran = exp("pull", "origin", "x", cwd=laptop)
    assert (ran.code, ran.out) == (0, pull_line("new", "x") + "\n"), ran
    assert exp_refs(laptop) == {"x": x}
    ran = exp("ls", "origin", "--json", cwd=laptop)
    assert [(r["name"], r["state"]) for r in json.loads(ran.out)] == [("x", "same")]


@pytest.mark.parametrize("how", ["wrong-password", "no-credentials"])
def test_http_auth_failure_is_a_one_line_error_with_a_credentials_hint(http_auth_remote, tmp_path, exp, how):
    remote = http_auth_remote
    runner = init_repo(tmp_path / "runner", files=dict(FILES))
    if how == "wrong-password":
        remote.configure(runner, password="wrong")
    else:
        remote.configure(runner, credentials=False)
    save(exp, runner, "x", files={"params.yaml": "lr: 0.2\n"})
    for args, what in ((("push", "origin", "x"), "listing experiments on origin"),
                       (("pull", "origin", "--all"), "listing experiments on origin"),
                       (("ls", "origin"), "listing experiments on origin"),
                       (("push", "origin", "--force", "x"), "listing experiments on origin")):
        ran = exp(*args, cwd=runner)  # GIT_TERMINAL_PROMPT=0 (hermetic env): no prompt, no hang
        assert_failed(ran, 1, what, "the remote needs credentials")
        assert ran.out == ""
    assert git(remote.path, "for-each-ref") == ""
    assert tracking(runner) == {}


SECRET = "s3cret"  # the right password of http_auth_remote's alice


def embed(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://alice:{password}@{rest}"


def test_http_credentials_in_the_url_are_never_shown(http_auth_remote, tmp_path, exp):
    remote = http_auth_remote
    assert remote.password == SECRET
    url = embed(remote.url, SECRET)
    runner = init_repo(tmp_path / "runner", files=dict(FILES))
    git(runner, "remote", "add", "origin", url)  # no credential helper: git uses the URL's
    git(runner, "push", "-q", "-u", "origin", "main")
    assert SECRET in git(runner, "config", "remote.origin.url")  # the secret is right there to leak
    outputs = []

    def run(*args, cwd=runner, code=0):
        ran = exp(*args, cwd=cwd)
        assert ran.code == code, ran
        outputs.append(ran.out + ran.err)
        return ran

    save(exp, runner, "a", files={"params.yaml": "lr: 0.2\n"})
    run("run", "-n", "ci/1", "--", PY, "-c", "print('training')")
    ran = run("push", "origin", "--all")
    assert lines(ran.out) == [push_line("new", "a"), push_line("new", "ci/1")]
    assert on_remote(remote) == exp_refs(runner)
    run("push", "origin", "a")
    run("push", "origin", "--force", "a")
    run("push", "origin", "--dry-run", "a")
    run("ls", "origin")
    run("ls", "origin", "--json")
    run("doctor")
    run("doctor", "--json")
    run("install", "origin")
    git(runner, "fetch", "-q")
    run("doctor")
    run("uninstall", "origin")
    run("show", "--json")
    save(exp, runner, "old", files={"params.yaml": "lr: 0.3\n"})
    run("push", "origin", "old")
    run("rename", "--remote", "origin", "old", "new")
    run("rm", "--remote", "origin", "new")

    laptop = tmp_path / "laptop"
    git(tmp_path, "clone", "-q", url, str(laptop))
    ran = run("pull", "origin", "--all", cwd=laptop)
    assert exp_refs(laptop) == on_remote(remote)
    save(exp, laptop, "a", "--append", files={"laptop.txt": "x\n"})
    save(exp, runner, "a", "--append", files={"runner.txt": "y\n"})
    run("push", "origin", "a", cwd=laptop)
    run("push", "origin", "a", code=1)  # rejected: an error path that names the remote
    run("pull", "origin", "a", code=1)  # diverged

    for text in outputs:
        assert SECRET not in text, text
    # nothing git-exp wrote into history or reflogs carries it either
    for repo in (runner, laptop):
        for name in exp_refs(repo):
            assert SECRET not in git(repo, "cat-file", "commit", f"refs/exp/{name}")
            assert SECRET not in git(repo, "log", "-g", "--format=%gs", f"refs/exp/{name}")
    assert SECRET not in git(remote.path, "log", "--format=%B", "--exclude=refs/heads/*", "--all")


def test_a_wrong_password_in_the_url_is_redacted_in_the_error(http_auth_remote, tmp_path, exp):
    remote = http_auth_remote
    wrong = "wr0ng-Pa55word"
    runner = init_repo(tmp_path / "runner", files=dict(FILES))
    git(runner, "remote", "add", "origin", embed(remote.url, wrong))
    save(exp, runner, "x", files={"params.yaml": "lr: 0.2\n"})
    for args in (("push", "origin", "x"), ("pull", "origin", "--all"), ("ls", "origin"),
                 ("rm", "--remote", "origin", "x"), ("install", "origin"), ("doctor",)):
        ran = exp(*args, cwd=runner)
        assert wrong not in ran.out + ran.err, ran
        if args[0] in ("push", "pull", "ls", "rm"):
            err = assert_failed(ran, 1, "the remote needs credentials")
            assert "http://***@127.0.0.1:" in err[0], ran.err
    assert git(remote.path, "for-each-ref") == ""


# --------------------------------------------------------------------------- gitolite

def gitolite_runner(gitolite_server, tmp_path: Path, exp) -> Path:
    """A runner with remotes ``alice`` (may write refs/exp/) and ``bob`` (may only read
    them) on one gitolite repository, main pushed as alice, experiment ``b1`` saved."""
    runner = init_repo(tmp_path / "runner", files=dict(FILES))
    gitolite_server("alice").configure(runner, "alice")
    gitolite_server("bob").configure(runner, "bob")
    git(runner, "push", "-q", "alice", "main")
    save(exp, runner, "b1", files={"params.yaml": "lr: 0.2\n"})
    return runner

def test_gitolite_denies_bob_names_the_experiment_and_the_reason(gitolite_server, tmp_path, exp):
    runner = gitolite_runner(gitolite_server, tmp_path, exp)
    save(exp, runner, "a1", files={"params.yaml": "lr: 0.3\n"})

    ran = exp("push", "bob", "b1", cwd=runner)
    assert ran.code == 1, ran
    assert ran.out.startswith(push_line("rejected", "b1")), ran
    assert "hook declined" in ran.out, ran
    assert "DENIED" in ran.err, ran  # gitolite's own words reach the user
    assert "git-exp: error: bob rejected 1 experiment: b1" in ran.err
    assert "Traceback" not in ran.err
    assert "refs/exp/" not in git(gitolite_server.path, "for-each-ref")

    ran = exp("push", "alice", "a1", "b1", cwd=runner)
    assert ran.code == 0 and lines(ran.out) == [push_line("new", "a1"), push_line("new", "b1")], ran
    assert exp_refs(gitolite_server.path) == exp_refs(runner)
    # bob may read them
    ran = exp("ls", "bob", "--json", cwd=runner)
    assert {r["name"]: r["state"] for r in json.loads(ran.out)} == {"a1": "same", "b1": "same"}


def test_gitolite_denial_does_not_advise_pull_or_force(gitolite_server, tmp_path, exp):
    """A permission refusal is not a race: `git exp pull` then push, or --force, cannot help."""
    runner = gitolite_runner(gitolite_server, tmp_path, exp)
    plain = subprocess.run(["git", "push", "bob", "refs/exp/b1:refs/exp/b1"], cwd=runner, capture_output=True,
                           text=True)
    assert "DENIED" in plain.stderr  # what gitolite tells plain git
    ran = exp("push", "bob", "b1", cwd=runner)
    assert ran.code == 1, ran
    assert "DENIED" in ran.err, ran
    error = [line for line in ran.err.splitlines() if line.startswith("git-exp: error:")]
    assert len(error) == 1 and "b1" in error[0], ran
    assert "--force" not in error[0] and "git exp pull" not in error[0], ran
    assert "refs/exp/" not in git(gitolite_server.path, "for-each-ref")


# --------------------------------------------------------------------------- git-lfs

@pytest.mark.parametrize("kind", ["local", "file"])
def test_lfs_objects_of_a_run_land_in_the_remote_store(git_lfs, kind, request, tmp_path, exp):
    remote = request.getfixturevalue(f"{kind}_remote")
    runner = init_repo(tmp_path / "runner", files=dict(FILES))
    git(runner, "lfs", "install", "--local")
    git(runner, "lfs", "track", "*.bin")
    commit_all(runner, "track *.bin with lfs")
    remote.configure(runner)
    git(runner, "push", "-q", "-u", "origin", "main")

    payload = hashlib.sha256(b"weights").digest() * 512
    oid = hashlib.sha256(payload).hexdigest()
    code = f"open('model.bin', 'wb').write(bytes.fromhex({payload.hex()!r}))"
    ran = exp("run", "-n", "train", "--", PY, "-c", code, cwd=runner)
    assert ran.code == 0, ran
    pointer = git(runner, "show", "refs/exp/train:model.bin")
    assert f"oid sha256:{oid}" in pointer and len(pointer) < 200  # the commit holds a pointer

    ran = exp("push", "origin", "train", cwd=runner)
    assert (ran.code, ran.out) == (0, push_line("new", "train") + "\n"), ran
    stored = remote.path / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    assert stored.read_bytes() == payload
    assert on_remote(remote) == {"train": exp_refs(runner)["train"]}
    findings = json.loads(exp("doctor", "--json", cwd=runner).out)
    assert not [f for f in findings if "lfs" in f["what"]], findings


# --------------------------------------------------------------------------- shallow clones

def history(remote, tmp_path: Path, n: int = 3) -> Path:
    """A developer clone that pushed ``n`` commits of main to ``remote``."""
    dev = make_runner(remote, tmp_path, "dev")
    for i in range(2, n + 1):
        write(dev, {"params.yaml": f"lr: 0.{i}\n"})
        commit_all(dev, f"commit {i}")
    git(dev, "push", "-q", "origin", "main")
    return dev


def shallow_clone(remote, dest: Path) -> Path:
    git(dest.parent, "clone", "-q", "--depth", "1", remote.url, str(dest))
    assert git(dest, "rev-parse", "--is-shallow-repository").strip() == "true"
    return dest


def test_shallow_detached_ci_clone_runs_and_pushes(file_remote, tmp_path, exp):
    remote = file_remote
    history(remote, tmp_path)
    ci = shallow_clone(remote, tmp_path / "ci")
    git(ci, "checkout", "-q", "--detach")
    ran = exp("run", "-n", "ci/42", "--", PY, "-c", "open('metrics.json', 'w').write('{\"acc\": 1}')", cwd=ci)
    assert ran.code == 0, ran
    ran = exp("push", "origin", "ci/42", cwd=ci)
    assert (ran.code, ran.out) == (0, push_line("new", "ci/42") + "\n"), ran
    sha = exp_refs(ci)["ci/42"]
    assert on_remote(remote) == {"ci/42": sha}
    assert git(remote.path, "rev-parse", f"{sha}^").strip() == git(remote.path, "rev-parse", "main").strip()
    fsck(remote.path)
    assert git(ci, "rev-parse", "--is-shallow-repository").strip() == "true"


def test_shallow_push_whose_baseline_the_remote_lost_says_what_to_do(file_remote, tmp_path, exp):
    remote = file_remote
    dev = history(remote, tmp_path)
    ci = shallow_clone(remote, tmp_path / "ci")
    git(ci, "checkout", "-q", "--detach")
    # the remote's main is rewritten and the CI clone's shallow base is garbage-collected there
    git(dev, "reset", "-q", "--hard", "HEAD~2")
    write(dev, {"other.txt": "rewritten\n"})
    commit_all(dev, "rewritten history")
    git(dev, "push", "-q", "--force", "origin", "main")
    git(remote.path, "reflog", "expire", "--expire=now", "--all")
    git(remote.path, "gc", "-q", "--prune=now")
    base = git(ci, "rev-parse", "HEAD").strip()
    assert not has_object(remote.path, base)
    # what plain git says about it
    plain = subprocess.run(["git", "push", "--porcelain", "origin", "HEAD:refs/exp/plain"], cwd=ci,
                           capture_output=True, text=True)
    assert plain.returncode == 1 and "shallow update not allowed" in plain.stdout + plain.stderr

    ran = exp("run", "-n", "ci/43", "--", PY, "-c", "print(1)", cwd=ci)
    assert ran.code == 0, ran
    before = all_refs(remote.path)
    ran = exp("push", "origin", "ci/43", cwd=ci)
    err = assert_failed(ran, 1, "shallow")
    assert "push the baseline first" in err[0] and "git fetch --unshallow" in err[0], ran.err
    assert "--force to overwrite" not in ran.err  # forcing cannot help here
    assert all_refs(remote.path) == before


def test_pull_into_a_shallow_clone_keeps_it_shallow(file_remote, tmp_path, exp):
    remote = file_remote
    dev = history(remote, tmp_path)
    tip = save(exp, dev, "on-tip", files={"params.yaml": "lr: on the tip\n"})
    appended = save(exp, dev, "on-tip", "--append", files={"more.txt": "more\n"})
    assert appended != tip
    git(dev, "checkout", "-q", "-f", "--detach", "HEAD~2")
    old = save(exp, dev, "on-old", files={"params.yaml": "lr: on an old base\n"})
    git(dev, "checkout", "-q", "-f", "main")
    assert exp("push", "origin", "--all", cwd=dev).code == 0

    laptop = shallow_clone(remote, tmp_path / "laptop")
    ran = exp("pull", "origin", "--all", cwd=laptop)
    assert ran.code == 0, ran
    assert lines(ran.out) == [pull_line("new", "on-old"), pull_line("new", "on-tip")]
    assert exp_refs(laptop) == {"on-tip": appended, "on-old": old}
    assert git(laptop, "rev-parse", "--is-shallow-repository").strip() == "true"
    assert git(laptop, "rev-list", "--count", "HEAD").strip() == "1"  # main's history was not deepened
    assert git(laptop, "show", "refs/exp/on-old:params.yaml") == "lr: on an old base\n"
    assert git(laptop, "show", "refs/exp/on-tip:more.txt") == "more\n"
    fsck(laptop)
    ran = exp("ls", "origin", "--json", cwd=laptop)
    assert {r["name"]: r["state"] for r in json.loads(ran.out)} == {"on-tip": "same", "on-old": "same"}


# --------------------------------------------------------------------------- thousands

def make_sweep(repo: Path, per_group: int = 2000, distinct: int = 50) -> dict[str, str]:
    """``sweep/aNNNN`` and ``sweep/bNNNN`` (``per_group`` each) over ``distinct`` commits on HEAD:
    the commits from one ``git fast-import`` stream, the refs from one ``update-ref --stdin``."""
    head = git(repo, "rev-parse", "HEAD").strip()
    stream = []
    for i in range(distinct):
        data, msg = f"lr: {i}\n".encode(), f"sweep point {i}\n".encode()
        stream.append(b"commit refs/exp-gen/tmp\nmark :%d\ncommitter C O Mitter <c@example.com> 1700000000 +0000\n"
                      b"data %d\n%s\nfrom %s\nM 644 inline params.yaml\ndata %d\n%s\n"
                      % (i + 1, len(msg), msg, head.encode(), len(data), data))
    marks = repo / ".git" / "sweep-marks"
    subprocess.run(["git", "fast-import", "--quiet", f"--export-marks={marks}"], cwd=repo,
                   input=b"".join(stream), check=True)
    shas = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    names = [f"sweep/{g}{i:04d}" for g in "ab" for i in range(per_group)]
    updates = [f"create refs/exp/{n} {shas[f':{k % distinct + 1}']}\n" for k, n in enumerate(names)]
    git(repo, "update-ref", "--stdin", input="".join(updates) + "delete refs/exp-gen/tmp\n")
    refs = exp_refs(repo)
    assert len(refs) == 2 * per_group and len(set(refs.values())) == distinct
    assert git(repo, "for-each-ref", "refs/exp-gen/") == ""
    return refs


def test_push_and_pull_a_2000_experiment_subset(file_remote, tmp_path, exp):
    remote = file_remote
    runner = make_runner(remote, tmp_path)
    refs = make_sweep(runner)
    wanted = {n: s for n, s in refs.items() if n.startswith("sweep/a")}
    assert len(wanted) == 2000

    ran = exp("push", "origin", "sweep/a?*", cwd=runner)  # not a single git glob: staged
    assert ran.code == 0, ran.err
    assert lines(ran.out) == sorted(push_line("new", n) for n in wanted)
    assert on_remote(remote) == wanted
    assert set(all_refs(remote.path)) == {"refs/heads/main", *(f"refs/exp/{n}" for n in wanted)}
    assert exp_refs(runner, "refs/exp-staging/") == {}
    assert exp_refs(runner) == refs
    fsck(remote.path)

    # a list of names (explicit refspecs) works too, and pushing the subset again is a no-op
    ran = exp("push", "origin", "sweep/b0000", "sweep/b0001", "sweep/a0000", cwd=runner)
    assert ran.code == 0 and lines(ran.out) == [push_line("new", "sweep/b0000"), push_line("new", "sweep/b0001")], ran
    assert ran.err == "2 new, 1 up to date\n"
    ran = exp("push", "origin", "sweep/a?*", cwd=runner)
    assert (ran.code, ran.out, ran.err) == (0, "", f"{len(wanted)} experiments already up to date\n"), ran
    assert exp_refs(runner, "refs/exp-staging/") == {}

    fresh = remote.clone(tmp_path / "fresh")
    ran = exp("pull", "origin", "sweep/a1*", cwd=fresh)  # a git glob: 1000 of them
    assert ran.code == 0, ran.err
    assert exp_refs(fresh) == {n: s for n, s in wanted.items() if n.startswith("sweep/a1")}
    ran = exp("pull", "origin", "sweep/a?*", cwd=fresh)  # not a git glob: filtered locally
    assert ran.code == 0, ran.err
    assert ran.err == "1000 new, 1000 up to date\n"
    assert len(ran.out.splitlines()) == 1000
    assert exp_refs(fresh) == wanted
    ran = exp("pull", "origin", "sweep/*", cwd=fresh)
    assert ran.code == 0 and lines(ran.out) == [pull_line("new", "sweep/b0000"), pull_line("new", "sweep/b0001")]
    assert exp_refs(fresh) == on_remote(remote)
    assert exp_refs(fresh, "refs/exp-staging/") == {}
    fsck(fresh)


def test_a_pull_of_more_names_than_refspecs_asks_for_their_commits_only(any_remote, tmp_path, exp, monkeypatch):
    """A selection that no single git glob makes, larger than EXPLICIT_MAX, is fetched by
    commit (``--stdin``): git matches a refspec that names a ref against every ref the
    remote advertises, which made such a pull quadratic.  Only the selected commits come."""
    from git_exp.commands.push import EXPLICIT_MAX

    remote = any_remote
    runner = make_runner(remote, tmp_path)
    refs = make_sweep(runner, per_group=EXPLICIT_MAX + 4, distinct=2 * (EXPLICIT_MAX + 4))  # a commit each
    assert exp("push", "origin", "--all", cwd=runner).code == 0
    wanted = {n: s for n, s in refs.items() if n.startswith("sweep/a")}
    fresh = remote.clone(tmp_path / "fresh")
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    ran = exp("pull", "origin", "sweep/a?*", cwd=fresh)
    monkeypatch.delenv("GIT_TRACE")
    assert ran.code == 0, ran
    assert lines(ran.out) == sorted(pull_line("new", n) for n in wanted)
    fetches = [line for line in trace.read_text().splitlines() if "built-in: git fetch " in line]
    assert fetches and all(line.count("refs/exp/") <= EXPLICIT_MAX for line in fetches), fetches
    assert exp_refs(fresh) == wanted and tracking(fresh) == wanted
    if remote.transport != "local":  # a clone of a path shares the remote's objects
        assert not any(has_object(fresh, sha) for n, sha in refs.items() if n not in wanted)
    assert exp_refs(fresh, "refs/exp-staging/") == {}
    fsck(fresh)


@pytest.mark.parametrize("protocol", ["0", "2"])
def test_a_shallow_pull_by_commit_stages_and_stays_shallow(file_remote, tmp_path, exp, monkeypatch, protocol):
    """In a shallow clone the fetch by commit stores each commit under the staging
    namespace (git records the new boundary only then), with wire protocol 0 and 2."""
    from git_exp.commands.push import EXPLICIT_MAX

    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "protocol.version")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", protocol)
    remote = file_remote
    dev = history(remote, tmp_path)
    refs = make_sweep(dev, per_group=EXPLICIT_MAX + 1, distinct=2 * (EXPLICIT_MAX + 1))
    assert exp("push", "origin", "--all", cwd=dev).code == 0
    wanted = {n: s for n, s in refs.items() if n.startswith("sweep/b")}
    laptop = shallow_clone(remote, tmp_path / "laptop")
    ran = exp("pull", "origin", "sweep/b?*", cwd=laptop)
    assert ran.code == 0, ran
    assert exp_refs(laptop) == wanted
    assert not any(has_object(laptop, sha) for n, sha in refs.items() if n not in wanted)
    assert git(laptop, "rev-parse", "--is-shallow-repository").strip() == "true"
    assert git(laptop, "rev-list", "--count", "HEAD").strip() == "1"
    assert exp_refs(laptop, "refs/exp-staging/") == {}
    fsck(laptop)
