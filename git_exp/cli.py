"""The commands and their options: what exists, declared once.

Each command function reads its options (typer-style records, ``params``), calls its
command module (``commands/``), which does the work and returns data, and hands the
result to its presenter (``present/``).  Running a command line, and turning exceptions
into exit codes, is ``entry``'s.  Modules are imported inside each command so that
start-up imports only what the command runs.
"""
from __future__ import annotations

from git_exp import __version__
from git_exp.errors import Exit
from git_exp.params import Argument, Option

HELP = "Experiments as git commits under refs/exp/, shared through your git remotes."
WHERE_HELP = "Only experiments matching QUERY, e.g. 'metrics.acc > 0.9 and status == ok' (QUERIES in `man git-exp`)."
COMMANDS: dict = {}  # name -> (function, typer command options), in help order


def command(name: str | None = None, **options):
    """Register a command; ``entry`` builds typer commands only for what it runs."""
    def register(function):
        COMMANDS[name or function.__name__] = (function, options)
        return function
    return register


def main(argv: list[str] | None = None) -> int:
    """``entry.main``, where the console script and older callers find it."""
    from git_exp.entry import main

    return main(argv)


def build_app(only: str | None = None):
    """``entry.build_app`` (the typer app), for the tests and tools that build it from here."""
    from git_exp.entry import build_app

    return build_app(only)


def _repo(remotes: bool = False):
    from git_exp.repo import Repo

    return Repo(remotes=remotes)


def _version(value: bool) -> None:
    if value:
        from git_exp.present.common import out

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
    allow_large: bool = Option(False, "--allow-large", help="Save untracked files over exp.largeFile (10 MiB) too."),
    dvc: bool = Option(False, "--dvc", help="Save as DVC keeps experiments (refs/exps/, on HEAD), so `dvc exp "
                                            "list/show/apply` see it; named dvc:NAME here."),
) -> None:
    """Snapshot the work tree into refs/exp/NAME; print the name.

    Refuses untracked files over exp.largeFile (default 10 MiB) unless --allow-large."""
    from git_exp.commands.save import save as do_save
    from git_exp.present import manage

    manage.saved(do_save(_repo(), name, message=message, force=force, append=append, untracked=not no_untracked,
                         allow_large=allow_large, dvc=dvc), append)


@command("import-dvc")
def import_dvc(
    patterns: list[str] = Argument(None, metavar="[NAME|GLOB]...", help="DVC experiments (dvc:NAME or NAME; default all)."),
    prefix: str = Option("", "--prefix", metavar="PREFIX", help="Name them PREFIX + the DVC name, e.g. dvc/."),
) -> None:
    """Turn DVC's experiments (refs/exps/) into git-exp experiments: a commit on top of each
    (parents: its baseline, then DVC's commit, which becomes NAME~1) with git-exp's trailers."""
    from git_exp.commands.import_dvc import import_dvc as do_import
    from git_exp.present import dvc as present

    present.imported(do_import(_repo(), list(patterns or []), prefix=prefix))


@command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def run(
    command: list[str] = Argument(None, metavar="[--] CMD...", help="The command to run."),
    name: str | None = Option(None, "-n", "--name", help="Experiment name (default: generated)."),
    message: str | None = Option(None, "-m", "--message", help="Commit message."),
    force: bool = Option(False, "--force", "-f", help="Replace an existing experiment of that name."),
    append: bool = Option(False, "--append", help="Add a new version on top of an existing experiment."),
    no_untracked: bool = Option(False, "--no-untracked", help="Leave out files git does not track."),
    isolated: bool = Option(False, "--isolated", help="Run in a temporary worktree with your ignored inputs linked in "
                                                      "(exp.isolate); your work tree is untouched."),
    allow_large: bool = Option(False, "--allow-large", help="Save untracked files over exp.largeFile (10 MiB) too."),
    sets: list[str] = Option(None, "-S", "--set", metavar="[FILE:][+]KEY=VALUE[,VALUE...]",
                             help="Set a parameter in the params file for this run (restored after; +KEY adds a "
                                  "key). Several comma-separated values make a sweep: every combination runs."),
    jobs: int | None = Option(None, "-j", "--jobs", metavar="N",
                              help="Sweep: run N at once, each in its own temporary worktree (default 1)."),
    random_: int | None = Option(None, "--random", metavar="N", help="Sweep: run N combinations drawn at random."),
    seed: int | None = Option(None, "--seed", metavar="N", help="Sweep: seed for --random (default: chosen and shown)."),
    name_prefix: str | None = Option(None, "--name-prefix", metavar="PREFIX",
                                     help="Sweep: name runs PREFIX plus the values that vary, e.g. sweep/lr-0.1-depth-3."),
) -> None:
    """Run CMD, then save the work tree with its metadata (secrets in CMD recorded as $NAME or ***); exit with CMD's code.

    With -S KEY=V1,V2 ... it runs a sweep: every combination of the values, each in its own
    temporary worktree, one line per run as it ends and a table at the end.

    Before the command: refuses untracked files over exp.largeFile (10 MiB) unless
    --allow-large.  After it, before saving: warns about large files it wrote, and when
    it wrote no metrics file."""
    from git_exp.commands.run import Signals
    from git_exp.commands.run import run as do_run
    from git_exp.entry import failed
    from git_exp.errors import ExpError
    from git_exp.present import run as present

    argv = list(command or [])
    if argv[:1] == ["--"]:
        argv = argv[1:]
    edit = None
    if sets or jobs is not None or random_ is not None or seed is not None or name_prefix is not None:
        from git_exp import overrides
        from git_exp.commands import sweep

        parsed = overrides.parse_all(list(sets or []))
        if sweep.is_sweep(parsed, jobs, random_, name_prefix) or seed is not None:
            _sweep(argv, parsed, name, message, force, append, not no_untracked, jobs, random_, seed, name_prefix,
                   allow_large)
        edit = overrides.for_run(_repo(), argv, parsed)
    with Signals() as signals:  # from the start until all is said: saved or not
        try:
            ran = do_run(_repo(), argv, name, message=message, force=force, append=append,
                         untracked=not no_untracked, isolated=isolated, signals=signals, edit=edit,
                         allow_large=allow_large, warn=present.warning)
        except ExpError as exc:
            code = failed(exc)
        else:
            code = present.ran(ran, append)
            if edit is not None:
                from git_exp.present import sweep as present_sweep

                present_sweep.edit_notes(edit)
        signals.done = True
    raise Exit(code)


