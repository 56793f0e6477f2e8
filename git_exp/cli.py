"""The command line: typer parses, core functions do the work, ``render`` formats.

This module is the one boundary that prints results and maps exceptions to exit codes
(0 success, 1 operation failed, 2 usage error).  Core modules are imported inside each
command so that start-up imports only what the command needs.
"""
from __future__ import annotations

import os
import sys

from git_exp import __version__
from git_exp.errors import Exit
from git_exp.git import Terminated, guarded, stopped_on_error
from git_exp.params import Argument, Option

HELP = "Experiments as git commits under refs/exp/, shared through your git remotes."
COMMANDS: dict = {}  # name -> (function, typer command options), in help order


def command(name: str | None = None, **options):
    """Register a command; ``main`` builds typer commands only for what it runs."""
    def register(function):
        COMMANDS[name or function.__name__] = (function, options)
        return function
    return register


def build_app(only: str | None = None):
    """The typer app with every command, or just ``only`` (building all costs ~10 ms)."""
    import typer

    from git_exp.params import to_typer

    app = typer.Typer(
        help=HELP, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
        pretty_exceptions_enable=False, context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(to_typer(_main))
    for name, (function, options) in COMMANDS.items():
        if only is None or name == only:
            app.command(name, **options)(to_typer(function))
    return app


def out(text: str) -> None:
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()


def note(text: str) -> None:
    from git_exp.redact import redact

    sys.stderr.write(redact(text) + "\n")
    sys.stderr.flush()


def _repo(remotes: bool = False):
    from git_exp.repo import Repo

    return Repo(remotes=remotes)


def _fmt(json_: bool = False, md: bool = False, csv: bool = False) -> str:
    chosen = [name for name, on in (("json", json_), ("md", md), ("csv", csv)) if on]
    if len(chosen) > 1:
        from git_exp.errors import UsageError

        raise UsageError("choose one of --json, --md and --csv")
    return chosen[0] if chosen else "table"


def _version(value: bool) -> None:
    if value:
        out(f"git-exp {__version__}")
        raise Exit(0)


def _main(
    version: bool = Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Experiments as git commits under refs/exp/, shared through your git remotes.

    See `man git-exp` (or `git help exp`) for the full manual.
    """


@command()
def save(
    name: str | None = Option(None, "-n", "--name", help="Experiment name (default: generated)."),
    message: str | None = Option(None, "-m", "--message", help="Commit message."),
    force: bool = Option(False, "--force", "-f", help="Replace an existing experiment of that name."),
    append: bool = Option(False, "--append", help="Add a new version on top of an existing experiment."),
    no_untracked: bool = Option(False, "--no-untracked", help="Leave out files git does not track."),
) -> None:
    """Snapshot the work tree into refs/exp/NAME; print the name."""
    from git_exp.commands.save import save as do_save

    saved = do_save(_repo(), name, message=message, force=force, append=append, untracked=not no_untracked)
    verb = "appended to" if append and saved.old else ("replaced" if saved.old else "saved")
    note(f"{verb} experiment {saved.name} ({saved.sha[:7]})")
    out(saved.name)


@command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def run(
    command: list[str] = Argument(None, metavar="[--] CMD...", help="The command to run."),
    name: str | None = Option(None, "-n", "--name", help="Experiment name (default: generated)."),
    message: str | None = Option(None, "-m", "--message", help="Commit message."),
    force: bool = Option(False, "--force", "-f", help="Replace an existing experiment of that name."),
    append: bool = Option(False, "--append", help="Add a new version on top of an existing experiment."),
    no_untracked: bool = Option(False, "--no-untracked", help="Leave out files git does not track."),
    isolated: bool = Option(False, "--isolated", help="Run in a temporary worktree; your work tree is untouched."),
) -> None:
    """Run CMD, then save the work tree with its metadata (secrets in CMD recorded as $NAME or ***); exit with CMD's code."""
    from git_exp.commands.run import Signals
    from git_exp.commands.run import run as do_run
    from git_exp.errors import ExpError

    argv = list(command or [])
    if argv[:1] == ["--"]:
        argv = argv[1:]
    with Signals() as signals:  # from the start until all is said: saved or not
        try:
            ran = do_run(_repo(), argv, name, message=message, force=force, append=append,
                         untracked=not no_untracked, isolated=isolated, signals=signals)
        except ExpError as exc:
            if _debug():
                raise
            note(f"git-exp: error: {exc}")
            signals.done = True
            raise Exit(exc.exit_code) from None
        note(f"git-exp: {ran.status} (exit {ran.exit_code}, {ran.duration:.1f}s); saved experiment "
             f"{ran.saved.name} ({ran.saved.sha[:7]})")
        code = ran.exit_code
        if ran.late_signal is not None:
            import signal

            note(f"git-exp: {signal.Signals(ran.late_signal).name} arrived while saving; the save was finished first")
            code = 128 + ran.late_signal
        signals.done = True
    raise Exit(code)


@command("ls")
def ls_(
    remote: str | None = Argument(None, help="List a remote's experiments live (no fetch)."),
    remotes: bool = Option(False, "-r", "--remotes", help="Also list remote-tracking experiments."),
    json_: bool = Option(False, "--json", help="JSON output."),
) -> None:
    """List experiments: name, sha, baseline, age, exit code."""
    from git_exp import render

    if remote is not None:
        from git_exp import remotes as remotes_
        from git_exp.commands.remote_ops import compare

        early = remotes_.start_early(remote)
        with stopped_on_error(early):
            repo = _repo(remotes=True)
            chosen = remotes_.get(repo, remote)
        names_, states, mine, theirs = compare(repo, chosen, early)
        if json_:
            out(render.json_text([{"name": n, "state": s, "local": m, "remote": t}
                                  for n, s, m, t in zip(names_, states, mine, theirs)]))
        else:
            short_mine = [s[:7] if s else "-" for s in mine]
            short_theirs = [s[:7] if s else "-" for s in theirs]
            out(render.grid([names_, states, short_mine, short_theirs], ["name", "state", "local", "remote"]))
        return
    from git_exp.commands.ls import COLUMNS, FIELDS, records, rows, table
    from git_exp.rows import iso_created, start_listing

    listing = start_listing(remotes=remotes)
    with stopped_on_error(listing):
        repo = _repo()
    data = records(repo, remotes=remotes, listing=listing)
    if json_:
        out(render.json_text(iso_created([dict(zip(FIELDS, row)) for row in rows(data)])))
    else:
        out(render.grid(table(data), COLUMNS))


@command()
def show(
    patterns: list[str] = Argument(None, metavar="[NAME|GLOB]...", help="Experiments to show (default: all)."),
    sort: str | None = Option(None, "--sort", help="Sort by column; -COLUMN for descending."),
    where: str | None = Option(None, "--where", help="Filter, e.g. 'metrics.acc > 0.9 and params.lr < 0.1'."),
    remotes: bool = Option(False, "-r", "--remotes", help="Include remote-tracking experiments."),
    json_: bool = Option(False, "--json", help="JSON output."),
    md: bool = Option(False, "--md", help="Markdown table (for CI comments and job summaries)."),
    csv: bool = Option(False, "--csv", help="CSV output."),
) -> None:
    """Table of experiments with status, duration, executor, params and metrics."""
    from git_exp import render, results, rows
    from git_exp.commands.show import json_from_cache, json_text, unreadable, unreadable_in_lines
    from git_exp.commands.show import show as do_show

    fmt = _fmt(json_, md, csv)
    listing, files = rows.start_listing(remotes=remotes), results.start_files()
    with stopped_on_error(listing, files):
        repo = _repo()
    if fmt == "json" and not sort and not where:
        text = json_from_cache(repo, list(patterns or []), remotes=remotes, listing=listing, files=files)
        if text is not None:
            out(text)
            _warn(unreadable_in_lines(text))
            return
    data, columns = do_show(repo, list(patterns or []), sort=sort, where=where, remotes=remotes,
                            listing=listing, files=files)
    if fmt == "json":
        out(json_text(repo, data, files, everything=not (patterns or where)))  # every row key is a column
    else:
        out(render.render([rows.for_display(r) for r in data], columns, fmt))
    _warn(unreadable(data))


def _warn(text: str | None) -> None:
    if text:
        note(text)


@command()
def diff(
    a: str = Argument(..., metavar="A", help="Experiment."),
    b: str | None = Argument(None, metavar="[B]", help="Experiment or commit (default: A's baseline)."),
    stat: bool = Option(False, "--stat", help="Also show which files changed."),
    json_: bool = Option(False, "--json", help="JSON output."),
) -> None:
    """Params and metrics that differ between A and B."""
    from git_exp import render
    from git_exp.commands.diff import diff as do_diff
    from git_exp.commands.diff import unreadable

    result = do_diff(_repo(), a, b, stat=stat)
    _warn(unreadable(result))
    if json_:
        out(render.json_text({"a": result.a, "b": result.b, "a_sha": result.a_sha, "b_sha": result.b_sha,
                              "changes": result.changes, "stat": result.stat, "errors": result.errors}))
        return
    rows = [{"key": c["key"], result.a: c["a"], result.b: c["b"]} for c in result.changes]
    if rows:
        out(render.table(rows, ["key", result.a, result.b]))
    else:
        note(f"no params or metrics differ between {result.a} and {result.b}")
    if result.stat:
        out(result.stat)


@command()
def apply(
    name: str = Argument(..., help="Experiment to apply."),
    force: bool = Option(False, "--force", "-f", help="Save a dirty work tree as an experiment first."),
) -> None:
    """Put an experiment's files in the work tree; HEAD and the index stay as they are."""
    from git_exp.commands.apply import apply as do_apply

    result = do_apply(_repo(), name, force=force)
    if result.saved:
        note(f"saved your changes as experiment {result.saved.name} ({result.saved.sha[:7]})")
    note(f"applied experiment {result.name} ({result.sha[:7]}) to the work tree")


@command()
def branch(
    name: str = Argument(..., help="Experiment."),
    branch_name: str | None = Argument(None, metavar="[BRANCH]", help="Branch to create (default: NAME)."),
) -> None:
    """Create a real branch at an experiment's commit."""
    from git_exp.commands.branch import branch as do_branch

    target, sha = do_branch(_repo(), name, branch_name)
    note(f"created branch {target} at {sha[:7]} (experiment {name})")
    out(target)


@command()
def rm(
    patterns: list[str] = Argument(None, metavar="NAME|GLOB...", help="Experiments to delete."),
    remote: str | None = Option(None, "--remote", help="Delete on this remote instead (with a lease)."),
    dry_run: bool = Option(False, "--dry-run", "-n", help="Say what would be deleted."),
) -> None:
    """Delete experiments; prints how to restore each."""
    if remote is not None:
        from git_exp import remotes
        from git_exp.commands.remote_ops import rm_remote

        repo = _repo(remotes=True)
        raise Exit(_report_push(rm_remote(repo, remotes.get(repo, remote), list(patterns or []),
                                                dry_run=dry_run), remote))
    from git_exp.commands.rm import rm as do_rm

    doomed = do_rm(_repo(), list(patterns or []), dry_run=dry_run)
    _report_deleted(doomed, dry_run)


def _report_deleted(doomed, dry_run: bool) -> None:
    verb = "would delete" if dry_run else "deleted"
    for exp in doomed:
        out(f"{verb} {exp.name} ({exp.sha})")
    if doomed and not dry_run:
        first = doomed[0]
        note(f"restore with: git update-ref refs/exp/<name> <sha>   (e.g. git update-ref refs/exp/{first.name} {first.sha})")


@command()
def tag(
    name: str = Argument(..., help="Experiment."),
    tags: list[str] = Argument(None, metavar="[TAG]...", help="Tags to add (none: list the experiment's tags)."),
    delete: bool = Option(False, "-d", "--delete", help="Remove the tags instead."),
    json_: bool = Option(False, "--json", help="JSON output."),
) -> None:
    """Add, remove (-d) or list an experiment's tags (kept in refs/notes/exp, shared by push/pull)."""
    from git_exp import render
    from git_exp.commands.tag import tag as do_tag
    from git_exp.present import notes as present

    tagged = do_tag(_repo(), name, list(tags or []), delete=delete)
    if json_:
        out(render.json_text(present.tag_json(tagged)))
        return
    text, said = present.tag_lines(tagged, delete=delete, asked=bool(tags))
    out(text)
    _warn(said)


@command("note")
def note_(
    name: str = Argument(..., help="Experiment."),
    text: str | None = Argument(None, metavar="[TEXT]", help="One line to add (none: print the notes)."),
    clear: bool = Option(False, "--clear", help="Hide the notes so far (they stay in the notes' history)."),
    json_: bool = Option(False, "--json", help="JSON output."),
) -> None:
    """Add a note line to an experiment, print its notes, or --clear them (refs/notes/exp)."""
    from git_exp import render
    from git_exp.commands.note import note as do_note
    from git_exp.present import notes as present

    noted = do_note(_repo(), name, text, clear=clear)
    if json_:
        out(render.json_text(present.note_json(noted)))
        return
    shown, said = present.note_lines(noted)
    out(shown)
    _warn(said if not clear or noted.cleared else f"{noted.name} has no notes to clear")


@command()
def rename(
    old: str = Argument(..., help="Current name."),
    new: str = Argument(..., help="New name."),
    remote: str | None = Option(None, "--remote", help="Rename on this remote too."),
) -> None:
    """Rename an experiment."""
    from git_exp.commands.rename import interrupted_rename
    from git_exp.commands.rename import rename as do_rename

    repo = _repo(remotes=remote is not None)
    if remote is not None:
        from git_exp import remotes
        from git_exp.commands.remote_ops import rename_remote

        code = _report_push(rename_remote(repo, remotes.get(repo, remote), old, new), remote)
        if code:
            raise Exit(code)
        if repo.ref_sha(f"refs/exp/{old}") is None and not interrupted_rename(repo, old, new):
            raise Exit(0)  # only on the remote
    target, sha = do_rename(repo, old, new)
    note(f"renamed {old} -> {target} ({sha[:7]})")


@command()
def gc(
    older_than: str | None = Option(None, "--older-than", metavar="AGE", help="Delete experiments older than AGE (30d, 12h, 2w)."),
    orphaned: bool = Option(False, "--orphaned", help="Delete experiments whose baseline no branch or tag reaches."),
    keep: int | None = Option(None, "--keep", metavar="N", help="Keep the N newest experiments, delete the rest."),
    dry_run: bool = Option(False, "--dry-run", "-n", help="Say what would be deleted."),
    tombstones: bool = Option(False, "--tombstones", help="Delete tombstones (records of experiments removed on a "
                                                          "remote) instead, all or those --older-than AGE."),
    remote: str | None = Option(None, "--remote", help="With --tombstones: delete the tombstones on this remote."),
) -> None:
    """Prune experiments (criteria combine with AND), pack refs, clear the ls/show caches."""
    from git_exp.commands.gc import gc as do_gc

    if tombstones or remote is not None:
        _gc_tombstones(older_than, remote, dry_run, orphaned or keep is not None or not tombstones)
        return
    doomed = do_gc(_repo(), older_than=older_than, orphans=orphaned, keep=keep, dry_run=dry_run)
    _report_deleted(doomed, dry_run)
    note(f"{'would delete' if dry_run else 'deleted'} {_count(len(doomed))}" + ("" if dry_run else "; refs packed"))


def _gc_tombstones(older_than: str | None, remote: str | None, dry_run: bool, misused: bool) -> None:
    from git_exp.errors import UsageError
    from git_exp.present.tombstones import deleted_lines

    if misused:
        raise UsageError("--remote goes with --tombstones, which takes only --older-than and --dry-run — "
                         "e.g. `git exp gc --tombstones --older-than 90d`")
    if remote is not None:
        from git_exp import remotes
        from git_exp.commands.remote_ops import gc_remote_tombstones

        repo = _repo(remotes=True)
        doomed, _pushed = gc_remote_tombstones(repo, remotes.get(repo, remote), older_than=older_than,
                                               dry_run=dry_run)
    else:
        from git_exp.commands.gc import gc_tombstones

        doomed = gc_tombstones(_repo(), older_than=older_than, dry_run=dry_run)
    text, said = deleted_lines(doomed, dry_run, remote)
    out(text)
    note(said)


def _report_push(results, remote: str) -> int:
    """One line per experiment that changed (or was refused), a count of those already up
    to date; exit 1 if any was rejected, naming them."""
    out("".join(f"{r.status:<12} {r.name}" + (f"  ({r.detail})" if r.detail else "") + "\n"
                for r in results if r.status != "up to date"))
    same = getattr(results, "already", 0) + sum(r.status == "up to date" for r in results)
    if same:
        note(f"{_count(same)} already up to date")
    rejected = [r.name for r in results if r.status == "rejected"]
    if rejected:
        for line in results.remote_says:
            note(f"{remote}: {line}")
        shown = ", ".join(rejected[:5]) + (f" and {len(rejected) - 5} more" if len(rejected) > 5 else "")
        moved = any(r.status == "rejected" and any(k in r.detail for k in ("fetch first", "non-fast-forward", "stale info"))
                    for r in results)
        advice = ("they changed on the remote: `git exp pull` and compare, then push again, or --force to overwrite"
                  if moved else f"{remote} refused them; its reasons are above")
        note(f"git-exp: error: {remote} rejected {_count(len(rejected))}: {shown} — {advice}")
        return 1
    if not results and not same:
        note("nothing to push")
    return 0


@command()
def push(
    args: list[str] = Argument(None, metavar="[REMOTE] [NAME|GLOB]...", help="Remote (default: the push remote), then experiments."),
    all_: bool = Option(False, "--all", "-a", help="Push every experiment."),
    force: bool = Option(False, "--force", "-f", help="Overwrite remote experiments that moved (with a lease)."),
    dry_run: bool = Option(False, "--dry-run", "-n", help="Say what would be pushed."),
) -> None:
    """Push experiments to a remote in one git push."""
    from git_exp import remotes
    from git_exp.commands.push import push as do_push

    args = list(args or [])
    early = remotes.start_early(args[0]) if all_ and not force and len(args) == 1 else None
    with stopped_on_error(early):
        repo = _repo(remotes=True)
        remote, patterns = remotes.split_args(repo, args, all_=all_)
    if early and remote.name != args[0]:  # --all went to the default remote after all
        early.kill()
        early = None
    pushed = do_push(repo, remote, patterns, all_=all_, force=force, dry_run=dry_run, early=early)
    code = _report_push(pushed, remote.name)
    _warn(pushed.notes)
    if pushed.notes_error:
        note(f"git-exp: error: {pushed.notes_error}")
        code = code or 1
    raise Exit(code)


@command()
def pull(
    args: list[str] = Argument(None, metavar="[REMOTE] [NAME|GLOB]...", help="Remote (default: the push remote), then experiments."),
    all_: bool = Option(False, "--all", "-a", help="Pull every experiment."),
    force: bool = Option(False, "--force", "-f", help="Take the remote version of diverged experiments."),
    prune: bool = Option(False, "--prune", "-p", help="Remove local experiments that were removed or renamed on "
                                                      "the remote (their commits are printed, and kept)."),
) -> None:
    """Fetch experiments (and tags and notes) from a remote and create or fast-forward local ones."""
    from git_exp import remotes
    from git_exp.commands.pull import pull as do_pull

    repo = _repo(remotes=True)
    remote, patterns = remotes.split_args(repo, list(args or []), all_=all_)
    results = do_pull(repo, remote, patterns, all_=all_, force=force, prune=prune)
    left = results.removed_there
    if left:
        note(f"{_count(len(left))} here {'was' if len(left) == 1 else 'were'} removed on {remote.name}: "
             f"{', '.join(left[:5])}{' ...' if len(left) > 5 else ''} — `git exp pull --prune` removes "
             f"{'it' if len(left) == 1 else 'them'} here")
    _warn(results.notes)
    if results.notes_error:
        note(f"git-exp: error: {results.notes_error}")
    changed = [r for r in results if r.status != "up to date"]
    out("".join(f"{r.status:<14} {r.name}" + (f"  ({r.detail})" if r.detail else "") + "\n" for r in changed))
    same = len(results) - len(changed)
    if same:
        note(f"{_count(same)} already up to date")
    blocked = [r.name for r in results if r.status == "rejected"]
    diverged = [r.name for r in results if r.status == "diverged"]
    if diverged:
        note(f"git-exp: error: {_count(len(diverged))} diverged from {remote.name} and were left as they are: "
             f"{', '.join(diverged[:5])} — compare with `git exp diff`, or pull --force to take theirs")
    if blocked:
        note(f"git-exp: error: {_count(len(blocked))} could not be created because a local name is in the way: "
             f"{', '.join(blocked[:5])} — rename or remove the local experiment, then pull again")
    if diverged or blocked or results.notes_error:
        raise Exit(1)


def _count(n: int) -> str:
    return f"{n} experiment" + ("" if n == 1 else "s")


def _ms(value: float) -> str:
    return "<1 ms" if value < 1 else f"{value:.0f} ms"


def _remotes_for(repo, names_: list[str], all_: bool):
    from git_exp import remotes

    if all_:
        return [remotes.get(repo, n) for n in sorted(remotes.configured(repo))]
    if names_:
        return [remotes.get(repo, n) for n in names_]
    return [remotes.default(repo)]


@command()
def install(
    names_: list[str] = Argument(None, metavar="[REMOTE]...", help="Remotes (default: the push remote)."),
    all_: bool = Option(False, "--all", help="Install on every remote."),
    pattern: str | None = Option(None, "--pattern", metavar="GLOB", help="Only experiments matching GLOB, e.g. 'ci/*'."),
    fetch_only: bool = Option(False, "--fetch-only", help="Only the fetch refspec; plain git push stays as it is."),
    push: bool = Option(False, "--push", help="Write the push refspecs even where they change what plain git push "
                                              "does to branches (push.default, upstreams); says what changes."),
    force: bool = Option(False, "--force", help="Replace a conflicting experiment refspec (uninstall restores it)."),
) -> None:
    """Make plain git fetch / git push carry experiments for REMOTE.

    The push refspecs go in only where they leave what plain git push does to branches
    as it is (push.default, upstreams); otherwise the fetch refspec alone, and why."""
    from git_exp.commands.install import check_name, fetch_cost_ms
    from git_exp.commands.install import install as do_install
    from git_exp.errors import UsageError

    if fetch_only and push:
        raise UsageError("--fetch-only and --push contradict each other — choose one")
    repo = _repo(remotes=True)
    chosen = _remotes_for(repo, list(names_ or []), all_)
    for remote in chosen:
        check_name(remote.name)
    for remote in chosen:
        report = do_install(repo, remote, pattern=pattern, fetch_only=fetch_only, push=push, force=force)
        for spec in report.replaced:
            note(f"{remote.name}: replaced {spec.kind} = {spec.value} (uninstall puts it back)")
        for spec in report.removed:
            out(f"{remote.name}: removed {spec.kind} = {spec.value}")
        for spec in report.added:
            out(f"{remote.name}: added {spec.kind} = {spec.value}")
        if not report.added and not report.removed:
            out(f"{remote.name}: already installed")
        for text in report.notes:
            note(f"{remote.name}: {text}")
        if report.count is not None:
            note(f"{remote.name}: has {_count(report.count)}; a no-op `git fetch` will take about "
                 f"{_ms(fetch_cost_ms(report.count))} more for them (~30 µs each; --pattern narrows it)")


@command()
def uninstall(
    names_: list[str] = Argument(None, metavar="[REMOTE]...", help="Remotes (default: the push remote)."),
    all_: bool = Option(False, "--all", help="Uninstall from every remote."),
    keep_refs: bool = Option(False, "--keep-refs", help="Keep refs/remote-exp/REMOTE/."),
) -> None:
    """Remove exactly what install added, and the remote-tracking experiments."""
    from git_exp import names, remotes
    from git_exp.commands.install import uninstall as do_uninstall

    repo = _repo(remotes=True)
    if all_:
        targets = sorted(remotes.configured(repo))
    else:
        targets = list(names_ or []) or [remotes.default(repo).name]
    for name in targets:  # every name checked before anything changes, as install does
        names.RemoteName(name)
    for name in targets:
        removed, deleted = do_uninstall(repo, name, keep_refs=keep_refs)
        for spec in removed:
            out(f"{name}: removed {spec.kind} = {spec.value}")
        if not removed:
            out(f"{name}: nothing was installed")
        if deleted:
            note(f"{name}: deleted {deleted} remote-tracking experiment{'' if deleted == 1 else 's'} under refs/remote-exp/{name}/")


@command()
def doctor(
    json_: bool = Option(False, "--json", help="JSON output."),
    fix: bool = Option(False, "--fix", help="Apply the safe fixes: install's own refspecs, leftovers of killed "
                                            "commands (staging refs, temporary index files, stale locks)."),
) -> None:
    """Check the installation per remote and say what to run.

    Also: what plain git push now does per branch, remote names and refspecs git-exp or git
    cannot use, leftovers of killed commands, symbolic and non-commit refs."""
    from git_exp import render
    from git_exp.commands.doctor import as_json, as_text, diagnose
    from git_exp.commands.doctor import fix as do_fix

    repo = _repo(remotes=True)
    findings = diagnose(repo)
    if fix:
        for done in do_fix(repo, findings):
            note(f"fixed: {done}")
        findings = diagnose(repo)
    if json_:
        out(render.json_text(as_json(findings)))
        return
    out(as_text(findings))


def _is_click_usage(exc: BaseException) -> bool:
    return hasattr(exc, "format_message") and getattr(exc, "exit_code", None) == 2


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code.

    A plain command line goes straight to the command function (``params.parse``, no
    typer import); anything else (help, errors, ``run``'s pass-through arguments) is
    parsed by typer.  ``GIT_EXP_TYPER=1`` sends everything through typer.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    runs = args[0] if args and args[0] in COMMANDS else None
    with guarded():  # SIGTERM unwinds like Ctrl-C; no git we started is left running
        return _main_guarded(args, runs)


def _main_guarded(args: list[str], runs: str | None) -> int:
    from git_exp.errors import ExpError

    try:
        kwargs = None
        if runs and not COMMANDS[runs][1] and os.environ.get("GIT_EXP_TYPER", "") in ("", "0"):
            from git_exp.params import parse

            kwargs = parse(COMMANDS[runs][0], args[1:])
        if kwargs is not None:
            COMMANDS[runs][0](**kwargs)
            return 0
        return _typer_main(args, runs)
    except ExpError as exc:
        if _debug():
            raise
        note(f"git-exp: error: {exc}")
        return exc.exit_code
    except Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        note("git-exp: interrupted")
        return 130
    except Terminated as exc:
        note("git-exp: terminated")
        return exc.exit_code
    except BrokenPipeError:
        return 141
    except Exception as exc:  # anything unexpected
        if _debug():
            raise
        note(f"git-exp: error: internal error: {type(exc).__name__}: {exc} — rerun with GIT_EXP_DEBUG=1 and report it")
        return 1


def _typer_main(args: list[str], runs: str | None) -> int:
    """Parse with typer (click); map its exits and usage errors to ours."""
    import typer

    click_command = typer.main.get_command(build_app(runs))
    try:
        result = click_command.main(args=args, prog_name="git exp", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except Exception as exc:
        if _is_click_usage(exc):
            note(f"git-exp: error: {exc.format_message()} — see `git exp {runs + ' ' if runs else ''}-h`")
            return 2
        if type(exc).__name__ == "Abort":
            note("git-exp: interrupted")
            return 130
        raise


def _debug() -> bool:
    return os.environ.get("GIT_EXP_DEBUG", "") not in ("", "0", "false", "no")
