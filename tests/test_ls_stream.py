"""``git exp ls`` prints its rows as the logs read them (issue 14): streamed output is the
output printed whole, byte for byte, and comes in the listing's order.

The logs are made tiny here (``_ranges``: from one commit each, two at once) so that a few
dozen experiments are read by dozens of gits and printed in dozens of chunks; the
reference is the same repository listed with one log and printed in one piece.
"""
from __future__ import annotations

import json
import os

import pytest

from .conftest import git

LISTED = (["ls"], ["ls", "-r"], ["ls", "--json"], ["ls", "-r", "--json"])


def tiny_logs(monkeypatch) -> None:
    """Logs of one commit, then of more, two at a time; the rows printed as each arrives,
    one by one from the cache (so some chunks hold only refs to non-commits: none)."""
    from git_exp.commands import ls

    for name, value in (("GUIDED", 1), ("FIRST", 1), ("RANGE_MIN", 1), ("PARTS", 2), ("PART_MIN", 1),
                        ("CHUNK_ROWS", 1), ("PACE", 0.0)):
        monkeypatch.setattr(ls, name, value)


def one_log(monkeypatch) -> None:
    """Every commit read by one log, the rows in one chunk."""
    from git_exp.commands import ls

    for name, value in (("GUIDED", 10**9), ("PARTS", 1), ("CHUNK_ROWS", 10**9)):
        monkeypatch.setattr(ls, name, value)


def whole(args: list[str], capfd) -> str:
    """What ``ls`` prints from ``records`` (every row read first), printed in one piece."""
    from git_exp.commands import ls
    from git_exp.present import ls as present
    from git_exp.repo import Repo

    capfd.readouterr()
    remotes = "-r" in args
    present.listing(ls.records(Repo(), remotes=remotes), "--json" in args, remotes)
    return capfd.readouterr().out


def counted_logs(monkeypatch) -> list:
    """A list that gets one entry for each ``git log`` a ``Repo`` starts from now on."""
    from git_exp.repo import Repo

    logs = []
    start = Repo.start

    def counted(self, *args, **kwargs):
        logs.extend(args[:1] if args[:1] == ("log",) else ())
        return start(self, *args, **kwargs)

    monkeypatch.setattr(Repo, "start", counted)
    return logs


@pytest.fixture
def mixed(repo):
    """Experiments of every kind ls lists: 130 saved ones (enough for JSON's one object
    per line), refs sharing a commit, a root commit, a merge, DVC experiments, remote-
    tracking ones (git-exp's and DVC's), and refs to a blob, a tree and an annotated tag
    (left out)."""
    from tests.bench.fixtures import git_exp_commits, import_commits

    head = git(repo, "rev-parse", "HEAD").strip()
    import_commits(repo, os.environ, head, git_exp_commits(130)(head))
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    dated = {"GIT_COMMITTER_DATE": "1700000000 +0000"}  # ages in days: the same in every run of the test
    root = git(repo, "commit-tree", tree, "-m", "root\n\nExp-Exit-Code: 3", env=dated).strip()
    merge = git(repo, "commit-tree", tree, "-p", head, "-p", root, "-m", "merge\n\nExp-Exit-Code: 2", env=dated).strip()
    first = git(repo, "rev-parse", "refs/exp/ci/001").strip()
    git(repo, "tag", "-a", "-m", "t", "v1", first)
    refs = {
        "refs/exp/aa-root": root, "refs/exp/ab-merge": merge, "refs/exp/ci/001-again": first,
        "refs/exp/zz-a-blob-with-the-longest-name-of-all": git(repo, "hash-object", "-w", "README").strip(),
        "refs/exp/zz-tree": tree, "refs/exp/ci/000-tag": git(repo, "rev-parse", "refs/tags/v1").strip(),
        f"refs/exps/{head[:2]}/{head[2:]}/dvc-one": merge, f"refs/exps/{head[:2]}/{head[2:]}/dvc-two": root,
        "refs/remote-exp/origin/ci/001": first, "refs/remote-exp/origin/only-there": root,
        f"refs/remote-exps/origin/{head[:2]}/{head[2:]}/dvc-far": merge,
    }
    for ref, sha in refs.items():
        git(repo, "update-ref", ref, sha)
    return repo


