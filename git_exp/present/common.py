"""Writing to the user: results on stdout, everything else on stderr, and small wordings."""
from __future__ import annotations

import sys


def out(text) -> None:
    """``text`` on stdout, ending in a newline; nothing for no text.  ``text`` may be
    pieces of text to write as they come (``present.show.Streamed``), the last ending
    in a newline."""
    if text and not isinstance(text, str):
        for piece in text:
            sys.stdout.write(piece)
        sys.stdout.flush()
        return
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()


def put(text: str) -> None:
    """``text`` on stdout as it is (a part of a longer output), flushed."""
    sys.stdout.write(text)
    sys.stdout.flush()


def note(text: str) -> None:
    """One line on stderr, secrets redacted."""
    from git_exp.redact import redact

    sys.stderr.write(redact(text) + "\n")
    sys.stderr.flush()


def warn(text: str | None) -> None:
    if text:
        note(text)


def error(exc: BaseException) -> None:
    """The one-line error of a failed operation."""
    note(f"git-exp: error: {exc}")


# What every listing says when there is no experiment at all (ls, show, report): how to make one.
NO_EXPERIMENTS = ("no experiments yet — `git exp save` or `git exp run -- CMD` makes one; `git exp ls origin` "
                  "lists a remote's")


def count(n: int) -> str:
    return f"{n} experiment" + ("" if n == 1 else "s")


def ms(value: float) -> str:
    return "<1 ms" if value < 1 else f"{value:.0f} ms"


def chosen_format(json_: bool = False, md: bool = False, csv: bool = False) -> str:
    """``json``, ``md``, ``csv`` or ``table`` from the format flags; at most one may be set."""
    chosen = [name for name, on in (("json", json_), ("md", md), ("csv", csv)) if on]
    if len(chosen) > 1:
        from git_exp.errors import UsageError

        raise UsageError("choose one of --json, --md and --csv")
    return chosen[0] if chosen else "table"