def _sweep(argv, parsed, name, message, force, append, untracked, jobs, random_, seed, prefix,
           allow_large=False) -> None:
    """``run`` with several values (or --jobs, --random, --name-prefix): a sweep; always exits."""
    from git_exp.commands import sweep
    from git_exp.present import sweep as present

    repo = _repo()
    planned = sweep.prepare(repo, parsed, argv, jobs=jobs, random_=random_, seed=seed, prefix=prefix, name=name,
                            force=force, append=append, check_large=untracked and not allow_large)
    present.opening(planned)
    done = sweep.run(repo, planned, argv, message=message, force=force, append=append, untracked=untracked,
                     started=present.started, finished=present.finished)
    present.summary(done)
    raise Exit(done.exit_code)


@command(context_settings={})  # -S repeats (list[str]): typer parses rerun's command lines
def rerun(
    name: str = Argument(..., metavar="NAME", help="Experiment whose recorded command (Exp-Command) to run again."),
    new: str | None = Option(None, "-n", "--name", help="Save the result under this name (default: NAME-rerun-N)."),
    append: bool = Option(False, "--append", help="Save the result as a new version of NAME."),
    overrides: list[str] = Option(None, "-S", "--set", metavar="[FILE:][+]KEY=VALUE",
                                  help="Set a parameter in NAME's params file first (as run -S; one value)."),
    allow_large: bool = Option(False, "--allow-large", help="No warning about large files the command wrote."),
    json_: bool = Option(False, "--json", help="JSON output."),
) -> None:
    """Run NAME's recorded command again on NAME's tree in a temporary worktree, save the
    result, and print the params and metrics that differ; exit with the command's code.

    Secrets recorded as $VAR are taken from the environment; a masked one (***) is refused."""
    from git_exp.commands.rerun import rerun as do_rerun
    from git_exp.commands.run import Signals
    from git_exp.entry import failed
    from git_exp.errors import ExpError
    from git_exp.present import rerun as present
    from git_exp.present import run as present_run

    with Signals() as signals:  # as for run: from the start until all is said
        try:
            result = do_rerun(_repo(), name, new=new, append=append, overrides=list(overrides or []),
                              allow_large=allow_large, signals=signals, warn=present_run.warning)
        except ExpError as exc:
            code = failed(exc)
        else:
            code = present.rerun(result, json_)
        signals.done = True
    raise Exit(code)


@command("ls")
def ls_(
    remote: str | None = Argument(None, metavar="[REMOTE|URL]", help="List a remote's experiments live (no fetch)."),
    remotes: bool = Option(False, "-r", "--remotes", help="Also list remote-tracking experiments."),
    archived: bool = Option(False, "--archived", help="List the archived experiments instead (git exp archive)."),
    where: str | None = Option(None, "--where", metavar="QUERY", help=WHERE_HELP),
    json_: bool = Option(False, "--json", help="JSON output."),
) -> None:
    """List experiments: sha, baseline, age, exit code, name."""
    from git_exp.present import ls as present

    if archived:
        from git_exp.commands import archive

        if remote is not None or remotes or where is not None:
            from git_exp.errors import UsageError

            raise UsageError("--archived lists the archives here, by name — drop REMOTE/-r/--where "
                             "(`git exp show --archived --where` filters; `git exp pull REMOTE --archived` fetches)")
        present.listing(archive.columns(archive.archived(_repo())), json_, archived=True)
    elif remote is not None:
        from git_exp.commands.remote_ops import ls_remote

        present.remote(ls_remote(remote, where=where), json_, remote)
    elif where is not None:
        from git_exp.commands import ls
        from git_exp.present.query import warn_undecided

        listed = ls.ls(remotes=remotes, where=where)
        present.listing(listed, json_, remotes)
        warn_undecided(listed)
    else:
        from git_exp.commands import ls

        present.listing(ls.ls(remotes=remotes, streamed=True), json_, remotes)


