"""``git exp report``: everything the HTML report shows, gathered as data.

The rows are ``show``'s (same selection, ``--where``, columns); on top of them, for each
experiment, what changed against its baseline and its step metrics.  ``present.report``
turns it into the page.

Cost at N experiments, whatever N is: ``show``'s reads, one ``results.read`` of the
distinct baselines, one ``diff-tree --stdin --raw --numstat`` of every experiment against
its baseline, one ``cat-file --batch-check`` of the changed blobs' sizes, one
``diff-tree --stdin -p`` of the experiments whose change is small (PATCH_MAX bytes of
blobs, PATCH_TOTAL over all of them: files are data, a large one is listed, never
printed; params, metrics and step files are left out, being shown as values and curves),
and ``history.read``'s reads of the step-metric files.  At 1,000 experiments over 2,000
files: ~0.6 s in all (a ``redact`` per patch cost 4.6 s of that run: it is one call now).

The ``--raw --numstat`` diff is most of git's work: at 10k experiments (3 changed files
each) 0.6 s of CPU, which ran alone while Python waited.  ``gather`` starts it as soon as
the rows are known and returns with it still running; the step metrics are read, and the
page's rows and curves encoded (``present.report.prepare``), on the other core meanwhile,
and ``Gathering.finish`` reads it.  That report took 2.0-2.3 s, now ~1.3 s (with the
curves packed as doubles, ``present.report.step_points``).

Step metrics come from ``history.read`` (DVCLive's layout, ``metrics.jsonl``,
``exp.history``), thinned for the page.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from git_exp import git, results
from git_exp.commands.show import add_history, show
from git_exp.repo import Repo

HISTORY_MAX_POINTS = 5_000  # points kept per metric of one experiment (evenly thinned beyond)
PATCH_MAX = 64 << 10  # bytes of changed blobs (both sides) up to which an experiment's patch is shown
PATCH_TOTAL = 2 << 20  # bytes of such blobs over the whole report
PATCH_TEXT_MAX = 32 << 10  # characters of one experiment's patch text kept
FILES_MAX = 500  # changed files listed per experiment
VALUES = ("params", "metrics")  # the keys of a row compared with its baseline's


@dataclass
class Changes:
    """One experiment against its baseline."""

    values: list[dict]  # {"key", "baseline", "experiment"}: params and metrics that differ
    files: list[list]  # [path, lines added, lines deleted] (None, None for a binary file)
    more_files: int = 0  # changed files not listed (over FILES_MAX)
    patch: str | None = None
    patch_note: str | None = None  # why there is no patch, or why it is cut


@dataclass
class Report:
    title: str
    generated: float
    rows: list[dict]
    columns: list[str]
    changes: dict[str, Changes] = field(default_factory=dict)  # commit -> its changes
    histories: dict[str, dict[str, list]] = field(default_factory=dict)  # commit -> metric -> [(step, value)]


def report(repo: Repo, patterns: list[str] | None = None, *, where: str | None = None,
           remotes: bool = False, listing=None, files=None) -> Report:
    """Everything the page shows: ``gather`` and ``finish`` at once."""
    with gather(repo, patterns, where=where, remotes=remotes, listing=listing, files=files) as gathering:
        return gathering.finish()


def gather(repo: Repo, patterns: list[str] | None = None, *, where: str | None = None,
           remotes: bool = False, listing=None, files=None) -> Gathering:
    """The report but for its changed files and patches, with the git that diffs every
    experiment against its baseline running (``start_diff``): ``Gathering.finish`` adds
    them.  Between the two the page's rows and curves can be encoded, while git diffs."""
    rows, columns = show(repo, patterns, where=where, remotes=remotes, listing=listing, files=files)
    configured = results.configured_files(repo, files)  # show has read it: no second git
    commits = list(dict.fromkeys(row["sha"] for row in rows))
    pairs = {row["sha"]: row["baseline"] for row in rows}
    diff = start_diff(repo, pairs)  # git diffs on the other core from now on
    with git.stopped_on_error(diff):
        histories = read_histories(repo, commits, configured)
        changes = value_changes(repo, rows, pairs, configured)
    top = repo.worktree or repo.git_dir
    title = top.rstrip("/").rsplit("/", 1)[-1] or "repository"
    return Gathering(repo, Report(title, time.time(), rows, columns, changes, histories), configured, diff)