def test_streamed_ls_prints_what_the_whole_ls_prints(mixed, exp, capfd, monkeypatch):
    """Local, -r (remote-tracking, DVC), table and JSON, cold and from the cache: the
    rows read by many logs and printed chunk by chunk are the bytes printed whole."""
    with monkeypatch.context() as patched:
        one_log(patched)
        reference = {tuple(args): whole(args, capfd) for args in LISTED}
    tiny_logs(monkeypatch)
    facts = mixed / ".git" / "git-exp" / "facts"
    for args in LISTED:
        facts.unlink(missing_ok=True)
        cold, warm = exp(*args), exp(*args)
        assert cold.code == 0 and cold.err == "", cold
        assert cold.out == reference[tuple(args)] == warm.out, args
        assert facts.exists()
    table = reference[("ls", "-r")].splitlines()
    names = [line.split()[-1] for line in table[1:]]
    assert len(names) == 130 + 3 + 2 + 3 and "zz-tree" not in names and "ci/000-tag" not in names
    assert names[-3:] == ["origin/ci/001", "origin/only-there", "origin/dvc:dvc-far"]
    assert {line.index(line.split()[-1]) for line in table} == {len("sha      baseline  age    exit_code  ")}
    rows = json.loads(reference[("ls", "-r", "--json")])
    assert reference[("ls", "-r", "--json")].count("\n") == len(rows) + 2  # one object per line
    assert {row["name"]: row["exit_code"] for row in rows}["aa-root"] == 3


def test_a_cache_of_some_commits_gives_the_same_rows(mixed, exp, capfd, monkeypatch):
    """The first rows cached and the others not, and the other way round: the rows from
    the cache and from the logs are the bytes printed whole."""
    from git_exp import cache
    from git_exp.commands import ls
    from git_exp.git import start
    from git_exp.repo import Repo

    with monkeypatch.context() as patched:
        one_log(patched)
        reference = {tuple(args): whole(args, capfd) for args in LISTED}
    tiny_logs(monkeypatch)
    monkeypatch.setattr(ls, "FIRST", 3)
    assert exp("ls", "-r").code == 0
    repo = Repo()
    where, key = cache.of_commits(repo, "commits"), cache.trailer_key(start(*cache.TRAILER_CONFIG).wait(check=False).out)
    every = cache.load(where, key)
    first = set(ls.stream(repo, remotes=True).chunks.__next__()["sha"])
    assert first and first < every.keys()
    for kept in (first, every.keys() - first):
        for args in LISTED:
            cache.save(where, {sha: every[sha] for sha in kept}, key)
            cache.flush()
            assert exp(*args).out == reference[tuple(args)], (args, len(kept))


def test_first_rows_cached_and_every_other_commit_new(repo, exp, capfd, monkeypatch):
    """The first rows from the cache, then each other row its own commit that no cache
    holds (rows read by the logs in order, counted from the first uncached row): the bytes
    ``ls`` prints whole, and no log reads a cached commit again."""
    from git_exp import cache
    from git_exp.commands import ls
    from git_exp.git import start
    from git_exp.repo import Repo
    from tests.bench.fixtures import git_exp_commits, import_commits

    head = git(repo, "rev-parse", "HEAD").strip()
    import_commits(repo, os.environ, head, git_exp_commits(40)(head))
    with monkeypatch.context() as patched:
        one_log(patched)
        reference = {tuple(args): whole(args, capfd) for args in LISTED}
    tiny_logs(monkeypatch)
    monkeypatch.setattr(ls, "FIRST", 5)
    assert exp("ls").code == 0
    repo_ = Repo()
    where, key = cache.of_commits(repo_, "commits"), cache.trailer_key(start(*cache.TRAILER_CONFIG).wait(check=False).out)
    every = cache.load(where, key)
    shas = git(repo, "for-each-ref", "--format=%(objectname)", "refs/exp/").split()
    assert len(set(shas)) == len(shas) == 40 and every.keys() == set(shas)
    read = []
    facts = ls._facts

    def counted(repo_, missing, known):
        read.extend(missing)
        return facts(repo_, missing, known)

    monkeypatch.setattr(ls, "_facts", counted)
    for args in LISTED:
        cache.save(where, {sha: every[sha] for sha in shas[:5]}, key)
        cache.flush()
        read.clear()
        assert exp(*args).out == reference[tuple(args)], args
        assert read == shas[5:], args