@command()
def show(
    patterns: list[str] = Argument(None, metavar="[NAME|GLOB]...", help="Experiments to show (default: all)."),
    sort: str | None = Option(None, "--sort", help="Sort by column; -COLUMN for descending (default: newest first)."),
    where: str | None = Option(None, "--where", metavar="QUERY", help=WHERE_HELP),
    remotes: bool = Option(False, "-r", "--remotes", help="Include remote-tracking experiments."),
    archived: bool = Option(False, "--archived", help="Show archived experiments instead (git exp archive)."),
    remote: str | None = Option(None, "--remote", metavar="REMOTE",
                                help="Show REMOTE's experiments (a remote or a URL) without pulling them; "
                                     "`show REMOTE` does the same unless an experiment has that name."),
    max_count: int | None = Option(None, "-n", "--max-count", metavar="N", help="Show at most N experiments."),
    reverse: bool = Option(False, "--reverse", help="Reverse the order (after -n, as git log does)."),
    columns: str | None = Option(None, "--columns", metavar="COL,...", help="Show these columns, in this order "
                                 "(names or globs, e.g. 'metrics.*'; lr for params.lr when unambiguous)."),
    drop: str | None = Option(None, "--drop", metavar="COL,...", help="Leave out these columns (names or globs)."),
    only_changed: bool = Option(False, "--only-changed", help="Leave out columns whose value is the same in every row."),
    color: str | None = Option(None, "--color", metavar="WHEN", help="Colour: always (--color alone), never or "
                               "auto (default: color.exp, color.ui)."),
    no_color: bool = Option(False, "--no-color", help="No colour (--color=never)."),
    no_pager: bool = Option(False, "--no-pager", help="Do not page the output (git's pager settings otherwise)."),
    best: str | None = Option(None, "--best", metavar="METRIC",
                              help="Show each experiment's best step of a metric history (highest; "
                                   "-METRIC or min:METRIC for the lowest) and its step in best_step."),
    json_: bool = Option(False, "--json", help="JSON output."),
    md: bool = Option(False, "--md", help="Markdown table (for CI comments and job summaries)."),
    csv: bool = Option(False, "--csv", help="CSV output."),
    vs: str | None = Option(None, "--vs", metavar="REF", help="With --md: each experiment against REF (an experiment, "
                                                              "branch, tag or commit), metrics first, with deltas."),
) -> None:
    """Table of experiments with status, duration, executor, params and metrics, newest first.

    NAME may be REMOTE/NAME (as `ls -r` prints it) or a version, NAME~1; metric histories
    (dvclive/, metrics.jsonl, exp.history) add their latest values. On a terminal the
    table fits its width (long text cut with …, columns that do not fit left out and
    named), with colour, through your pager (git's settings: GIT_PAGER, pager.exp,
    core.pager, PAGER; --no-pager), and comes as it is read, newest rows first: its
    layout is that of the first rows, and older rows that bring a column or a wider
    value come under a new header (--sort, --where, --best, --reverse, --columns,
    --drop, --only-changed and patterns lay out every row first).  --json of 10,000 or
    more experiments never read before reads them 2,500 at a time on two processes,
    writing each part as it comes.  `show REMOTE [GLOB...]` (or --remote REMOTE) shows a
    remote's experiments without pulling them: only their commits and result files are
    fetched (filtered, where the server allows it) into git-exp's own store, and no ref
    or experiment is created."""
    from git_exp import columns as pick
    from git_exp import terminal
    from git_exp.commands import show as do
    from git_exp.commands import show_cold as cold
    from git_exp.commands import show_stream as stream
    from git_exp.present import show as present
    from git_exp.present import table
    from git_exp.present.common import chosen_format

    fmt = chosen_format(json_, md, csv)
    if vs is not None and fmt != "md":
        from git_exp.errors import UsageError

        raise UsageError("--vs compares in Markdown — add --md")
    when = "never" if no_color else terminal.color_when(color)
    picked = columns is not None or drop is not None or only_changed
    patterns = list(patterns or [])
    config = terminal.start_config() if terminal.needs_config(fmt == "table" and when is None, not no_pager) else None
    if archived and remotes:
        from git_exp.errors import UsageError

        raise UsageError("--archived shows the archives here — drop -r; "
                         "`git exp pull REMOTE --archived` fetches a remote's")
    source = do.start(remotes=remotes, patterns=patterns, trailers=not archived)  # git lists while
    # the repository is looked at; only what the patterns may select
    remote, patterns = do.remote_of(source, patterns, remote)
    if remote is not None and (remotes or archived):
        from git_exp.errors import UsageError

        raise UsageError(f"{'-r' if remotes else '--archived'} shows experiments fetched or archived here — "
                         "drop it to show a remote's own")
    face = terminal.settings(config, color=when, paging=not no_pager, colored=fmt == "table")
    if stream.streams(terminal=terminal.stdout_is_tty(), fmt=fmt, patterns=patterns, sort=sort, where=where,
                      best=best, reverse=reverse, picked=picked, archived=archived, remote=remote, vs=vs):
        shown = present.StreamedTable(stream.chunks(source, remotes=remotes, limit=max_count), width=face.width,
                                 palette=face.palette, ellipsis=table.ellipsis(face.encoding), limit=max_count)
        blocks = shown.blocks()
        first = next(blocks, "")  # read before the pager starts: nothing to show starts none
        with terminal.paged(face if first else None):
            present.write_blocks(first, blocks, shown.notes)
        return
    lines = do.lines_cache(source) if fmt == "json" and not archived and remote is None else None
    text = None
    plain = not sort and where is None and not best and not picked and not any(map(do.needs_resolving, patterns))
    if lines and plain:
        text = present.cached_json(lines, lambda: do.listed(source, patterns), limit=max_count, reverse=reverse,
                                   narrowed=source.refs is not None)
        notes = [present.unreadable_in_lines(text)] if text is not None else []
        if text is None and cold.applies(fmt=fmt, patterns=patterns, sort=sort, where=where, best=best,
                                         picked=picked, limit=max_count, reverse=reverse, archived=archived,
                                         remote=remote, vs=vs):
            found = cold.usable(source, lines)
            bad: list = []
            pieces = cold.json_text(source, *found, remotes=remotes, encode=present.json_part, bad=bad) \
                if found is not None else None  # none of them in the facts: a part at a time
            if pieces is not None:
                text, notes = present.Streamed(pieces), present.unreadable_after(bad)
    fetched = None
    if text is None and remote is not None:
        from git_exp.present.peek import fetched as fetched_note

        source.listing.wait(check=False)
        source.trailer_key()  # not needed: reaped
        data, known, answer = do.show_remote(source.repo, remote, patterns, sort=sort, where=where, files=source.files,
                                             best=best, limit=max_count, reverse=reverse)
        fetched = fetched_note(answer.label, answer.fetched)
        if vs is not None:
            present.write("", [fetched])
    elif text is None and archived:
        from git_exp.commands import archive

        data, known = archive.show_rows(source.repo, patterns, sort=sort, where=where, best=best, limit=max_count,
                                        reverse=reverse)
    elif text is None:
        data, known = do.show(source.repo, patterns, sort=sort, where=where, remotes=remotes, listing=source.listing,
                              files=source.files, best=best, limit=max_count, reverse=reverse, refs=source.refs,
                              trailers=source.trailer_key())
    if text is None:
        if vs is not None:
            from git_exp.compare import baseline
            from git_exp.present.compare import show_vs

            show_vs(data, known, baseline(source.repo, vs, source.files))
            if where is not None:
                from git_exp.present.query import warn_undecided

                warn_undecided(data)
            return
        default = table.terminal_order(known) if fmt == "table" else known
        chosen = pick.pick([*known, *(k for k in pick.EXTRA if k not in known)], default, data, columns=columns,
                           drop=drop, only_changed=only_changed)
        text, notes = present.shown(data, chosen, fmt, lines, picked=picked, width=face.width, palette=face.palette,
                                    ellipsis=table.ellipsis(face.encoding),
                                    everything=not patterns and where is None and max_count is None,
                                    where=where, limit=max_count, archived=archived)
        if where is not None:
            from git_exp.present.query import undecided

            notes.append(undecided(list(getattr(data, "undecided", ()))))
        if remote is not None:
            from git_exp.present.peek import remote_notes

            notes = remote_notes(answer.label, fetched, notes, present.empty(None))
    with terminal.paged(face if text else None):
        present.write(text, notes)


