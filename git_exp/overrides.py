"""``run -S [FILE:][+]KEY=VALUE[,VALUE...]``: parameters set in the params files before a run.

Syntax, decided here and documented in the man page:

- ``KEY`` is a dotted path, ``model.depth``; a number picks a list item (``layers.0``).
- Values are typed as YAML 1.2 reads them (ruamel.yaml's safe loader): ``5`` int, ``0.1``
  and ``1e-3`` float, ``true`` bool, ``null``, ``[1,2]`` a list, ``{a: 1}`` a mapping,
  anything else a string (``yes`` stays a string, as in YAML 1.2).  An empty value is
  refused: write ``null`` or ``''``.
- Commas separate the values of a sweep (``lr=0.1,0.01``), except inside ``[...]``,
  ``{...}`` or quotes: ``-S 'tags=[a,b]'`` is one list, ``-S 'note="a,b"'`` one string,
  ``-S 'tags=[a,b],[c]'`` two values.
- ``FILE:KEY=VALUE`` names the file (relative to the top of the work tree); otherwise the
  key is looked up in the configured params files that exist (``results.configured_files``)
  and must be in exactly one of them.
- A key that is not in the file is an error that lists the keys that are, unless written
  ``+KEY=VALUE`` (Hydra's spelling), which adds it, and the mappings on its path.

Files keep their comments, key order and formatting: YAML through ruamel.yaml's
round-trip mode (indentation as guessed from the file, quotes kept), TOML through tomlkit,
JSON re-written with the file's indentation.  Then only the lines that the change touched
are taken from the re-written text (``_splice``), so what ruamel or json would
re-format elsewhere (``~`` for null, spacing after a colon, another list indentation)
stays byte for byte.  ruamel.yaml and tomlkit are imported only when ``-S`` is given.

Every file is read, checked and changed in memory before anything is written (``plan``);
errors are ``UsageError`` (exit 2) and leave every file as it was.  ``Edit`` holds the
new contents and the ``Exp-Params-Set`` trailers; ``Edit.written`` puts them in a work tree
and restores the old contents afterwards, even when the run was interrupted.
"""
from __future__ import annotations

import os

from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.record import Record

TRAILER = "Exp-Params-Set"
FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}
KNOWN_SHOWN = 8  # keys listed in an "unknown key" error


class Override(Record):
    """One ``-S``: ``file`` (None: find it), the dotted ``key``, the value ``texts`` as
    written and their typed ``values``, ``add`` (``+KEY``), and the option as given."""

    __slots__ = ("file", "key", "texts", "values", "add", "spec")

    def prefix(self) -> str:
        return (f"{self.file}:" if self.file else "") + ("+" if self.add else "")


def parse(spec: str) -> Override:
    """An ``Override`` from the text of one ``-S``; UsageError when it is malformed."""
    left, eq, right = spec.partition("=")
    if not eq:
        raise UsageError(f"-S {shown(spec)} has no '=' — write -S KEY=VALUE, e.g. -S lr=0.1 or -S model.depth=3,5")
    file = None
    add = left.startswith("+")  # +FILE:KEY as well as FILE:+KEY
    if add:
        left = left[1:]
    if ":" in left:
        file, _, left = left.rpartition(":")
        file = file.strip()
        if not file:
            raise UsageError(f"-S {shown(spec)}: empty file name before ':' — write -S FILE:KEY=VALUE")
    if left.startswith("+"):
        add, left = True, left[1:]
    key = left
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise UsageError(f"-S {shown(spec)}: the key is empty or has an empty part — write a dotted key such as "
                         "model.depth")
    texts = split_values(spec, right)
    values = [typed(spec, text) for text in texts]
    seen: dict[str, str] = {}
    for text, value in zip(texts, values):
        canonical = repr(value)
        if canonical in seen:
            raise UsageError(f"-S {shown(spec)} gives the value {shown(text)} twice — give each value once")
        seen[canonical] = text
    return Override(file, key, texts, values, add, spec)


def parse_all(specs: list[str]) -> list[Override]:
    overrides = [parse(spec) for spec in specs]
    keys: dict[tuple, str] = {}
    for one in overrides:
        where = (one.file, one.key)
        if where in keys:
            raise UsageError(f"-S {shown(one.spec)} sets {one.key} again (also -S {shown(keys[where])}) — "
                             "give all its values in one -S, separated by commas")
        keys[where] = one.spec
    return overrides


