"""``git exp history NAME... [metrics.METRIC...]``: the step-wise series of experiments.

Experiments as ``revisions`` reads them (``NAME``, ``REMOTE/NAME``, ``NAME~1``) or globs
over local names; an argument that starts with ``metrics.`` is a metric (as ``show``
names its columns; a glob such as ``metrics.train.*`` too), so nothing is guessed.
Returns data only: ``Histories`` (``present.history`` shows it).
"""
from __future__ import annotations

from git_exp import history, names, revisions
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.record import Record
from git_exp.repo import Repo


class Histories(Record):
    """``targets`` (revisions.Target, in the order asked), ``series`` ({sha: {metric:
    [(step, value), ...]}}), ``metrics`` (every metric shown, sorted) and ``errors``
    ({label: [why a file could not be read, ...]})."""

    __slots__ = ("targets", "series", "metrics", "errors")


def split_args(args: list[str]) -> tuple[list[str], list[str]]:
    """``(experiments, metrics)``: a metric is written ``metrics.NAME``."""
    metrics = [a for a in args if a.startswith("metrics.")]
    return [a for a in args if not a.startswith("metrics.")], metrics


def select(repo: Repo, specs: list[str]) -> list[revisions.Target]:
    targets: list[revisions.Target] = []
    local = None
    for spec in specs:
        if names.is_glob(spec) and not revisions.has_version(spec):
            local = repo.refs() if local is None else local
            chosen, _ = names.select(list(local), [spec])
            if not chosen:
                raise UsageError(f"no experiment matches {shown(spec)} — `git exp ls` lists them")
            targets += [revisions.Target(n, n, None, 0, names.PREFIX + n, local[n]) for n in chosen]
        else:
            try:
                targets.append(revisions.resolve(repo, spec))
            except UsageError as exc:
                # `acc` or `train.acc` for `metrics.acc`? (a bare word after an experiment, as DVC's and the README's)
                if ("." in spec or spec is not specs[0]) and "no experiment named" in str(exc):
                    raise UsageError(f"{exc} (a metric is written metrics.NAME, as in "
                                     f"`git exp history NAME metrics.{spec}`)") from None
                raise
    seen: set = set()
    return [t for t in targets if not (t.label in seen or seen.add(t.label))]


def histories(repo: Repo, args: list[str]) -> Histories:
    specs, metrics = split_args(args)
    if not specs:
        raise UsageError("name at least one experiment — `git exp history NAME [metrics.METRIC...]`")
    targets = select(repo, specs)
    series, errors = history.load(repo, [t.sha for t in targets])
    known = sorted({m for t in targets for m in series[t.sha]})
    if metrics:
        keep = history.chooser(metrics)
        series = {sha: {m: points for m, points in found.items() if keep(m)} for sha, found in series.items()}
    shown_metrics = sorted({m for t in targets for m in series[t.sha]})
    if metrics and not shown_metrics:
        hint = ("metrics with a history: " + ", ".join("metrics." + m for m in known[:10])) if known else \
            "they have no metric history (dvclive/plots/metrics/, metrics.jsonl or exp.history)"
        raise UsageError(f"no history of {shown(metrics[0])} in {'that experiment' if len(targets) == 1 else 'those experiments'} — {hint}")
    return Histories(targets, series, shown_metrics, {t.label: errors[t.sha] for t in targets if t.sha in errors})