@command()
def report(
    patterns: list[str] = Argument(None, metavar="[NAME|GLOB]...", help="Experiments to include (default: all)."),
    where: str | None = Option(None, "--where", help="Filter, e.g. 'metrics.acc > 0.9 and params.lr < 0.1'."),
    remotes: bool = Option(False, "-r", "--remotes", help="Include remote-tracking experiments."),
    output: str = Option("report.html", "-o", "--output", metavar="FILE", help="Where to write the page ('-': stdout)."),
) -> None:
    """Write one self-contained HTML page (opens offline) to compare experiments: a sortable,
    filterable table, params against a metric, step-metric curves, and each experiment's
    changes against its baseline."""
    from git_exp.commands import show
    from git_exp.commands.report import gather, recorded_by_save
    from git_exp.present.report import prepare, written

    source, version = show.start(remotes=remotes), f"git-exp {__version__}"
    with gather(source.repo, list(patterns or []), where=where, remotes=remotes, listing=source.listing,
                files=source.files) as gathering:
        prepared = prepare(gathering.report, version)  # rows and curves encoded while git diffs
        data = gathering.finish()
    written(data, output, version, recorded=recorded_by_save(source.repo, output), prepared=prepared)


@command()
def log(
    name: str = Argument(..., metavar="NAME", help="Experiment (REMOTE/NAME, NAME~N too)."),
    max_count: int | None = Option(None, "-n", "--max-count", metavar="N", help="Show at most N versions."),
    json_: bool = Option(False, "--json", help="JSON output."),
) -> None:
    """The versions of an experiment (save --append), newest first: NAME, NAME~1, ..."""
    from git_exp.commands.log import log as do_log
    from git_exp.present import history as present

    present.log(*do_log(_repo(), name, limit=max_count), json_)