def split_values(spec: str, text: str) -> list[str]:
    """``text`` split at the commas that are outside brackets, braces and quotes."""
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    parts = [part.strip() for part in parts]
    if any(not part for part in parts):
        raise UsageError(f"-S {shown(spec)} has an empty value — write null or '' for one, and separate "
                         "the values of a sweep with single commas")
    return parts


_SAFE = None


def typed(spec: str, text: str):
    """``text`` read as a YAML 1.2 value; UsageError when it does not parse."""
    global _SAFE
    if _SAFE is None:
        from ruamel.yaml import YAML

        _SAFE = YAML(typ="safe", pure=True)
    try:
        return _SAFE.load(text)
    except Exception as exc:  # any YAML error
        why = " ".join(str(getattr(exc, "problem", "") or type(exc).__name__).split())
        raise UsageError(f"-S {shown(spec)}: the value {shown(text)} does not parse as YAML ({why}) — "
                         "quote it, e.g. -S 'key=\"a: b\"'") from None


class Edit(Record):
    """New contents of params files (``files``: path relative to the top -> bytes) and the
    trailers that record what was set; ``notes``: what ``written`` had to say."""

    __slots__ = ("files", "pairs", "notes")
    _defaults = {"notes": None}

    def write(self, root) -> None:
        """Put the new contents under ``root``: through a symbolic link that stays inside it,
        in place of one that leads out (in an isolated worktree, a link to your own files
        is replaced, never written through)."""
        for path, data in self.files.items():
            _replace(_target(root, path, strict=False), data)

    def written(self, root) -> _Written:
        return _Written(self, root)


class _Written:
    """``with edit.written(root):`` the new contents in place, the old ones back afterwards;
    a file changed meanwhile by someone else is left as it is, and said so."""

    def __init__(self, edit: Edit, root) -> None:
        self.edit, self.root, self.old = edit, root, {}

    def __enter__(self) -> Edit:
        for path in self.edit.files:
            with open(_target(self.root, path), "rb") as f:
                self.old[path] = f.read()
        try:
            self.edit.write(self.root)
        except BaseException:
            self.__exit__()
            raise
        return self.edit

    def __exit__(self, *exc) -> None:
        notes = self.edit.notes if self.edit.notes is not None else []
        for path, data in self.old.items():
            target = _target(self.root, path)
            try:
                with open(target, "rb") as f:
                    now = f.read()
            except OSError:
                now = None
            if now == data:
                continue
            if now != self.edit.files[path]:
                notes.append(f"{path} was changed during the run, so it was left as it is now "
                             "(not restored to what it was before -S)")
                continue
            _replace(target, data)
        self.edit.notes = notes


def _target(root, path: str, strict: bool = True) -> str:
    """The file ``path`` under ``root`` is, a symbolic link followed (it stays one) as long
    as it stays inside ``root``; one leading out: UsageError, or unless ``strict`` the link
    itself (to be replaced)."""
    top = os.path.realpath(root)
    real = os.path.realpath(os.path.join(top, path))
    if not real.startswith(top.rstrip(os.sep) + os.sep):
        if not strict:
            return os.path.join(top, path)
        raise UsageError(f"-S: {shown(path)} leads out of the work tree (a symbolic link to {shown(real)}) — "
                         "git-exp edits params files inside it only")
    return real


