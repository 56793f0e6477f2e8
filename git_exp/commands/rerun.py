"""``git exp rerun NAME``: run an experiment's recorded command again on its own tree,
save the result, and compare it with the original — reproducibility in one command.

- The command is the ``Exp-Command`` trailer read back into argv (``cmdline.argv``): a
  secret recorded as ``$NAME`` takes that variable's value now; one masked as ``***``, an
  unset ``$NAME`` or a line git-exp did not write is refused before anything runs.  An
  experiment without ``Exp-Command`` (``git exp save``) has nothing to rerun.
- It runs in a temporary worktree holding NAME's tree (``isolate.Worktree``, the ignored
  inputs of your work tree linked in), at the top of that tree, with the signal handling
  of ``run`` (``run.Signals``).  The metrics files (``exp.metrics``, or the default names)
  and metric histories (``exp.history``, DVCLive's, ``metrics.jsonl``) are removed from
  the worktree first: the numbers compared are the ones this run wrote,
  never the old ones left in place by a command that wrote none.
- NAME is anything ``revisions.resolve`` takes: ``NAME``, ``REMOTE/NAME``, ``NAME~N``.
- The result is saved with NAME's baseline as its baseline: as a new version of the local
  NAME with ``--append``, under ``-n NEW``, or by default as ``NAME-rerun-<n>`` (the
  first free ``n``; NAME without remote and version).  Its trailers are those of a run, plus ``Exp-Rerun-Of: <NAME's commit>``.
- ``-S KEY=VALUE`` (``overrides``, as ``run -S``: one value each) sets parameters in
  NAME's params files in the worktree first and records them (``Exp-Params-Set``).
- Then the params and metrics that differ between the original and the rerun
  (``commands.diff``), and the exit code is the command's, as for ``run``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from git_exp import cautions, cmdline, isolate, metadata, names, results, revisions
from git_exp.commands.diff import Diff, diff
from git_exp.commands.run import NotSaved, Ran, Signals, execute
from git_exp.commands.save import check_can_save, prepare_name, save
from git_exp.errors import ExpError, UsageError
from git_exp.repo import Repo


@dataclass
class Rerun:
    source: str  # the experiment rerun
    source_sha: str  # its commit before the rerun
    ran: Ran
    compared: Diff  # a: the rerun, b: the original


def rerun(
    repo: Repo,
    name: str,
    *,
    new: str | None = None,
    append: bool = False,
    overrides: list[str] | None = None,
    allow_large: bool = False,
    signals: Signals | None = None,
    warn=None,
) -> Rerun:
    """Rerun ``name``'s recorded command; see the module docstring."""
    if signals is None:
        with Signals() as signals:
            return rerun(repo, name, new=new, append=append, overrides=overrides, allow_large=allow_large,
                         signals=signals, warn=warn)
    if append and new is not None:
        raise UsageError("--append and -n contradict each other — --append adds to NAME, -n saves under a new name")
    check_can_save(repo, "rerun")
    source = revisions.resolve(repo, name)  # NAME, REMOTE/NAME, NAME~N
    exp = revisions.commits(repo, [source.sha])[source.sha]
    line = exp.trailers.get("Exp-Command")
    if not line:
        raise UsageError(f"experiment {names.shown(source.label)} has no recorded command (no Exp-Command: it was "
                         "saved, not run) — nothing to rerun; run one with `git exp run -- CMD`")
    argv = cmdline.argv(line)
    parsed = _overrides(overrides or [])
    if append and source.remote is not None:
        raise UsageError(f"--append adds a version to a local experiment, and {names.shown(source.label)} is "
                         f"remote {names.shown(source.remote)}'s — save the rerun with -n NEW")
    target = source.name if append else (new if new is not None else free_name(repo, source.name))
    prepared = prepare_name(repo, target, force=False, append=append)
    careful = cautions.Careful(allow_large=allow_large, warn=warn)
    with isolate.Worktree(repo, exp.sha, exp.sha) as where:
        edit = None
        if parsed:
            from git_exp import overrides as overrides_

            edit = overrides_.plan(repo, where.path, parsed).edit((0,) * len(parsed))  # NAME's params files
            edit.write(where.path)
        for path in _metrics_files(repo):
            _remove(os.path.join(where.path, path))
        careful.starting(where.repo)
        code, status, seconds = execute(argv, where.path, signals)
        careful.after(where.repo, status, where.linked)
        host, url = metadata.executor()
        pairs = metadata.trailers(command=line, exit_code=str(code), status=status, duration=f"{seconds:.3f}s",
                                  executor=host, run_url=url) + [("Exp-Rerun-Of", exp.sha)]
        if edit is not None:
            pairs += [(key, " ".join(value.split())) for key, value in edit.pairs]  # Exp-Params-Set, as run -S
        try:
            saved = save(where.repo, message=f"rerun of {source.label}: {line}", append=append, pairs=pairs,
                         baseline=exp.baseline or "", prepared=prepared, command="rerun")
        except ExpError as exc:
            raise NotSaved(code, status, exc) from None
    signals.settle()
    ran = Ran(saved, code, status, seconds, signals.after[0] if signals.after else None)
    compared = diff(repo, saved.name, exp.sha)
    # the original as it can be named now: appended to, NAME is the rerun and NAME~1 was NAME
    compared.b = f"{source.name}~{source.version + 1}" if append else source.label
    return Rerun(source.label, exp.sha, ran, compared)


def _overrides(specs: list[str]) -> list:
    """``-S`` parsed (``overrides.parse_all``), one value each: a rerun is one run."""
    if not specs:
        return []
    from git_exp import overrides

    parsed = overrides.parse_all(specs)
    several = [o.spec for o in parsed if len(o.values) != 1]
    if several:
        raise UsageError(f"-S {names.shown(several[0])}: a rerun is one run, so one value per key — to sweep, "
                         "use `git exp run -S` with the recorded command")
    return parsed


def _metrics_files(repo: Repo) -> tuple[str, ...]:
    """The metrics files and the metric histories (``history``): what a run writes."""
    from git_exp import history

    files = results.configured_files(repo)
    return (*files["metrics"], *history.entries(files), history.DVCLIVE_SUMMARY)


def _remove(path: str) -> None:
    """Remove the file or directory ``path`` of the worktree (a link: the link only)."""
    if os.path.isdir(path) and not os.path.islink(path):
        import shutil

        shutil.rmtree(path, ignore_errors=True)  # never follows a link inside
        return
    try:
        os.unlink(path)
    except OSError:
        pass


def free_name(repo: Repo, name: str) -> str:
    """``NAME-rerun-<n>`` for the first ``n`` that is free."""
    existing = repo.names()
    clashes = names.Clashes(existing)
    for n in range(1, 10_000):
        candidate = f"{name}-rerun-{n}"
        if candidate not in clashes.names and not clashes.find(candidate) and not names.problem(candidate):
            return candidate
    raise UsageError(f"no free name for a rerun of {names.shown(name)} — pass one with -n NEW")