@command()
def history(
    args: list[str] = Argument(None, metavar="NAME... [metrics.METRIC]...",
                               help="Experiments (NAME, REMOTE/NAME, NAME~N, globs), then metrics as show "
                                    "names them (metrics.acc, metrics.train.*); default: every metric."),
    json_: bool = Option(False, "--json", help="JSON output: each experiment's series as [step, value] pairs."),
    csv: bool = Option(False, "--csv", help="CSV, one line per point: experiment,remote,sha,metric,step,value."),
) -> None:
    """Metric series over steps, from dvclive/plots/metrics/, metrics.jsonl or exp.history."""
    from git_exp.commands.history import histories
    from git_exp.present import history as present
    from git_exp.present.common import chosen_format

    fmt = chosen_format(json_, False, csv)
    present.history(histories(_repo(), list(args or [])), fmt)


@command()
def diff(
    a: str = Argument(..., metavar="A", help="Experiment (NAME, REMOTE/NAME, NAME~N)."),
    b: str | None = Argument(None, metavar="[B]", help="Experiment or commit (default: A's baseline)."),
    stat: bool = Option(False, "--stat", help="Also show which files changed."),
    json_: bool = Option(False, "--json", help="JSON output."),
) -> None:
    """Params and metrics that differ between A and B."""
    from git_exp.commands.diff import diff as do_diff
    from git_exp.present import diff as present

    present.diff(do_diff(_repo(), a, b, stat=stat), json_)


@command()
def apply(
    name: str = Argument(..., metavar="NAME", help="Experiment to apply (NAME, REMOTE/NAME, NAME~N)."),
    force: bool = Option(False, "--force", "-f", help="Save a dirty work tree as an experiment first."),
) -> None:
    """Put an experiment's files in the work tree; HEAD and the index stay as they are."""
    from git_exp.commands.apply import apply as do_apply
    from git_exp.present import manage

    manage.applied(do_apply(_repo(), name, force=force))


@command()
def branch(
    name: str = Argument(..., metavar="NAME", help="Experiment (NAME, REMOTE/NAME, NAME~N)."),
    branch_name: str | None = Argument(None, metavar="[BRANCH]", help="Branch to create (default: the experiment's name)."),
) -> None:
    """Create a real branch at an experiment's commit."""
    from git_exp.commands.branch import branch as do_branch
    from git_exp.present import manage

    target, sha = do_branch(_repo(), name, branch_name)
    manage.branched(target, sha, name)


@command()
def rm(
    patterns: list[str] = Argument(None, metavar="NAME|GLOB...", help="Experiments to delete."),
    remote: str | None = Option(None, "--remote", metavar="REMOTE|URL", help="Delete on this remote instead (with a lease)."),
    dry_run: bool = Option(False, "--dry-run", "-n", help="Say what would be deleted."),
    older_than: str | None = Option(None, "--older-than", metavar="AGE", help="Only those older than AGE (30d, 12h, 2w)."),
    keep: int | None = Option(None, "--keep", metavar="N", help="Keep the N newest of those named, delete the rest."),
    where: str | None = Option(None, "--where", metavar="QUERY", help=WHERE_HELP + " Without NAME: of all."),
) -> None:
    """Delete experiments; prints how to restore each."""
    if remote is not None and (older_than is not None or keep is not None):
        from git_exp.errors import UsageError

        raise UsageError("--older-than and --keep work on local experiments — drop --remote, or name them")
    if remote is not None:
        from git_exp import remotes
        from git_exp.commands.remote_ops import rm_remote
        from git_exp.present import share

        _talking(False, False, False)
        repo = _repo(remotes=True)
        target = remotes.resolve(repo, remote)
        done = rm_remote(repo, target, list(patterns or []), dry_run=dry_run, where=where)
        if where is not None:
            from git_exp.present.query import selected

            if not selected(done, "nothing was deleted"):
                raise Exit(0)
        raise Exit(share.removed(done, target.label, target.name))
    from git_exp.commands.rm import rm as do_rm
    from git_exp.present import manage

    doomed = do_rm(_repo(), list(patterns or []), dry_run=dry_run, older_than=older_than, keep=keep, where=where)
    if where is not None:
        from git_exp.present.query import selected

        if not selected(doomed, "nothing was deleted"):
            return
    manage.deleted(doomed, dry_run)