def _replace(target: str, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file renamed over it (its mode kept)."""
    temporary = f"{target}.git-exp-{os.getpid()}.tmp"
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as f:
        f.write(data)
    os.chmod(temporary, mode)
    os.replace(temporary, target)


class Plan:
    """The files that ``overrides`` change under ``root`` (the top of a work tree), read
    and checked once; ``edit(point)`` makes the contents for one choice of values."""

    def __init__(self, root, overrides: list[Override], candidates: tuple[str, ...], max_size: int) -> None:
        self.root, self.overrides, self.candidates = root, overrides, candidates
        self.texts: dict[str, str] = {}  # path -> its text
        self.targets: list[str] = []  # the file of each override
        present = [p for p in candidates if os.path.splitext(p)[1].lower() in FORMATS
                   and os.path.isfile(os.path.join(root, p))]
        for one in overrides:
            path = self._file(one, present, max_size)
            self.targets.append(path)
        for index in range(max(len(o.values) for o in overrides) if overrides else 0):  # every value once
            self.edit(tuple(min(index, len(o.values) - 1) for o in overrides))

    def _read(self, spec: str, path: str, max_size: int) -> str:
        if path in self.texts:
            return self.texts[path]
        try:
            full = _target(self.root, path)
            size = os.path.getsize(full)
            if size > max_size:
                from git_exp.results import too_large

                raise UsageError(f"-S {shown(spec)}: {too_large(path, size, max_size)} — git-exp does not edit it")
            with open(full, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise UsageError(f"-S {shown(spec)}: {shown(path)} does not exist — check the path "
                             "(relative to the top of the work tree)") from None
        except IsADirectoryError:
            raise UsageError(f"-S {shown(spec)}: {shown(path)} is a directory — name a params file") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"-S {shown(spec)}: {path} is not UTF-8 — git-exp cannot edit it") from None
        self.texts[path] = text
        load(path, text)  # malformed: refused now
        return text

    def _file(self, one: Override, present: list[str], max_size: int) -> str:
        if one.file is not None:
            path = os.path.normpath(one.file).lstrip("/")
            if path.startswith("..") or os.path.isabs(one.file):
                raise UsageError(f"-S {shown(one.spec)}: {shown(one.file)} is outside the work tree — "
                                 "name a file relative to its top")
            if os.path.splitext(path)[1].lower() not in FORMATS:
                raise UsageError(f"-S {shown(one.spec)}: {shown(one.file)} is not a .yaml, .yml, .json or "
                                 ".toml file — those are the formats -S edits")
            self._read(one.spec, path, max_size)
            return path
        if not present:
            raise UsageError(f"-S {shown(one.spec)}: no params file here ({', '.join(self.candidates)}) — "
                             "create one, or name a file: -S FILE:KEY=VALUE")
        having = []
        for path in present:
            found = _lookup(load(path, self._read(one.spec, path, max_size)), one.key.split("."))
            if found:
                having.append(path)
        if len(having) == 1:
            return having[0]
        if len(having) > 1:
            raise UsageError(f"-S {shown(one.spec)}: {one.key} is in {' and '.join(having)} — say which: "
                             f"-S {having[0]}:{one.spec.lstrip('+')}")
        if len(present) == 1:
            return present[0]  # ``edit`` adds it (+KEY) or says which keys there are
        raise UsageError(f"-S {shown(one.spec)}: none of {', '.join(present)} has {one.key} — name the file: "
                         f"-S FILE:{one.spec}")

    def edit(self, point: tuple[int, ...]) -> Edit:
        """The contents for the values ``point`` picks (an index into each override's values)."""
        docs: dict[str, object] = {}
        pairs = []
        for one, path, index in zip(self.overrides, self.targets, point):
            doc = docs.get(path)
            if doc is None:
                doc = docs[path] = load(path, self.texts[path])
            _set(doc, path, one, one.values[index])
            pairs.append((TRAILER, f"{one.prefix()}{one.key}={one.texts[index]}"))
        files = {path: dump(path, self.texts[path], doc).encode("utf-8") for path, doc in docs.items()}
        return Edit(files, pairs)


def _lookup(doc, parts: list[str]) -> bool:
    node = doc
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _set(doc, path: str, one: Override, value) -> None:
    parts = one.key.split(".")
    node = doc
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth + 1])
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise UsageError(f"-S {shown(one.spec)}: {'.'.join(parts[:depth]) or 'the top'} in {path} is a list "
                                 f"of {len(node)} — use an index from 0 to {len(node) - 1}")
            if last:
                node[int(part)] = _native(path, one, value)
                return
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            above = ".".join(parts[:depth])
            raise UsageError(f"-S {shown(one.spec)}: {above} in {path} is {_kind(node)}, not a mapping, so it has no "
                             f"{part} — set {above} itself, or check the key")
        if last:
            if part not in node and not one.add:
                raise UsageError(f"-S {shown(one.spec)}: {path} has no {here} ({_known(node, parts[:depth])}) — "
                                 f"check the spelling, or write +{one.key}=... to add it")
            node[part] = _native(path, one, value)
            return
        if part not in node:
            if not one.add:
                raise UsageError(f"-S {shown(one.spec)}: {path} has no {here} ({_known(node, parts[:depth])}) — "
                                 f"check the spelling, or write +{one.key}=... to add it")
            node[part] = _new_mapping(path)
        node = node[part]


