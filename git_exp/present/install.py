"""install and uninstall: what changed in each remote's configuration, and what it costs."""
from __future__ import annotations

from git_exp.present.common import count, ms, note, out


def installed(remote: str, report, cost_ms: float | None) -> None:
    """``commands.install.Installed`` for ``remote``; ``cost_ms``: what a no-op fetch
    takes more for ``report.count`` experiments."""
    for spec in report.replaced:
        note(f"{remote}: replaced {spec.kind} = {spec.value} (uninstall puts it back)")
    for spec in report.removed:
        _line(remote, "removed", spec)
    for spec in report.added:
        _line(remote, "added", spec)
    if not report.added and not report.removed:
        out(f"{remote}: already installed")
    for text in report.notes:
        note(f"{remote}: {text}")
    if report.count is not None:
        note(f"{remote}: has {count(report.count)}; a no-op `git fetch` will take about "
             f"{ms(cost_ms)} more for them (~30 µs each; --pattern narrows it)")


def _line(remote: str, verb: str, spec) -> None:
    """A refspec added or removed: on stdout, but the archives' on stderr (they come with
    the experiments' refspecs; scripts read the experiments' lines)."""
    from git_exp.refspecs import is_archive_spec

    if is_archive_spec(spec):
        note(f"{remote}: {verb} {spec.kind} = {spec.value} (archives: git exp archive)")
    else:
        out(f"{remote}: {verb} {spec.kind} = {spec.value}")


def uninstalled(remote: str, removed, deleted: int) -> None:
    for spec in removed:
        _line(remote, "removed", spec)
    if not removed:
        out(f"{remote}: nothing was installed")
    if deleted:
        note(f"{remote}: deleted {deleted} remote-tracking experiment{'' if deleted == 1 else 's'} under refs/remote-exp/{remote}/")