@command()
def tag(
    name: str = Argument(..., metavar="NAME", help="Experiment."),
    tags: list[str] = Argument(None, metavar="[TAG]...", help="Tags to add (none: list the experiment's tags)."),
    delete: bool = Option(False, "-d", "--delete", help="Remove the tags instead."),
    json_: bool = Option(False, "--json", help="JSON output."),
) -> None:
    """Add, remove (-d) or list an experiment's tags (kept in refs/notes/exp, shared by push/pull)."""
    from git_exp.commands.tag import tag as do_tag
    from git_exp.present import notes as present

    present.tagged(do_tag(_repo(), name, list(tags or []), delete=delete), delete=delete, asked=bool(tags),
                   json_=json_)


@command("note")
def note_(
    name: str = Argument(..., metavar="NAME", help="Experiment."),
    text: str | None = Argument(None, metavar="[TEXT]", help="One line to add (none: print the notes)."),
    clear: bool = Option(False, "--clear", help="Hide the notes so far (they stay in the notes' history)."),
    json_: bool = Option(False, "--json", help="JSON output."),
) -> None:
    """Add a note line to an experiment, print its notes, or --clear them (refs/notes/exp)."""
    from git_exp.commands.note import note as do_note
    from git_exp.present import notes as present

    present.noted(do_note(_repo(), name, text, clear=clear), clear=clear, json_=json_)


@command()
def rename(
    old: str = Argument(..., metavar="OLD", help="Current name."),
    new: str = Argument(..., metavar="NEW", help="New name."),
    remote: str | None = Option(None, "--remote", help="Rename on this remote too."),
) -> None:
    """Rename an experiment."""
    from git_exp.commands.rename import interrupted_rename
    from git_exp.commands.rename import rename as do_rename
    from git_exp.present import manage

    repo = _repo(remotes=remote is not None)
    if remote is not None:
        from git_exp import remotes
        from git_exp.commands.remote_ops import rename_remote
        from git_exp.present import share

        _talking(False, False, False)
        where = remotes.resolve(repo, remote)
        code = share.pushed(rename_remote(repo, where, old, new), where.label)
        if code:
            raise Exit(code)
        if repo.ref_sha(f"refs/exp/{old}") is None and not interrupted_rename(repo, old, new):
            raise Exit(0)  # only on the remote
    target, sha = do_rename(repo, old, new)
    manage.renamed(old, target, sha)


@command()
def gc(
    patterns: list[str] = Argument(None, metavar="[NAME|GLOB]...", help="Only among these experiments (default: all)."),
    older_than: str | None = Option(None, "--older-than", metavar="AGE", help="Delete experiments older than AGE (30d, 12h, 2w)."),
    orphaned: bool = Option(False, "--orphaned", help="Delete experiments whose baseline no branch or tag reaches."),
    keep: int | None = Option(None, "--keep", metavar="N", help="Keep the N newest experiments, delete the rest."),
    where: str | None = Option(None, "--where", metavar="QUERY", help="Delete experiments matching QUERY, e.g. "
                               "'status == failed' (QUERIES in `man git-exp`)."),
    dry_run: bool = Option(False, "--dry-run", "-n", help="Say what would be deleted."),
    tombstones: bool = Option(False, "--tombstones", help="Delete tombstones (records of experiments removed on a "
                                                          "remote) instead: all, or those --older-than AGE."),
    remote: str | None = Option(None, "--remote", metavar="REMOTE", help="With --tombstones: those on this remote."),
) -> None:
    """Prune experiments (criteria combine with AND), pack refs, clear the ls/show facts file."""
    from git_exp.commands.gc import gc as do_gc
    from git_exp.present import manage
    from git_exp.present.query import warn_undecided

    if tombstones or remote is not None:
        from git_exp.commands.gc import gc_tombstones_here
        from git_exp.present.tombstones import deleted

        misused = bool(patterns) or orphaned or keep is not None or where is not None or not tombstones
        deleted(*gc_tombstones_here(remote, older_than=older_than, dry_run=dry_run, misused=misused), dry_run)
        return
    doomed = do_gc(_repo(), list(patterns or []), older_than=older_than, orphans=orphaned, keep=keep,
                   dry_run=dry_run, where=where)
    warn_undecided(doomed)
    manage.collected(doomed, dry_run)