def _known(node: dict, above: list[str]) -> str:
    keys = [str(k) for k in node]
    where = f"keys under {'.'.join(above)}" if above else "keys"
    if not keys:
        return f"no {where}"
    listed = ", ".join(keys[:KNOWN_SHOWN]) + (f" and {len(keys) - KNOWN_SHOWN} more" if len(keys) > KNOWN_SHOWN else "")
    return f"{where}: {listed}"


def _kind(value) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"the string {shown(str(value))}" if isinstance(value, str) else f"a {type(value).__name__}"


def _format(path: str) -> str:
    return FORMATS[os.path.splitext(path)[1].lower()]


def load(path: str, text: str):
    """The document in ``text`` as the format's round-trip library holds it; UsageError
    when it does not parse or its top level is not a mapping."""
    kind = _format(path)
    try:
        if kind == "yaml":
            text = text.replace("\r\n", "\n")  # else ruamel keeps the \r in comments
            doc = _yaml(text).load(text)
            if doc is None:
                from ruamel.yaml.comments import CommentedMap

                doc = CommentedMap()
        elif kind == "toml":
            import tomlkit

            doc = tomlkit.parse(text)
        else:
            import json

            doc = json.loads(text) if text.strip() else {}
    except UsageError:
        raise
    except Exception as exc:  # the parser's error
        why = " ".join(str(exc).split())[:120]
        raise UsageError(f"{path} does not parse ({why}) — fix it first; nothing was changed") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path} holds {_kind(doc)} at its top level, not a mapping of parameters — "
                         "-S edits mappings")
    return doc


def dump(path: str, original: str, doc) -> str:
    kind = _format(path)
    if kind == "toml":
        import tomlkit

        return tomlkit.dumps(doc)  # tomlkit keeps everything it did not change
    if kind == "json":
        before, after = _json(original, json_load(original)), _json(original, doc)
    else:
        import io

        yaml = _yaml(original)
        out = io.StringIO()
        yaml.dump(yaml.load(original.replace("\r\n", "\n")) or {}, out)
        before = out.getvalue()
        out = io.StringIO()
        yaml.dump(doc, out)
        after = out.getvalue()
    if "\r\n" in original:  # ruamel and json write \n
        before, after = before.replace("\n", "\r\n"), after.replace("\n", "\r\n")
    return _splice(original, before, after)


def json_load(text: str):
    import json

    return json.loads(text) if text.strip() else {}


def _json(original: str, doc) -> str:
    """``doc`` as JSON laid out like ``original``: its indentation (the whitespace before its
    first indented line), lists of plain values on one line when it writes them so,
    non-ASCII kept as it is when the file has any, and its final newline."""
    import json

    indent = None
    for line in original.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and stripped != line:
            indent = line[:len(line) - len(stripped)]
            break
    ascii_only = original.isascii()
    if indent is None:
        separators = None if ": " in original else (",", ":")
        text = json.dumps(doc, separators=separators, ensure_ascii=ascii_only)
    else:
        inline = any("[" in line and "]" in line.split("[", 1)[1] for line in original.splitlines())
        text = _pretty(doc, indent, 0, inline, ascii_only)
    return text + "\n" if original.endswith("\n") else text


