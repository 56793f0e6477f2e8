"""Tags and notes: what is said about an experiment after it ran, in git notes.

Where: the notes ref ``refs/notes/exp``, one note per experiment commit (so a rename,
which moves no commit, keeps them; a new version from ``save --append`` is a new commit
and starts without them).  Every write is ``git notes --ref=refs/notes/exp append``:
git writes the ref (its lock, its reflog, its hooks), and an append adds lines to the
note as git reads it at that moment, so two local commands never drop each other's
lines.

What: a note is a list of events, one per line, each with the UTC time it was made::

    tag: 2026-12-02T08:10:03.123456Z best
    untag: 2026-12-02T09:00:00.000001Z best
    note: 2026-12-02T08:11:00.000000Z lr warm-up helps
    clear: 2026-12-02T09:30:00.000000Z

A tag is present when its latest event is a ``tag`` (a tie counts as removed); the
notes are the ``note`` lines after the latest ``clear``, oldest first.  Lines of any
other shape (a hand-written ``git notes``) are kept and ignored.  Why events: clones
merge notes with git's ``cat_sort_uniq`` strategy, which unions the lines of both
sides and sorts them.  A union of plain ``tag: best`` lines would bring back a tag one
side removed; a union of events keeps the removal (it is the later event), and the
times keep notes in order whatever the sort does.  A clone with a clock far off can
win or lose a race between a tag and its removal made at the same time elsewhere.

Reading every note at once (``show``): one ``rev-parse`` of the notes ref, then, unless
the facts' ``notes`` section (``cache``) already holds the answer for that notes commit, one ``ls-tree -r``
and one ``cat-file --batch`` of the note blobs.  The result is keyed by the notes
commit, never mixed into the caches keyed by experiment commit (a tag changes while the
experiment's commit stays).
"""
from __future__ import annotations

import time

from git_exp import cache
from git_exp.errors import ExpError, UsageError
from git_exp.names import shown

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from git_exp.repo import Repo

REF = "refs/notes/exp"
TAG_MAX = 64  # characters of a tag
TEXT_MAX = 500  # characters of one note line
NOTE_MAX_BYTES = 1 << 20  # a note blob larger than this is not read (shown as no tags, a warning note)
KINDS = ("tag", "untag", "note", "clear")
# Characters a tag or a note line may not hold: C0 and C1 controls, DEL, and the marks that
# reorder text on screen (bidi), as for names; a tag also no white space, no comma (tables
# join tags with ', ') and no quotes or backslash.
_CONTROL = frozenset([chr(c) for c in range(0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
                     + [chr(c) for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))])
_NOT_IN_TAG = frozenset([",", '"', "'", "\\", "`"])


class Annotation:
    """The tags (sorted) and note lines (oldest first) of one experiment commit."""

    __slots__ = ("tags", "notes")

    def __init__(self, tags: tuple = (), notes: tuple = ()) -> None:
        self.tags, self.notes = tuple(tags), tuple(notes)

    def __repr__(self) -> str:
        return f"Annotation(tags={self.tags!r}, notes={self.notes!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Annotation) and (self.tags, self.notes) == (other.tags, other.notes)

    @property
    def note(self) -> str | None:
        """The note lines as one string (``show``'s ``note`` column), or None without any."""
        return "\n".join(self.notes) if self.notes else None


EMPTY = Annotation()


# -- validation -----------------------------------------------------------------------------

def tag_problem(tag: str) -> str | None:
    """Why ``tag`` cannot be a tag, or None: a tag is one word of 1 to TAG_MAX characters,
    without white space, control characters, bidi marks, commas, quotes or backslashes,
    not starting with '-'."""
    if not tag:
        return "a tag is empty"
    try:
        tag.encode("utf-8")
    except UnicodeEncodeError:
        return "a tag must be UTF-8"
    if len(tag) > TAG_MAX:
        return f"a tag may be at most {TAG_MAX} characters long"
    if tag.startswith("-"):
        return "a tag may not start with '-'"
    bad = next((c for c in tag if c in _CONTROL or c in _NOT_IN_TAG or c.isspace()), None)
    if bad is not None:
        what = "white space" if bad.isspace() and bad not in _CONTROL else repr(bad)
        return f"a tag may not contain {what}"
    return None


def check_tag(tag: str) -> str:
    why = tag_problem(tag)
    if why:
        raise UsageError(f"invalid tag {shown(tag)}: {why} — use one word such as 'best' or 'paper-v2'")
    return tag