@command()
def archive(
    patterns: list[str] = Argument(None, metavar="[NAME|GLOB]...", help="Only among these experiments (default: all)."),
    older_than: str | None = Option(None, "--older-than", metavar="AGE", help="Archive experiments older than AGE (90d, 12w, 1y)."),
    keep: int | None = Option(None, "--keep", metavar="N", help="Keep the N newest experiments live, archive the rest."),
    where: str | None = Option(None, "--where", metavar="QUERY", help=WHERE_HELP),
    dry_run: bool = Option(False, "--dry-run", "-n", help="Say what would be archived."),
) -> None:
    """Move experiments off their own refs into a few archive refs (refs/exp-archive/).

    They stay reachable and travel with `git exp push REMOTE --archived`; every plain
    git fetch and git push stops paying for each of them. `ls --archived` and `show
    --archived` read them; `unarchive` brings them back. Criteria combine with AND."""
    from git_exp.commands.archive import archive as do_archive
    from git_exp.present import archive as present

    present.archived(do_archive(_repo(), list(patterns or []), older_than=older_than, keep=keep, where=where,
                                dry_run=dry_run))


@command()
def unarchive(
    patterns: list[str] = Argument(None, metavar="NAME|GLOB...", help="Archived experiments to bring back."),
    dry_run: bool = Option(False, "--dry-run", "-n", help="Say what would be brought back."),
) -> None:
    """Bring archived experiments back to refs/exp/NAME (their archives are rewritten without them)."""
    from git_exp.commands.archive import unarchive as do_unarchive
    from git_exp.present import archive as present

    present.archived(do_unarchive(_repo(), list(patterns or []), dry_run=dry_run), "unarchived")


def _colours() -> dict | None:
    """``terminal.colours``, for push and pull: their presenter asks only when a line is
    to be coloured (a no-op push prints none, and reads no git config)."""
    from git_exp.terminal import colours

    return colours()


def _talking(verbose: bool, quiet: bool, progress: bool) -> None:
    """-v / -q / --progress of push and pull."""
    from git_exp import progress as progress_
    from git_exp.errors import UsageError
    from git_exp.present import share

    if quiet and (verbose or progress):
        raise UsageError("-q contradicts " + ("-v" if verbose else "--progress") + " — choose one")
    progress_.set_mode(progress=progress, quiet=quiet)
    share.set_verbosity(verbose=verbose, quiet=quiet)


@command()
def push(
    args: list[str] = Argument(None, metavar="[REMOTE|URL] [NAME|GLOB]...",
                               help="Remote or URL (default: the push remote), then experiments."),
    all_: bool = Option(False, "--all", "-a", help="Push every experiment."),
    force: bool = Option(False, "--force", "-f", help="Overwrite remote experiments that moved (with a lease)."),
    dry_run: bool = Option(False, "--dry-run", "-n", help="Say what would be pushed."),
    verbose: bool = Option(False, "--verbose", "-v", help="A line for every experiment (default: a screenful on a terminal)."),
    quiet: bool = Option(False, "--quiet", "-q", help="Errors only: no progress, no per-experiment lines, no summary."),
    progress: bool = Option(False, "--progress", help="Show git's progress even when stderr is not a terminal."),
    archived: bool = Option(False, "--archived", help="Push the archives, and delete there the experiments they hold."),
    where: str | None = Option(None, "--where", metavar="QUERY", help=WHERE_HELP + " Without NAME: of all."),
) -> None:
    """Push experiments to a remote in one git push."""
    from git_exp.commands.push import push_here
    from git_exp.present import share

    _talking(verbose, quiet, progress)
    if archived:
        _archived_share("push", list(args or []), all_ or force or where is not None, dry_run)
        return
    remote, pushed = push_here(list(args or []), all_=all_, force=force, dry_run=dry_run, where=where)
    if where is not None:
        from git_exp.present.query import selected

        if not selected(pushed, "nothing to push"):
            raise Exit(0)
    raise Exit(share.pushed(pushed, remote, _colours))


@command()
def pull(
    args: list[str] = Argument(None, metavar="[REMOTE|URL] [NAME|GLOB]...",
                               help="Remote or URL (default: the push remote), then experiments."),
    all_: bool = Option(False, "--all", "-a", help="Pull every experiment."),
    force: bool = Option(False, "--force", "-f", help="Take the remote version of diverged experiments."),
    prune: bool = Option(False, "--prune", "-p", help="Remove local experiments that were removed or renamed on "
                                                      "the remote (their commits are printed, and kept)."),
    verbose: bool = Option(False, "--verbose", "-v", help="A line for every experiment (default: a screenful on a terminal)."),
    quiet: bool = Option(False, "--quiet", "-q", help="Errors only: no progress, no per-experiment lines, no summary."),
    progress: bool = Option(False, "--progress", help="Show git's progress even when stderr is not a terminal."),
    archived: bool = Option(False, "--archived", help="Fetch the remote's archives; unarchive the NAMEs given."),
    where: str | None = Option(None, "--where", metavar="QUERY", help=WHERE_HELP + " Without NAME: of all the "
                               "remote's; all selected are fetched to refs/remote-exp/REMOTE/, the matching ones "
                               "become local."),
) -> None:
    """Fetch experiments (and tags and notes) from a remote and create or fast-forward local ones."""
    from git_exp.commands.pull import pull_here
    from git_exp.present import share

    _talking(verbose, quiet, progress)
    if archived:
        _archived_share("pull", list(args or []), all_ or force or where is not None or prune, False)
        return
    remote, pulled = pull_here(list(args or []), all_=all_, force=force, where=where, prune=prune)
    if where is not None:
        from git_exp.present.query import unmatched_pulls, warn_undecided

        warn_undecided(pulled)
        unmatched_pulls(pulled, remote)
    code = share.pulled(pulled, remote, _colours)
    if code:
        raise Exit(code)


