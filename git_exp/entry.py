"""The entry point: run one command line, map every exception to an exit code.

Exit codes: 0 success, 1 the operation failed, 2 usage error, 130 interrupted (Ctrl-C),
128+N killed by signal N (SIGTERM: 143), 141 stdout closed early (broken pipe); ``run``
exits with its command's code (127 when the command cannot be started).  Errors are one
line on stderr, ``git-exp: error: what happened — what to do``; ``GIT_EXP_DEBUG=1`` shows
the traceback instead.

A plain command line goes straight to the command function (``params.parse``, no typer
import); anything else (help, errors, ``run``'s pass-through arguments) is parsed by
typer.  ``GIT_EXP_TYPER=1`` sends everything through typer.  The commands themselves are
declared in ``cli``.
"""
from __future__ import annotations

import os
import signal
import sys

from git_exp.errors import Exit
from git_exp.git import SHIELDED, Terminated, guarded
from git_exp.present.common import note


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code."""
    from git_exp.cli import COMMANDS

    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["__complete"]:
        return complete(args[1:])
    if not args:
        return usage()
    runs = args[0] if args and args[0] in COMMANDS else None
    if runs in OPTIONAL_COLOR:
        args = optional_color(args)
    with guarded():  # SIGTERM unwinds like Ctrl-C; no git we started is left running
        code = _main_guarded(args, runs)
        if argv is None and hasattr(signal, "pthread_sigmask"):  # this process is git-exp, its work done and
            signal.pthread_sigmask(signal.SIG_BLOCK, SHIELDED)  # said: a late Ctrl-C is held and dropped at exit
        try:  # (it printed a traceback where it landed: as remembered started, in atexit's flush)
            return remembered(code)
        except KeyboardInterrupt:  # in process (tests, callers): as it came
            return code or 130
        except Terminated as exc:
            return code or exc.exit_code


def remembered(code: int) -> int:
    """``code``, once the facts the command learnt are written (``cache.flush``); an
    interrupt while writing (where one can come: ``main`` holds them once git-exp's own
    command is done) leaves the old file, and exits as interrupted.  A command that never
    imported ``cache`` learnt nothing (``ls REMOTE``): it is not imported for it."""
    cache = sys.modules.get("git_exp.cache")
    if cache is None:
        return code
    try:
        cache.flush()
    except KeyboardInterrupt:
        return code or 130
    except Terminated as exc:
        return code or exc.exit_code
    return code


OPTIONAL_COLOR = ("show",)  # commands whose --color takes an optional =WHEN, as git's do


def optional_color(args: list[str]) -> list[str]:
    """``--color`` alone as ``--color=always`` (before any ``--``): git's ``--color[=WHEN]``,
    which click cannot declare (its option would take the next word as WHEN)."""
    end = args.index("--") if "--" in args else len(args)
    return [("--color=always" if arg == "--color" else arg) for arg in args[:end]] + args[end:]


def usage() -> int:
    """Bare ``git exp``: the short usage, exit 1 (bare ``git`` does the same)."""
    from git_exp.cli import COMMANDS, HELP
    from git_exp.present.usage import usage as present

    return present(HELP, [(name, " ".join((function.__doc__ or "").strip().partition("\n\n")[0].split()))
                          for name, (function, options) in COMMANDS.items() if not options.get("hidden")])


def complete(words: list[str]) -> int:
    """The hidden ``__complete`` command of the shell completions (``commands.complete``):
    candidates or nothing, never an error; exit 0."""
    from git_exp.commands.complete import candidates
    from git_exp.present import complete as present

    if words[:1] == ["--"]:
        words = words[1:]
    try:
        with guarded():
            found = candidates(words)
    except (Exception, KeyboardInterrupt, Terminated):
        if debug():
            raise
        return 0
    try:
        present.candidates(found)
    except BrokenPipeError:
        pass
    return 0


def build_app(only: str | None = None):
    """The typer app with every command, or just ``only`` (building all costs ~10 ms)."""
    import typer

    from git_exp.cli import COMMANDS, HELP, _main
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


def debug() -> bool:
    """Whether ``GIT_EXP_DEBUG`` asks for tracebacks instead of one-line errors."""
    return os.environ.get("GIT_EXP_DEBUG", "") not in ("", "0", "false", "no")


def failed(exc) -> int:
    """Say ``ExpError`` ``exc`` in one line (re-raise it under GIT_EXP_DEBUG); its exit code."""
    if debug():
        raise exc
    note(f"git-exp: error: {exc}")
    return exc.exit_code


def _main_guarded(args: list[str], runs: str | None) -> int:
    from git_exp.cli import COMMANDS
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
        return failed(exc)
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
        if debug():
            raise
        note(f"git-exp: error: internal error: {type(exc).__name__}: {exc} — rerun with GIT_EXP_DEBUG=1 and report it")
        return 1


def _sentence(message: str) -> str:
    """click's ``Missing argument 'NAME'.`` as our errors read: ``missing argument 'NAME'``
    (lower-case start, no full stop before the dash), on one line."""
    message = " ".join(message.split()).rstrip(".")
    return message[:1].lower() + message[1:] if message[1:2].islower() else message


def _is_click_usage(exc: BaseException) -> bool:
    return hasattr(exc, "format_message") and getattr(exc, "exit_code", None) == 2


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
            note(f"git-exp: error: {_sentence(exc.format_message())} — see `git exp {runs + ' ' if runs else ''}-h`")
            return 2
        if type(exc).__name__ == "Abort":
            note("git-exp: interrupted")
            return 130
        raise