def test_rows_come_in_order_before_every_commit_is_read(mixed, monkeypatch):
    """``stream`` gives its first chunk before the last log has started, and its chunks
    joined are the listing, in its order: local experiments by name, DVC's, then the
    remote-tracking ones."""
    from git_exp.commands import ls
    from git_exp.repo import Repo

    tiny_logs(monkeypatch)
    logs = counted_logs(monkeypatch)
    listed = ls.stream(Repo(), remotes=True)
    chunks, started = [], []
    for chunk in listed:
        chunks.append(chunk)
        started.append(len(logs))
    names = [name for chunk in chunks for name in chunk["name"]]
    refs = git(mixed, "for-each-ref", "--format=%(refname)", "refs/exp/", "refs/exps/", "refs/remote-exp/",
               "refs/remote-exps/").split()
    local = [ref[len("refs/exp/"):] for ref in refs if ref.startswith("refs/exp/")]
    assert names[:len(names) - 3] == [name for name in local if name not in ("zz-tree", "ci/000-tag")
                                      and not name.startswith("zz-a-blob")] + ["dvc:dvc-one", "dvc:dvc-two"]
    assert len(chunks) > 10 and started[0] < started[-1] == len(logs) > 10  # printed while logs were to come
    assert listed.name[-1] == "dvc:dvc-far" and len(listed.name) == len(refs)  # every ref listed, known first


def test_a_listing_of_non_commits_only_says_so(repo, exp, monkeypatch):
    """No row: the note on stderr, nothing on stdout, from the logs and from the cache."""
    tiny_logs(monkeypatch)
    git(repo, "update-ref", "refs/exp/a-blob", git(repo, "hash-object", "-w", "README").strip())
    for _ in range(2):
        ran = exp("ls")
        assert ran.code == 0 and ran.out == "" and "no experiments yet" in ran.err
        assert exp("ls", "--json").out == "[]\n"


def test_the_listing_is_split_as_it_comes_and_can_be_read_again(repo, monkeypatch):
    """``rows.listed`` reads the listing block by block (lines cut anywhere between blocks,
    the pace of long listings on): the refs git lists, a symbolic ref left out; a second
    ``listed`` of the same listing, or its ``wait``, gives it again."""
    from git_exp import git as git_module
    from git_exp import rows
    from git_exp.repo import Repo

    monkeypatch.setattr(git_module, "PIPE_SIZE", 1000)
    monkeypatch.setattr(git_module, "CHUNK", 777)  # blocks that end inside lines
    head = git(repo, "rev-parse", "HEAD").strip()
    names = [f"sweep/{i:05d}-{'x' * (i % 37)}" for i in range(1500)]
    git(repo, "update-ref", "--stdin", input="".join(f"create refs/exp/{n} {head}\n" for n in names))
    git(repo, "symbolic-ref", "refs/exp/link", "refs/heads/main")
    listing = rows.start_listing(Repo())
    shas, refs = rows.listed(listing)
    assert refs == [f"refs/exp/{n}" for n in sorted(names)] and shas == [head] * len(names)
    assert rows.listed(listing) == (shas, refs)
    assert listing.wait().out.count("\n") == len(names) + 1