def _archived_share(verb: str, args: list[str], refused: bool, dry_run: bool) -> None:
    """``push --archived`` / ``pull --archived``."""
    from git_exp import remotes
    from git_exp.commands import archive
    from git_exp.errors import UsageError
    from git_exp.present import archive as present

    if refused:
        raise UsageError(f"--archived {verb}es every archive; --all, --force and --where do not apply — drop them")
    repo = _repo(remotes=True)
    where, patterns = remotes.split_args(repo, args)
    if verb == "push":
        if patterns:
            raise UsageError("push --archived sends every archive — drop the names")
        present.pushed(archive.push_archived(repo, where, dry_run=dry_run), where.label, dry_run)
    else:
        present.pulled(archive.pull_archived(repo, where, patterns), where.label)


@command()
def install(
    names_: list[str] = Argument(None, metavar="[REMOTE]...", help="Remotes (default: the push remote)."),
    all_: bool = Option(False, "--all", help="Install on every remote."),
    pattern: str | None = Option(None, "--pattern", metavar="GLOB", help="Only experiments matching GLOB, e.g. 'ci/*'."),
    fetch_only: bool = Option(False, "--fetch-only", help="Only the fetch refspec; plain git push stays as it is."),
    push: bool = Option(False, "--push", help="Write the push refspecs even where they change what plain git push "
                                              "does to branches (push.default, upstreams); says what changes."),
    force: bool = Option(False, "--force", help="Replace a conflicting experiment refspec (uninstall restores it)."),
    dvc: bool = Option(False, "--dvc", help="Also fetch DVC's experiments (refs/exps/) into refs/remote-exps/REMOTE/; "
                                            "`git exp pull REMOTE 'dvc:*'` creates the refs DVC sees."),
) -> None:
    """Make plain git fetch / git push carry experiments for REMOTE.

    The push refspecs go in only where they leave what plain git push does to branches
    as it is (push.default, upstreams); otherwise the fetch refspec alone, and why."""
    from git_exp.commands.install import chosen_remotes, fetch_cost_ms
    from git_exp.commands.install import install as do_install
    from git_exp.errors import UsageError
    from git_exp.present import install as present

    if fetch_only and push:
        raise UsageError("--fetch-only and --push contradict each other — choose one")
    repo = _repo(remotes=True)
    for remote in chosen_remotes(repo, list(names_ or []), all_):
        report = do_install(repo, remote, pattern=pattern, fetch_only=fetch_only, push=push, force=force, dvc=dvc)
        present.installed(remote.name, report, None if report.count is None else fetch_cost_ms(report.count))


@command()
def uninstall(
    names_: list[str] = Argument(None, metavar="[REMOTE]...", help="Remotes (default: the push remote)."),
    all_: bool = Option(False, "--all", help="Uninstall from every remote."),
    keep_refs: bool = Option(False, "--keep-refs", help="Keep refs/remote-exp/REMOTE/ (and refs/remote-exps/REMOTE/)."),
) -> None:
    """Remove exactly what install added, and the remote-tracking experiments."""
    from git_exp.commands.install import uninstall as do_uninstall
    from git_exp.commands.install import uninstall_targets
    from git_exp.present import install as present

    repo = _repo(remotes=True)
    for name in uninstall_targets(repo, list(names_ or []), all_):
        present.uninstalled(name, *do_uninstall(repo, name, keep_refs=keep_refs))


@command()
def doctor(
    json_: bool = Option(False, "--json", help="JSON output."),
    fix: bool = Option(False, "--fix", help="Apply the safe fixes: install's own refspecs, leftovers of killed "
                                            "commands (staging refs, temporary index files, stale locks)."),
) -> None:
    """Check the installation per remote and say what to run.

    Also: what plain git push now does per branch, remote names and refspecs git-exp or git
    cannot use, leftovers of killed commands, symbolic and non-commit refs."""
    from git_exp.commands.doctor import diagnose
    from git_exp.commands.doctor import fix as do_fix
    from git_exp.present import doctor as present

    repo = _repo(remotes=True)
    findings = diagnose(repo)
    if fix:
        present.fixed(do_fix(repo, findings))
        findings = diagnose(repo)
    present.findings(findings, json_)