def _pretty(value, indent: str, level: int, inline: bool, ascii_only: bool) -> str:
    """``json.dumps(value, indent=indent)``, with lists of plain values on one line if ``inline``."""
    import json

    inner = indent * (level + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=ascii_only)}: {_pretty(v, indent, level + 1, inline, ascii_only)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent * level + "}"
    if isinstance(value, list) and value:
        if inline and not any(isinstance(v, (list, dict)) for v in value):
            return "[" + ", ".join(json.dumps(v, ensure_ascii=ascii_only) for v in value) + "]"
        items = [inner + _pretty(v, indent, level + 1, inline, ascii_only) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent * level + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def _splice(original: str, before: str, after: str) -> str:
    """``original`` with the lines that differ between ``before`` (the library's rendering of
    the unchanged document) and ``after`` (of the changed one) replaced by ``after``'s: the
    rest of the file stays byte for byte.  Where the library's rendering does not line up
    with the file (another number of lines), ``after`` as it is."""
    import difflib

    old, base, new = original.splitlines(True), before.splitlines(True), after.splitlines(True)
    if len(old) != len(base):
        return after
    result: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, base, new, autojunk=False).get_opcodes():
        if tag == "equal":
            result.extend(old[i1:i2])
            continue
        changed = new[j1:j2]
        if i2 - i1 == j2 - j1:  # line for line: keep each line's own indentation
            changed = [_reindent(o, b, n) for o, b, n in zip(old[i1:i2], base[i1:i2], changed)]
        result.extend(changed)
    return "".join(result)


def _reindent(old: str, base: str, new: str) -> str:
    def indent(line: str) -> str:
        return line[:len(line) - len(line.lstrip(" \t"))]

    if indent(base) == indent(new):
        return indent(old) + new[len(indent(new)):]
    return new


def _yaml(text: str):
    """A round-trip ruamel.yaml set up as ``text`` is written: indentation guessed from it,
    quotes kept, no line folding, ``null`` written out, ``---``/``...`` when it has them."""
    from ruamel.yaml import YAML

    mapping, offset = _indents(text)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 1 << 16
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    yaml.representer.add_representer(
        type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    content = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    yaml.explicit_start = bool(content) and content[0].startswith("---")
    yaml.explicit_end = bool(content) and content[-1].rstrip() == "..."
    return yaml


def _indents(text: str) -> tuple[int, int]:
    """How ``text`` indents a nested mapping, and the dash of a list under a key
    (the first of each; 2 and 0 when it has none)."""
    mapping = offset = None
    previous = None
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if previous is not None and previous[1].rstrip().endswith(":"):
            step = (len(line) - len(stripped)) - previous[0]
            if stripped.startswith("- ") or stripped == "-":
                offset = step if offset is None and step >= 0 else offset
            elif mapping is None and step > 0:
                mapping = step
        previous = (len(line) - len(stripped), stripped)
        if mapping is not None and offset is not None:
            break
    return mapping or 2, offset or 0


def _new_mapping(path: str):
    kind = _format(path)
    if kind == "yaml":
        from ruamel.yaml.comments import CommentedMap

        return CommentedMap()
    if kind == "toml":
        import tomlkit

        return tomlkit.table()
    return {}


def _native(path: str, one: Override, value):
    """``value`` as the file's format holds it: flow style for a YAML list or mapping (as
    it was written on the command line); a date as text in JSON; TOML has no null."""
    kind = _format(path)
    if kind == "yaml" and isinstance(value, (list, dict)):
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        made = CommentedSeq(value) if isinstance(value, list) else CommentedMap(value)
        made.fa.set_flow_style()
        return made
    if kind == "toml" and _has_null(value):
        raise UsageError(f"-S {shown(one.spec)}: TOML has no null, so {path} cannot hold it — "
                         "give another value, or remove the key from the file")
    if kind == "json":
        import json

        return json.loads(json.dumps(value, default=str))
    return value


def _has_null(value) -> bool:
    if value is None:
        return True
    if isinstance(value, list):
        return any(map(_has_null, value))
    if isinstance(value, dict):
        return any(map(_has_null, value.values()))
    return False


def for_run(repo, argv: list[str], overrides: list[Override]) -> Edit:
    """The ``Edit`` of a single ``run -S`` (one value each), checked before anything runs."""
    if not argv:
        raise UsageError("no command to run — give one after --, e.g. `git exp run -S lr=0.1 -- python train.py`")
    repo.require_worktree("run")
    return plan(repo, repo.worktree, overrides).edit((0,) * len(overrides))


def plan(repo, root, specs: list[str] | list[Override]) -> Plan:
    """A ``Plan`` for ``specs`` (texts of ``-S`` or parsed ones) on the work tree at ``root``,
    with the repository's configured params files as candidates."""
    from git_exp.results import configured_files

    overrides = [s if isinstance(s, Override) else parse(s) for s in specs]
    files = configured_files(repo)
    return Plan(root, overrides, files["params"], files["max_size"])
