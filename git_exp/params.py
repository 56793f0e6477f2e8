"""Command parameters declared once, read by typer and by a start-up fast path.

Commands in ``cli`` declare their parameters the typer way, ``name: str | None =
Option(None, "-n", "--name", help=...)``, but ``Option`` and ``Argument`` here only record
their arguments.  Two readers use the records:

- ``to_typer`` gives a copy of the function whose defaults are the real ``typer.Option``/
  ``typer.Argument`` objects, when typer builds the CLI: help, completion, every error
  message and every unusual command line go through typer.
- ``parse`` reads a plain, well-formed command line (``git exp ls origin --json``) into
  the keyword arguments typer would pass, without importing typer at all, and declines
  (returns None) on anything else: ``-h``, ``--``, clustered short flags, ``--opt=value``
  of a flag, a repeated option, an unknown option, a value that looks like an option, a
  missing or extra argument, a type it does not know.  A declined line goes to typer,
  which gives the same result or the proper error.

``parse`` reads only what it can prove it reads as typer does: a parameter with any
setting but those in ``NEUTRAL`` (which change help and completion, not parsing), a type
not in ``_TYPES``, a flag whose default is not False, a ``--a/--b`` pair, or a list that
is not the last argument, sends every line of that command to typer (``refused`` says
why).  So a new ``envvar=``, ``callback=``, ``count=``, ``min=`` ... can never be
silently ignored by the fast path.

Why: importing typer costs 80-100 ms on these machines (``python -X importtime -c
"import typer"``), while ``git exp ls REMOTE`` has a 50 ms budget (3x ``git ls-remote``
at 10k experiments).  With the fast path ``git exp ls`` starts in ~35 ms instead of
~130 ms.  tests/test_params.py checks, on generated command lines, that every line the
fast path accepts gives exactly the keyword arguments typer gives.
"""
from __future__ import annotations

_TYPES = {"str": str, "str | None": str, "int": int, "int | None": int}
# Settings that change what help and completion show, never what a command line parses to.
NEUTRAL = frozenset({"help", "metavar", "hidden", "show_default", "show_choices", "show_envvar",
                     "rich_help_panel", "shell_complete", "autocompletion"})


class Param:
    """The arguments of one ``Option(...)``/``Argument(...)`` call, kept for later."""

    __slots__ = ("kind", "default", "decls", "options")

    def __init__(self, kind: str, default, decls: tuple, options: dict) -> None:
        self.kind, self.default, self.decls, self.options = kind, default, decls, options

    def __repr__(self) -> str:
        return f"{self.kind}({self.default!r}, {', '.join(map(repr, self.decls))})"


def Option(default=None, *decls: str, **options) -> Param:  # noqa: N802 (typer's spelling)
    return Param("Option", default, decls, options)


def Argument(default=None, **options) -> Param:  # noqa: N802
    return Param("Argument", default, (), options)


def to_typer(function):
    """A copy of ``function`` whose ``Param`` defaults are the typer objects they describe.

    A copy, so that the original keeps its records and the fast path keeps working in a
    process (the tests) that has also built the typer app.
    """
    import types

    import typer

    defaults = tuple(getattr(typer, d.kind)(d.default, *d.decls, **d.options) if isinstance(d, Param) else d
                     for d in function.__defaults__ or ())
    copy = types.FunctionType(function.__code__, function.__globals__, function.__name__, defaults,
                              function.__closure__)
    copy.__doc__, copy.__annotations__ = function.__doc__, function.__annotations__
    copy.__module__, copy.__qualname__ = function.__module__, function.__qualname__
    return copy


def signature(function) -> list:
    """``(name, annotation, Param)`` for each parameter, in order (no ``inspect``: 15 ms)."""
    code = function.__code__
    names = code.co_varnames[:code.co_argcount]
    defaults = function.__defaults__ or ()
    annotations = function.__annotations__
    first = len(names) - len(defaults)
    return [(name, annotations.get(name, ""), defaults[i - first] if i >= first else None)
            for i, name in enumerate(names)]


def refused(function) -> str | None:
    """Why ``parse`` leaves every command line of ``function`` to typer, or None."""
    params = signature(function)
    arguments = [name for name, _, param in params if isinstance(param, Param) and param.kind == "Argument"]
    for name, annotation, param in params:
        if not isinstance(param, Param):
            return f"{name}: not declared with Option or Argument"
        odd = sorted(set(param.options) - NEUTRAL)
        if odd:
            return f"{name}: {', '.join(odd)}"
        if param.kind == "Option":
            if not param.decls or any("/" in d or not d.startswith("-") or "=" in d for d in param.decls):
                return f"{name}: declarations {param.decls!r}"
            if annotation == "bool":
                if param.default is not False:
                    return f"{name}: a flag whose default is {param.default!r}"
            elif annotation not in _TYPES:
                return f"{name}: type {annotation}"
            elif param.default is not None and type(param.default) is not _TYPES[annotation]:
                return f"{name}: default {param.default!r}"
        elif annotation == "list[str]":
            if name != arguments[-1] or param.default is not None:
                return f"{name}: a list argument that is not the last or has a default"
        elif annotation not in _TYPES or (param.default is not None and param.default is not ...
                                          and type(param.default) is not _TYPES[annotation]):
            return f"{name}: type {annotation}, default {param.default!r}"
    return None


def parse(function, args: list):
    """The keyword arguments for ``function(**kwargs)`` from ``args``, or None to decline."""
    if refused(function) is not None:
        return None
    options: dict = {}   # "-n" / "--name" -> (parameter name, annotation)
    arguments: list = []  # (parameter name, annotation, Param)
    kwargs: dict = {}
    for name, annotation, param in signature(function):
        if param.kind == "Option":
            for decl in param.decls:
                options[decl] = (name, annotation)
            kwargs[name] = param.default
        else:
            arguments.append((name, annotation, param))
    seen: set = set()
    positional: list = []
    rest = iter(args)
    for token in rest:
        if not token.startswith("-"):
            positional.append(token)
            continue
        decl, eq, value = token.partition("=")
        if decl not in options or (eq and not decl.startswith("--")):
            return None  # -h, --, -, -rf, -nNAME, unknown options: typer decides
        name, annotation = options[decl]
        if name in seen:
            return None
        seen.add(name)
        if annotation == "bool":
            if eq:
                return None
            kwargs[name] = True
            continue
        if not eq:
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None
        converted = _convert(annotation, value)
        if converted is None:
            return None
        kwargs[name] = converted
    for name, annotation, param in arguments:
        if annotation == "list[str]":
            kwargs[name] = positional or param.default
            positional = []
        elif positional:
            converted = _convert(annotation, positional.pop(0))
            if converted is None:
                return None
            kwargs[name] = converted
        elif param.default is ...:
            return None  # missing: typer says so
        else:
            kwargs[name] = param.default
    return None if positional else kwargs


def _convert(annotation: str, value: str):
    kind = _TYPES.get(annotation)
    if kind is int:
        return int(value) if value.isdigit() and value.isascii() else None
    return value if kind is str else None