class Gathering:
    """``gather``'s report and the git still diffing; ``finish`` completes the report.
    A ``with`` block: leaving it stops that git if it still runs."""

    def __init__(self, repo: Repo, report: Report, configured: dict, diff: git.Running | None) -> None:
        self.repo, self.report, self.configured, self.diff = repo, report, configured, diff

    def finish(self) -> Report:
        """The report with each experiment's changed files and, where small, its patch."""
        if self.diff is not None:
            pairs = {row["sha"]: row["baseline"] for row in self.report.rows if row["baseline"]}
            _files(self.repo, pairs, self.report.changes, ShownAsData(self.configured), self.diff)
            self.diff = None
        return self.report

    def __enter__(self) -> Gathering:
        return self

    def __exit__(self, *exc) -> None:
        if self.diff is not None:
            self.diff.kill()


def recorded_by_save(repo: Repo, output: str) -> bool:
    """Whether ``output`` is in the work tree and not ignored, so that the next ``save``
    or ``run`` would record the report in the experiment."""
    if output == "-" or not repo.worktree:
        return False
    path = os.path.abspath(output)
    top = os.path.abspath(repo.worktree)
    if os.path.commonpath([path, top]) != top or path == top:
        return False
    inside_git = os.path.commonpath([path, os.path.abspath(repo.git_dir)]) == os.path.abspath(repo.git_dir)
    if inside_git:
        return False
    return repo.run("check-ignore", "-q", "--", os.path.relpath(path, top), check=False).returncode != 0


def start_diff(repo: Repo, pairs: dict[str, str | None]) -> git.Running | None:
    """Start the ``diff-tree --raw --numstat`` of every experiment against its baseline
    (``_files`` reads it), collected in the background: at 10k experiments git takes
    0.6 s of CPU for it, which the other core spends while Python reads the step metrics;
    None when no experiment has a baseline."""
    lines = "".join(f"{sha} {base}\n" for sha, base in pairs.items() if base)
    if not lines:
        return None
    return repo.start("diff-tree", "--stdin", "-r", "-z", "--raw", "--numstat", "--no-renames", "--no-abbrev",
                      input=lines).roomy().background()


def value_changes(repo: Repo, rows: list[dict], pairs: dict[str, str | None], configured: dict) -> dict[str, Changes]:
    """``{commit: Changes}`` of each experiment with a baseline, with the params and metrics
    that differ from its baseline's (files not yet: ``_files``)."""
    with_base = {sha: base for sha, base in pairs.items() if base}
    if not with_base:
        return {}
    bases = {sha: {"sha": sha, **values}
             for sha, values in results.read(repo, sorted(set(with_base.values())), configured).items()}
    add_history(repo, list(bases.values()), configured)  # the latest history values, as in show's rows
    out: dict[str, Changes] = {}
    compared: dict[str, list[str]] = {}  # baseline -> its params and metrics keys
    for row in rows:
        base = with_base.get(row["sha"])
        if base is None or row["sha"] in out:
            continue
        before = bases.get(base, {})
        theirs = compared.get(base)
        if theirs is None:
            theirs = compared[base] = [k for k in before if k.startswith(VALUES)]
        keys = dict.fromkeys(theirs)  # the baseline's keys, then the experiment's others, in order
        keys.update((k, None) for k in row if k.startswith(VALUES))
        out[row["sha"]] = Changes([{"key": k, "baseline": before.get(k), "experiment": row.get(k)}
                                   for k in keys if before.get(k) != row.get(k)], [])
    return out


class ShownAsData:
    """``path in ShownAsData(configured)``: whether ``path`` is a params, metrics or history
    file (or below a history folder), shown as values and curves rather than as a patch."""

    def __init__(self, configured: dict) -> None:
        from git_exp import history

        self.paths = {*configured["params"], *configured["metrics"], *history.entries(configured)}
        self.below = tuple(f"{path}/" for path in self.paths)

    def __contains__(self, path: str) -> bool:
        return path in self.paths or path.startswith(self.below)


