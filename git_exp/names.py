"""Experiment names: validation (git's ref rules plus ours), globs, generated names.

A name is the ref path below ``refs/exp/``.  It follows ``git check-ref-format`` for
``refs/exp/<name>``, may contain ``/``, never starts with ``-`` and is at most
MAX_BYTES long (a longer one cannot be a file name on common file systems).
"""
from __future__ import annotations

from git_exp.errors import UsageError

PREFIX = "refs/exp/"
REMOTE_PREFIX = "refs/remote-exp/"
MAX_BYTES = 200
GLOB_CHARS = frozenset("*?[")

# git check-ref-format's forbidden characters (a set, not a regex: ``re`` costs ~12 ms to import),
# and ours: C1 controls (U+0080-U+009F: U+009B starts a terminal escape) and the marks that
# reorder text on screen (bidi overrides), which would let a name from a remote disguise itself.
_FORBIDDEN = frozenset([chr(c) for c in range(0x21)] + ["\x7f", "~", "^", ":", "?", "*", "[", "\\"]
                       + [chr(c) for c in range(0x80, 0xA0)]
                       + [chr(c) for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))])


def problem(name: str) -> str | None:
    """Why ``name`` is not a valid experiment name, or None when it is."""
    if not name:
        return "the name is empty"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8, read with surrogateescape
        return "a name must be UTF-8"
    if name.startswith("-"):
        return "a name may not start with '-'"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_BYTES:
        return f"a name may be at most {MAX_BYTES} bytes long"
    bad = next((c for c in name if c in _FORBIDDEN), None)
    if bad:
        return f"a name may not contain {bad!r}"
    if ".." in name:
        return "a name may not contain '..'"
    if "@{" in name:
        return "a name may not contain '@{'"
    if name.endswith(".") or name.endswith("/"):
        return "a name may not end with '.' or '/'"
    for part in name.split("/"):
        if not part:
            return "a name may not contain an empty path component ('//' or a leading '/')"
        if part.startswith("."):
            return "a name component may not start with '.'"
        if part.endswith(".lock"):
            return "a name component may not end with '.lock'"
    return None


def all_valid(names: list[str]) -> bool:
    """Whether every one of ``names`` is a valid experiment name (``problem`` finds no
    problem), tested on all of them at once: True only when certain; False means
    "look at each" (a remote's 10k names: ~3 ms, where ``problem`` one by one took ~45)."""
    if not names:
        return True
    joined = "\n" + "\n".join(names) + "\n"
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return False
    longest = max(map(len, names))  # characters; bytes too when all is ASCII (else up to 4 each)
    if longest > MAX_BYTES or longest * 4 > MAX_BYTES and not joined.isascii():
        return False
    if not _FORBIDDEN.isdisjoint(set(joined) - {"\n"}):
        return False
    return not any(bad in joined for bad in ("\n\n", "\n-", "..", "@{", ".\n", "/\n", "//", "\n/", "\n.", "/.",
                                             ".lock\n", ".lock/"))


def clash_free(names) -> bool:
    """Whether no name of ``names`` is a directory of another (git's file/directory rule:
    ``a`` and ``a/b``), tested at once: every name's parent directories, against the names."""
    given = set(names)
    dirs, todo = set(), {n.rpartition("/")[0] for n in given}
    while todo:
        todo.discard("")
        dirs |= todo
        todo = {d.rpartition("/")[0] for d in todo} - dirs
    return given.isdisjoint(dirs)


SHOWN_MAX = 60