def check_text(text: str) -> str:
    """A note line as it will be stored: stripped, secrets redacted; UsageError when it is
    empty, longer than TEXT_MAX characters or holds a control character (a newline
    too: one line per ``git exp note``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("a note must be UTF-8 text — write it again") from None
    bad = next((c for c in text if c in _CONTROL), None)
    if bad is not None:
        what = "a line break" if bad in "\r\n" else f"the control character {bad!r}"
        raise UsageError(f"a note is one line and may not contain {what} — add one `git exp note` per line")
    text = text.strip()
    if not text:
        raise UsageError("the note is empty — write the text to add, e.g. `git exp note NAME \"lr warm-up helps\"`")
    if len(text) > TEXT_MAX:
        raise UsageError(f"the note is {len(text)} characters long, more than {TEXT_MAX} — shorten it or split it "
                         f"into several notes")
    from git_exp.redact import redact

    return redact(text)


# -- events -----------------------------------------------------------------------------------

def stamp(now: float | None = None) -> str:
    """``2026-12-02T08:10:03.123456Z``: sorts as text in time order."""
    now = time.time() if now is None else now
    seconds = int(now)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((now - seconds) * 1e6):06d}Z"


def parse(text: str) -> Annotation:
    """The tags and notes a note's text says (see the module docstring)."""
    latest: dict[str, tuple[str, bool]] = {}  # tag -> (time, present)
    notes: list[tuple[str, str]] = []
    cleared = ""
    for line in text.splitlines():
        kind, sep, rest = line.partition(": ")
        if not sep or kind not in KINDS:
            continue
        when, _, value = rest.partition(" ")
        if len(when) < 20 or not when.endswith("Z"):
            continue
        if kind == "clear":
            cleared = max(cleared, when)
        elif kind == "note":
            if value:
                notes.append((when, value))
        elif value and tag_problem(value) is None:
            present = kind == "tag"
            old = latest.get(value)
            if old is None or when > old[0] or when == old[0] and not present:
                latest[value] = (when, present)
    tags = tuple(sorted(tag for tag, (_when, present) in latest.items() if present))
    return Annotation(tags, tuple(value for when, value in sorted(set(notes)) if when > cleared))


def event(kind: str, value: str = "", now: float | None = None) -> str:
    return f"{kind}: {stamp(now)}" + (f" {value}" if value else "")


# -- reading ----------------------------------------------------------------------------------

def head(repo: Repo) -> str | None:
    """The notes commit, or None when no tag or note was ever written here."""
    return repo.ref_sha(REF + "^{commit}")


def note_text(repo: Repo, sha: str) -> str:
    """The note of one commit, as text ('' without one)."""
    result = repo.run("notes", f"--ref={REF}", "show", sha, check=False)
    return result.stdout[:NOTE_MAX_BYTES].decode("utf-8", "replace") if result.returncode == 0 else ""


def of(repo: Repo, sha: str) -> Annotation:
    return parse(note_text(repo, sha))


def read_all(repo: Repo, notes_commit: str | None = None) -> dict[str, Annotation]:
    """``{commit: Annotation}`` for every annotated commit with a tag or a note, from the
    notes commit ``notes_commit`` (default: the notes ref now)."""
    if notes_commit is None:
        notes_commit = head(repo)
    if notes_commit is None:
        return {}
    where = cache.at(repo.common_dir, "notes")
    known = cache.load(where, notes_commit)
    if known:
        return {sha: Annotation(tags, notes) for sha, (tags, notes) in known.items() if sha}
    found = _read_tree(repo, notes_commit)
    cache.save(where, {sha: (a.tags, a.notes) for sha, a in found.items()} or {"": ((), ())}, notes_commit)
    return found


def _read_tree(repo: Repo, notes_commit: str) -> dict[str, Annotation]:
    listing = repo.run("ls-tree", "-r", "-z", "--full-tree", notes_commit).out
    blobs: dict[str, str] = {}  # blob -> annotated object
    hexsz = repo.hexsz
    for entry in listing.split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) != 3 or parts[1] != "blob":
            continue
        annotated = path.replace("/", "")
        if len(annotated) == hexsz and all(c in "0123456789abcdef" for c in annotated):
            blobs.setdefault(parts[2], annotated)
    if not blobs:
        return {}
    order = list(blobs)
    found: dict[str, Annotation] = {}
    for blob, got in zip(order, repo.objects(order)):
        if got is None or len(got[1]) > NOTE_MAX_BYTES:
            continue
        body = got[1]
        annotation = parse(body.decode("utf-8", "replace"))
        if annotation.tags or annotation.notes:
            found[blobs[blob]] = annotation
    return found


def start_head(repo: Repo):
    """Start the ``rev-parse`` ``head`` runs, beside other work; ``finish_head`` reads it."""
    return repo.start("rev-parse", "-q", "--verify", REF + "^{commit}")


def finish_head(running) -> str | None:
    return running.wait(check=False).out.strip() or None


# -- writing ----------------------------------------------------------------------------------

class NotesLocked(ExpError):
    pass


def append(repo: Repo, sha: str, lines: list[str], what: str) -> None:
    """Append ``lines`` to the note of commit ``sha`` with ``git notes append``; nothing is
    written when git refuses (its reason in one line)."""
    text = "".join(line + "\n" for line in lines)
    args = ["notes", f"--ref={REF}", "append", "-F", "-", sha]
    result = repo.run(*args, input=text, check=False)
    if result.returncode:
        raise failure(result, what)


def failure(result, what: str) -> ExpError:
    """git's refusal to write the notes ref, as one line."""
    err = result.err.strip()
    lines = [line for line in err.splitlines() if line.strip()]
    if "lock" in err and ("File exists" in err or "cannot lock" in err or "Unable to create" in err):
        return NotesLocked(f"could not {what}: {REF} is locked by another git (a lock file in the repository) — "
                           f"try again when it has finished; if no git is running, remove the .lock file git names: "
                           f"{lines[-1] if lines else ''}".rstrip(": "))
    from git_exp.repo import lacks_identity

    if lacks_identity(err):
        return UsageError(f"could not {what}: git needs your name and email to record notes — "
                          f"`git config user.name ...` and `git config user.email ...`")
    reason = lines[-1] if lines else f"git notes exited with {result.returncode}"
    return ExpError(f"could not {what}: {reason} — nothing was written; check the repository with `git fsck`")