def test_the_first_refs_listed_are_there_while_git_lists_the_rest(repo, monkeypatch):
    """``rows.Reading`` gives what git has listed so far, block by block: the first refs
    while git still writes (it cannot have ended: its pipe holds a page, the listing is 20
    times that), in git's order; read to its end, ``listed``'s, with the local names split
    as the blocks came (``split_names`` gives them)."""
    from git_exp import git as git_module
    from git_exp import rows
    from git_exp.repo import Repo

    monkeypatch.setattr(git_module, "PIPE_SIZE", 1000)
    monkeypatch.setattr(git_module, "CHUNK", 777)
    head = git(repo, "rev-parse", "HEAD").strip()
    base = git(repo, "commit-tree", git(repo, "rev-parse", "HEAD^{tree}").strip(), "-m", "other").strip()
    names = sorted(f"sweep/{i:05d}-{'y' * (i % 29)}" for i in range(1500))
    git(repo, "update-ref", "--stdin", input="".join(f"create refs/exp/{n} {base if i < 3 else head}\n"
                                                    for i, n in enumerate(names)))
    reading = rows.Reading(rows.start_listing(Repo()))
    blocks = iter(reading)
    next(blocks)
    assert 0 < len(reading.shas) < len(names) and reading.listing.result is None
    assert reading.shas[:5] == [base] * 3 + [head] * 2 and reading.refs[:2] == [f"refs/exp/{n}" for n in names[:2]]
    assert reading.all_local(len(reading.refs)) and not reading.all_local(len(names))
    for _ in blocks:
        pass
    assert reading.listing.result is not None and (reading.shas, reading.refs) == rows.listed(reading.listing)
    assert rows.split_names(reading.refs, False) == (names, [None] * len(names)) and reading.refs.local == names


def test_the_first_rows_come_before_git_has_listed_the_rest(repo, monkeypatch):
    """``ls``'s first ``FIRST`` rows are out while the listing's git still runs (its pipe
    holds a page, the listing is 20 times that), cold and from the cache, and the chunks
    after them are the rows printed whole."""
    from git_exp import cache
    from git_exp import git as git_module
    from git_exp.commands import ls
    from git_exp.repo import Repo

    monkeypatch.setattr(git_module, "PIPE_SIZE", 1000)
    monkeypatch.setattr(git_module, "CHUNK", 777)
    head = git(repo, "rev-parse", "HEAD").strip()
    names = sorted(f"sweep/{i:05d}-{'y' * (i % 29)}" for i in range(1500))
    git(repo, "update-ref", "--stdin", input="".join(f"create refs/exp/{n} {head}\n" for n in names))
    whole = ls.rows(ls.records(Repo()))
    monkeypatch.setattr(cache, "_pending", {})  # nothing known: cold
    logs = counted_logs(monkeypatch)
    for state in ("cold", "warm"):
        logs.clear()
        listing = ls.start_listing(Repo())
        listed_ = ls.stream(Repo(), listing=listing)
        chunks = iter(listed_)
        first = next(chunks)
        assert first["name"] == names[:ls.FIRST] and listing.result is None and listed_.name is None
        got = ls.rows(first) + [row for chunk in chunks for row in ls.rows(chunk)]
        assert got == whole and listed_.name == names and listing.result is not None
        assert (len(logs) > 0) == (state == "cold"), state  # cold: its own log read the first rows


def test_a_cold_ls_of_few_rows_keeps_what_its_first_log_read(mixed, exp, monkeypatch):
    """Every row among the first ``FIRST``: the one log started for them reads them all,
    the facts keep them, and the next ``ls`` starts no log."""
    from git_exp.commands import ls

    facts = mixed / ".git" / "git-exp" / "facts"
    facts.unlink(missing_ok=True)
    logs = counted_logs(monkeypatch)
    cold = exp("ls", "-r")
    assert cold.code == 0 and len(logs) == 1 and facts.exists() and ls.FIRST > len(cold.out.splitlines())
    warm = exp("ls", "-r")
    assert warm.out == cold.out and len(logs) == 1