def shown(text: str) -> str:
    """``text`` quoted for a message, cut to SHOWN_MAX characters: a name from outside may
    be 10 kB long or hold bytes that are not UTF-8, and is echoed back neither whole nor raw."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if len(text) > SHOWN_MAX:
        text = text[:SHOWN_MAX] + "…"
    return repr(text)


class ExpName(str):
    """A validated experiment name."""

    def __new__(cls, name: str) -> ExpName:
        why = problem(name)
        if why:
            raise UsageError(f"invalid experiment name {shown(name)}: {why} — pick a name like 'lr-0.1' or 'ci/123'")
        return super().__new__(cls, name)

    @property
    def ref(self) -> str:
        return PREFIX + self


def remote_problem(name: str) -> str | None:
    """Why ``name`` cannot be a remote git-exp works with, or None when it can.

    A remote's experiments live at ``refs/remote-exp/<name>/``, so its name must be one
    valid ref component: no '/', nothing ``problem`` refuses (no '..', no space, no
    leading '-' or '.').  git's config accepts names that break these (``remote.x/...``
    or ``remote.a b``); every command checks with this one rule where the name enters.
    """
    if "/" in name:
        return "it contains '/', so its experiments would mix with those of another remote"
    return problem(name)


class RemoteName(str):
    """A remote name that is safe as the directory ``refs/remote-exp/<name>/``."""

    def __new__(cls, name: str) -> RemoteName:
        why = remote_problem(name)
        if why:
            raise UsageError(f"git-exp cannot work with remote {shown(name)}: {why} — rename it with "
                             f"`git remote rename` to a plain name such as 'origin' or 'ci-runner'")
        return super().__new__(cls, name)

    @property
    def tracking(self) -> str:
        return f"{REMOTE_PREFIX}{self}/"

    @property
    def ref(self) -> str:
        return PREFIX + self


def is_glob(pattern: str) -> bool:
    return any(c in GLOB_CHARS for c in pattern)


def is_refspec_glob(pattern: str) -> bool:
    """Whether git's own refspec globbing selects what ``matcher`` does: one ``*``, no
    ``?`` or ``[``, so push and pull can hand git ``refs/exp/PATTERN`` as is."""
    return pattern.count("*") == 1 and not any(c in pattern for c in "?[")


def matcher(pattern: str):
    """A predicate on names: ``*`` and ``?`` match across '/' (like git's refspec globs)."""
    if not is_glob(pattern):
        return lambda name: name == pattern
    import fnmatch
    import re

    regex = re.compile(fnmatch.translate(pattern))
    return lambda name: regex.match(name) is not None


def select(names, patterns) -> tuple[list[str], list[str]]:
    """Names matching any pattern (in ``names`` order), and the patterns that matched nothing."""
    chosen: dict[str, None] = {}
    unmatched = []
    for pattern in patterns:
        match = matcher(pattern)
        hits = [n for n in names if match(n)]
        if not hits:
            unmatched.append(pattern)
        chosen.update(dict.fromkeys(hits))
    order = {n: i for i, n in enumerate(names)}
    return sorted(chosen, key=order.__getitem__), unmatched


class Clashes:
    """Which existing name git's file/directory rule makes ``name`` clash with
    (``a`` and ``a/b`` cannot both exist): a parent path of ``name`` is a name, or
    ``name`` is the directory of some name.  Both are set lookups — every name's parent
    directories are kept, each with one name below it — so a pull checking 20k new refs
    against 10k existing ones spends ~20 ms here.  Works on str or bytes; names may be
    added in any order.
    """

    def __init__(self, existing):
        self.names = set(existing)
        self.dirs: dict = {}  # directory -> a name below it
        for name in self.names:
            self._add_dirs(name)

    def _add_dirs(self, name) -> None:
        sep = b"/" if isinstance(name, bytes) else "/"
        dirs = self.dirs
        i = name.rfind(sep)
        while i > 0:
            parent = name[:i]
            if parent in dirs:
                break  # and so are its own parents
            dirs[parent] = name
            i = name.rfind(sep, 0, i)

    def find(self, name):
        if not self.names:
            return None
        below = self.dirs.get(name)
        if below is not None:
            return below
        sep = b"/" if isinstance(name, bytes) else "/"
        i = name.find(sep)
        while i != -1:
            if name[:i] in self.names:
                return name[:i]
            i = name.find(sep, i + 1)
        return None

    def add(self, name) -> None:
        self.names.add(name)
        self._add_dirs(name)


def conflict(name: str, existing) -> str | None:
    """The existing name that git's file/directory rule would clash with, if any."""
    return Clashes(existing).find(name)


ADJECTIVES = (
    "agile", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "eager",
    "fancy", "fierce", "gentle", "glad", "grand", "happy", "jolly", "keen", "lively", "lucky",
    "mellow", "merry", "nimble", "noble", "polite", "proud", "quick", "quiet", "rapid", "sharp",
    "shiny", "silent", "sleek", "smart", "snappy", "solid", "spry", "steady", "sunny", "swift",
    "tidy", "vivid", "warm", "wise", "witty", "zesty",
)
NOUNS = (
    "badger", "bison", "cedar", "comet", "crane", "delta", "ember", "falcon", "fern", "finch",
    "fjord", "gecko", "glade", "heron", "ibis", "koala", "lark", "lemur", "lynx", "maple",
    "marten", "meadow", "newt", "orca", "otter", "panda", "pine", "plover", "quail", "raven",
    "reef", "robin", "sable", "spruce", "stoat", "swan", "tapir", "tern", "tiger", "trout",
    "tulip", "vole", "walrus", "willow", "wren", "yak",
)


def choices(sha: str) -> list[str]:
    """The names ``generate`` picks from for commit ``sha``, in order of preference."""
    seed = int(sha[:16], 16)
    base = f"{ADJECTIVES[seed % len(ADJECTIVES)]}-{NOUNS[(seed // len(ADJECTIVES)) % len(NOUNS)]}"
    return [f"{base}-{sha[:width]}" for width in range(4, len(sha) + 1)]


def generate(sha: str, taken) -> ExpName:
    """``<adjective>-<noun>-<4 hex of the commit>``, longer hex if that name is taken."""
    clashes = Clashes(taken)
    for name in choices(sha):
        if name not in clashes.names and not clashes.find(name):
            return ExpName(name)
    raise UsageError(f"cannot generate a free name for {sha} — pass one with -n NAME")