def _files(repo: Repo, pairs: dict[str, str], out: dict[str, Changes], shown_as_data: ShownAsData,
           diff: git.Running) -> None:
    raw = diff.wait().stdout.decode("utf-8", "surrogateescape")
    blobs: dict[str, set[str]] = {}  # commit -> blob ids on either side of the files its patch would show
    current: Changes | None = None
    sha = ""
    tokens = raw.split("\0")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token:
            continue
        if token.startswith(":"):  # ":mode mode oid oid status", then the path
            fields, path = token.split(), tokens[i] if i < len(tokens) else ""
            i += 1
            if path not in shown_as_data:
                blobs.setdefault(sha, set()).update(o for o in fields[2:4] if o != repo.zero)
        elif "\t" in token:  # "added\tdeleted\tpath"
            added, deleted, path = token.split("\t", 2)
            if current is not None:
                if len(current.files) < FILES_MAX:
                    current.files.append([path, _int(added), _int(deleted)])
                else:
                    current.more_files += 1
        else:
            sha = token.strip()
            current = out.get(sha)
    sizes = _sizes(repo, {oid for found in blobs.values() for oid in found})
    chosen, budget = [], PATCH_TOTAL
    for sha in pairs:
        change = out.get(sha)
        if change is None or not change.files:
            continue
        if sha not in blobs:
            change.patch_note = "only params, metrics and step-metric files changed (shown above)"
            continue
        size = sum(sizes.get(oid, PATCH_MAX + 1) for oid in blobs[sha])
        binary = any(f[1] is None and f[0] not in shown_as_data for f in change.files)
        if binary or size > PATCH_MAX:
            change.patch_note = "too large or binary to show here — see `git exp diff --stat` or git diff"
        elif size > budget:
            change.patch_note = "left out: the report holds this many patches at most — see git diff"
        else:
            budget -= size
            chosen.append(sha)
    if chosen:
        _patches(repo, {sha: pairs[sha] for sha in chosen}, out, shown_as_data)


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _sizes(repo: Repo, oids: set[str]) -> dict[str, int]:
    if not oids:
        return {}
    order = sorted(oids)
    said = repo.run("cat-file", "--batch-check=%(objectsize)", input="".join(f"{o}\n" for o in order)).out
    return {oid: int(size) for oid, size in zip(order, said.splitlines()) if size.isdigit()}


def _patches(repo: Repo, pairs: dict[str, str], out: dict[str, Changes], shown_as_data: ShownAsData) -> None:
    from git_exp.redact import redact

    excluded = [f":(exclude,literal){path}" for path in sorted(shown_as_data.paths)]
    raw = repo.run("diff-tree", "--stdin", "-r", "-p", "--no-color", "--no-renames", "--no-ext-diff",
                   "--no-textconv", "--", *excluded,
                   input="".join(f"{sha} {base}\n" for sha, base in pairs.items())).out
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in raw.split("\n"):
        if line in pairs:  # a commit's own line: patch lines start with a marker or a header word
            current = sections.setdefault(line, [])
        elif current is not None:
            current.append(line)
    texts = {sha: "\n".join(lines).strip("\n") for sha, lines in sections.items()}
    for sha, text in texts.items():
        if len(text) > PATCH_TEXT_MAX:
            texts[sha] = text[:PATCH_TEXT_MAX]
            out[sha].patch_note = f"cut at {PATCH_TEXT_MAX // 1024} KiB — see git diff for the rest"
    # one redact for all: its set-up (the environment's secret values) costs more than a patch
    marker = f"\n\x1egit-exp-patch-{os.urandom(8).hex()}\x1e\n"
    order = list(texts)
    for sha, text in zip(order, redact(marker.join(texts[sha] for sha in order)).split(marker)):
        out[sha].patch = text


def read_histories(repo: Repo, commits: list[str], files: dict | None = None) -> dict[str, dict[str, list]]:
    """``{commit: {metric: [(step, value), ...]}}`` as ``history.read`` gives them (DVCLive's
    layout, ``metrics.jsonl``, ``exp.history``), each series thinned to HISTORY_MAX_POINTS;
    commits without any are left out."""
    from git_exp import history

    if not commits:
        return {}
    found = history.read(repo, commits, files=files)
    return {sha: {metric: _thin(points) for metric, points in series.items() if points}
            for sha, series in found.items() if any(series.values())}


def _thin(points: list) -> list:
    if len(points) <= HISTORY_MAX_POINTS:
        return points
    stride = len(points) / HISTORY_MAX_POINTS
    return [points[int(i * stride)] for i in range(HISTORY_MAX_POINTS - 1)] + [points[-1]]
