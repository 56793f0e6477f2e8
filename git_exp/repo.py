"""The repository we work in: where it is, what state it is in, and its experiment refs.

Reads use git's batch plumbing: one ``for-each-ref`` lists the experiments (measured for
issue 4: ``for-each-ref`` lists 100k refs in 0.09 s where dulwich takes 1.45 s; ``ls``
reads their commits with ``git log --stdin`` on every core, see ``commands.ls``).

Writes: git writes every ref.  Each change is one ``git update-ref --no-deref -z --stdin``
transaction (``start`` ... ``commit``: if we are stopped before ``commit``, git aborts
it and removes its locks), every update a compare-and-swap on the expected old value,
so per-ref locks, the ``reference-transaction`` hook, reflog and fsync settings and
every ref backend (files, reftable) behave as with git's own commands.  Writing
``packed-refs`` ourselves was ~10x quicker for 10k refs and cost lost updates and
bypassed hooks (issue 10); it is gone.

Listings leave out what git-exp must never follow or write: symbolic refs (see
``refs_args``) and names that are not UTF-8; ``odd``
finds them for ``doctor`` and for the notes commands print.  Object ids are as long as
the repository's format says (``zero``: 40 hex digits for SHA-1, 64 for SHA-256).
"""
from __future__ import annotations

import os

from git_exp import git
from git_exp.errors import ExpError, UsageError
from git_exp.git import GitError
from git_exp.names import PREFIX, ExpName, conflict, shown
from git_exp.record import Record

REMOTE_URLS = r"^remote\..*\.url$"
SEP = "\x1f"  # unit separator between fields; records end with NUL


TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Iterable, Iterator


class Exp(Record):
    """One experiment ref as listed by for-each-ref (paths in Repo are strings, not
    ``pathlib`` paths, for the same reason as ``Record``: pathlib imports ``re``)."""

    __slots__ = ("name", "sha", "parents", "created", "subject", "trailers", "ref")

    def __init__(self, name: str, sha: str, parents: list[str], created: int, subject: str,
                 trailers: dict[str, str] | None = None, ref: str = "") -> None:  # 10k per listing: no generic init
        self.name, self.sha, self.parents, self.created, self.subject = name, sha, parents, created, subject
        self.trailers = {} if trailers is None else trailers
        self.ref = ref

    @property
    def baseline(self) -> str | None:
        return self.parents[0] if self.parents else None


SYMREF_MARK = "!"  # before the name of a symbolic ref in ``list_args``' listing
REFNAME = "%(if)%(symref)%(then)!%(end)%(refname)"


def refs_args(*prefixes: str) -> list[str]:
    """The cheapest listing: ``<sha> TAB <refname> NUL <symref target>`` lines of the refs
    under ``prefixes``, no object read; ``usable`` turns it into ``<sha> TAB <refname>``
    lines of the refs that are no symbolic ref, for ``sha_map`` (a dict); ``rows.listed``
    has a listing of its own (``rows.LISTING``), split as it comes.  The target after a
    NUL costs for-each-ref ~15 ms at 10k refs, where marking the name with
    ``%(if)%(symref)`` cost ~35 ms."""
    return ["for-each-ref", "--format=%(objectname)%09%(refname)%00%(symref)", "--", *prefixes]


def usable(text: str) -> str:
    """``refs_args`` output (or ``ls-remote``'s) as ``<sha> TAB <refname>`` lines, without
    symbolic refs and names that are not UTF-8 (git's output read with
    ``surrogateescape``).  Without either: three counts, a replace and an ``isascii``, in
    C (each NUL ends a line: they go with a replace of one character, ~3 times as fast as
    one of ``"\\0\\n"``)."""
    if "\0" in text:
        if text.count("\0\n") == text.count("\n") == text.count("\0"):  # every target empty: no symbolic ref
            text = text.replace("\0", "")
        else:
            text = "".join(line[:-1] + "\n" for line in text.split("\n") if line.endswith("\0"))
    if text.isascii():
        return text
    return "".join(line for line in text.splitlines(keepends=True) if decodable(line))


def symbolic(text: str, prefix: str) -> set[str]:
    """Names below ``prefix`` of the symbolic refs in ``refs_args`` output."""
    if "\0" not in text or text.count("\0\n") == text.count("\n"):
        return set()
    return {line.partition("\0")[0].partition("\t")[2][len(prefix):]
            for line in text.split("\n") if "\0" in line and not line.endswith("\0")}


def decodable(text: str) -> bool:
    """Whether text read with ``surrogateescape`` was UTF-8 (ref names that were not are skipped)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def list_args(prefix: str = PREFIX, *, trailers: bool = True, pattern: str | None = None,
              patterns: Iterable[str] = ()) -> list[str]:
    """The ``for-each-ref`` command line ``Repo.list`` reads: the refs under ``prefix``,
    or those ``pattern`` or ``patterns`` (for-each-ref patterns) match."""
    fields = [REFNAME, "%(objectname)", "%(objecttype)", "%(parent)", "%(committerdate:unix)", "%(contents:subject)"]
    if trailers:
        fields.append("%(contents:trailers:only,unfold,key_value_separator=: )")  # ": " whatever trailer.separators
    return ["for-each-ref", f"--format={SEP.join(fields)}%00", "--", *(list(patterns) or [pattern or prefix])]


def lacks_identity(err: str | bytes) -> bool:
    """Whether git refused for want of a name and email (``user.name``/``user.email``)."""
    text = err.decode("utf-8", "replace") if isinstance(err, bytes) else err
    return "tell me who you are" in text or "empty ident" in text or "unable to auto-detect email" in text


def stand_in_identity() -> dict[str, str]:
    """The author and committer git-exp records where no identity is configured (typical
    of fresh CI runners): ``git-exp <git-exp@HOST>``."""
    who = f"git-exp@{os.uname().nodename or 'localhost'}"
    return {"GIT_AUTHOR_NAME": "git-exp", "GIT_COMMITTER_NAME": "git-exp", "GIT_AUTHOR_EMAIL": who,
            "GIT_COMMITTER_EMAIL": who}


class Repo:
    def __init__(self, path: str | os.PathLike | None = None, *, remotes: bool = False):
        """The repository at ``path`` (default: here).  With ``remotes``, the remotes'
        configuration is read at the same time (``remotes.configured`` picks it up)."""
        cwd = os.path.abspath(path or ".")
        self.remote_config: git.Running | dict | None = (
            git.start("config", "-z", "--get-regexp", REMOTE_URLS, cwd=cwd) if remotes else None)
        result = git.run(
            "rev-parse", "--show-object-format", "--absolute-git-dir", "--git-common-dir", "--is-bare-repository",
            "--is-shallow-repository", "--is-inside-work-tree", "--show-prefix", cwd=cwd, check=False,
        )
        lines = result.out.splitlines()
        if result.returncode or len(lines) < 6:
            if remotes:
                self.remote_config.wait(check=False)
            if "not a git repository" in result.err or not lines:
                raise UsageError("not a git repository — run git exp inside a git work tree")
            raise GitError(["git", "rev-parse"], result.returncode, result.stdout, result.stderr)
        self.cwd = cwd
        self.object_format = lines.pop(0)
        self.hexsz = 64 if self.object_format == "sha256" else 40
        self.zero = "0" * self.hexsz  # git's null id: "no ref" in a compare-and-swap
        self.git_dir: str = lines[0]
        self.common_dir: str = lines[1] if os.path.isabs(lines[1]) else os.path.realpath(os.path.join(cwd, lines[1]))
        self.bare = lines[2] == "true"
        self.shallow = lines[3] == "true"
        self.worktree: str | None = None
        if lines[4] == "true":
            prefix = lines[5] if len(lines) > 5 else ""
            top = cwd
            for _ in range(prefix.count("/")):
                top = os.path.dirname(top)
            self.worktree = top

    # -- running git in this repository -------------------------------------------------
    def run(self, *args: str, **kw) -> git.Result:
        kw.setdefault("cwd", self.worktree or self.git_dir)
        return git.run(*args, **kw)

    def start(self, *args: str, **kw) -> git.Running:
        """Start git here without waiting (``.wait()`` collects it), to run two side by side."""
        kw.setdefault("cwd", self.worktree or self.git_dir)
        return git.start(*args, **kw)

    def objects(self, specs: list[str]) -> list[tuple[str, bytes] | None]:
        """``(type, content)`` of each object ``specs`` name (``sha``, ``sha:path``), in
        order, from one ``git cat-file --batch``; None for one git does not have."""
        if not specs:
            return []
        raw = self.run("cat-file", "--batch", input="".join(f"{spec}\n" for spec in specs)).stdout
        found: list = []
        at = 0
        for _ in specs:
            end = raw.index(b"\n", at)
            header = raw[at:end].split(b" ")
            if len(header) != 3 or not header[2].isdigit():  # "<spec> missing", "ambiguous", ...
                found.append(None)
                at = end + 1
                continue
            size = int(header[2])
            found.append((header[1].decode(), raw[end + 1:end + 1 + size]))
            at = end + 1 + size + 1
        return found

    def out(self, *args: str, **kw) -> str:
        return self.run(*args, **kw).out.rstrip("\n")

    def require_worktree(self, command: str) -> str:
        if self.worktree is None:
            where = "this repository is bare" if self.bare else "this is not inside the work tree"
            raise UsageError(f"`git exp {command}` needs a work tree, and {where} — run it in a clone's work tree")
        return self.worktree

    # -- commits ---------------------------------------------------------------------------
    def head(self, running: git.Running | None = None) -> str | None:
        """The commit HEAD points at, or None on an unborn branch; ``running``: the
        ``start_head`` git, started earlier to run beside others."""
        result = (running or self.start_head()).wait(check=False)
        return result.out.strip() or None

    def start_head(self) -> git.Running:
        return self.start("rev-parse", "-q", "--verify", "HEAD^{commit}")

    def resolve_commit(self, rev: str) -> str:
        result = self.run("rev-parse", "-q", "--verify", "--end-of-options", rev + "^{commit}", check=False)
        if result.returncode:
            raise UsageError(f"unknown revision {shown(rev)} — name a commit, branch or tag that exists")
        return result.out.strip()

    def in_progress(self) -> str | None:
        """The operation (merge, rebase, ...) that is under way in this work tree, if any."""
        markers = (("MERGE_HEAD", "merge"), ("rebase-merge", "rebase"), ("rebase-apply", "rebase or am"),
                   ("CHERRY_PICK_HEAD", "cherry-pick"), ("REVERT_HEAD", "revert"), ("BISECT_LOG", "bisect"))
        for marker, what in markers:
            if os.path.exists(os.path.join(self.git_dir, marker)):
                return what
        return None

    # -- experiment refs -------------------------------------------------------------------
    def list(self, prefix: str = PREFIX, *, trailers: bool = True, pattern: str | None = None,
             running: git.Running | None = None, skipped: list[str] | None = None) -> list[Exp]:
        """Every ref under ``prefix`` (or matching ``pattern``) that points at a commit,
        sorted by name; ``running`` is the same listing already started (``list_args``);
        ``skipped`` gets the ids of the objects other refs there point at.  Symbolic refs
        and names that are not UTF-8 are left out (``odd`` lists them)."""
        return list(self.each(prefix, trailers=trailers, pattern=pattern, running=running, skipped=skipped))

    def each(self, prefix: str = PREFIX, *, trailers: bool = True, pattern: str | None = None,
             running: git.Running | None = None, skipped: list[str] | None = None) -> Iterator[Exp]:
        """``list``, one experiment at a time: at 100k, the listing's text is the only
        thing held whole (its bytes are let go once decoded)."""
        running = running or self.start(*list_args(prefix, trailers=trailers, pattern=pattern))
        result = running.wait()
        raw = result.stdout.decode("utf-8", "surrogateescape")
        result.stdout = b""  # read once: not held twice
        at, end = 0, len(raw)
        while at < end:
            stop = raw.find("\0\n", at)
            if stop < 0:
                stop = end
            record = raw[at:stop].strip("\n\0")
            at = stop + 2
            if not record:
                continue
            parts = record.split(SEP)
            ref, sha, kind, parents, created, subject = parts[:6]
            if ref.startswith(SYMREF_MARK) or not decodable(ref):
                continue
            if kind != "commit":
                if skipped is not None:
                    skipped.append(sha)
                continue
            exp = Exp(ref[len(prefix):], sha, parents.split(), int(created or 0), subject, ref=ref)
            if trailers and len(parts) > 6:
                exp.trailers = parse_trailers(parts[6])
            yield exp

    def odd(self, *prefixes: str) -> list[tuple[str, str]]:
        """``(refname, what it is)`` for each ref under ``prefixes`` that git-exp leaves alone:
        a symbolic ref (never followed: a ``git exp rm`` of one would delete its target),
        a ref to a blob, tree or tag, or a name that is not UTF-8."""
        fmt = "%(refname)%00%(symref)%00%(objecttype)%00"
        raw = self.run("for-each-ref", f"--format={fmt}", "--", *(prefixes or (PREFIX,))).stdout
        found = []
        for line in raw.split(b"\n"):
            if not line:
                continue
            ref, symref, kind = line.split(b"\0")[:3]
            name = ref.decode("utf-8", "surrogateescape")
            if symref:
                found.append((name, f"a symbolic ref to {symref.decode('utf-8', 'replace')}"))
            elif not decodable(name):
                found.append((name, "a ref whose name is not UTF-8"))
            elif kind != b"commit":
                found.append((name, f"a ref to a {kind.decode() or 'missing object'}, not to a commit"))
        return found

    def refs(self, prefix: str = PREFIX) -> dict[str, str]:
        """{name below prefix: sha} without reading any object (cheapest listing)."""
        return sha_map(self.start_refs(prefix).wait().out, prefix)

    def start_refs(self, prefix: str = PREFIX) -> git.Running:
        """Start the listing ``refs`` makes; ``sha_map(running.wait().out, prefix)`` reads it."""
        return self.start(*refs_args(prefix))

    def by_name(self) -> dict[str, Exp]:
        """{name: Exp} from the refs alone (``refs``: no object is read, so parents, time
        and subject stay empty) — enough to select and delete or push by name."""
        return {name: Exp(name, sha, [], 0, "", ref=PREFIX + name) for name, sha in self.refs().items()}

    def names(self) -> list[str]:
        return list(self.refs())

    def near(self, names: Iterable[str]) -> dict[str, str]:
        """``refs`` of the experiments that git's file/directory rule ties to ``names``:
        each name itself, the names below it, and each of its parent paths that is a name
        (with what lies below that: a pattern of ``for-each-ref`` matches a ref and the
        refs under it) -- enough for ``check_free`` and ``names.generate``, without
        listing every experiment.  At 10k experiments: ~2 ms, where ``refs`` took ~10 ms
        and ~8 ms more to read."""
        patterns = set()
        for name in names:
            patterns.add(PREFIX + name)
            cut = name.find("/")
            while cut > 0:
                patterns.add(PREFIX + name[:cut])
                cut = name.find("/", cut + 1)
        if not patterns:
            return {}
        return sha_map(self.run(*refs_args(*sorted(patterns))).out, PREFIX)

    def ref_sha(self, ref: str) -> str | None:
        result = self.run("rev-parse", "-q", "--verify", "--end-of-options", ref, check=False)
        return result.out.strip() or None

    def get(self, name: str) -> Exp:
        """The experiment called ``name``; UsageError when there is none."""
        ExpName(name)
        for exp in self.list(pattern=PREFIX + name):
            if exp.name == name:
                return exp
        raise UsageError(f"no experiment named {shown(name)} — `git exp ls` lists them")

    def check_free(self, name: ExpName, existing: Iterable[str]) -> None:
        """Refuse a name that git's file/directory rule makes impossible."""
        other = conflict(name, existing)
        if other:
            raise UsageError(
                f"cannot create experiment {shown(name)}: experiment {shown(other)} exists and git cannot store "
                f"both 'a' and 'a/b' — pick another name or rename {shown(other)}"
            )

    def transaction(self, updates: Iterable[tuple[str, str, str]], message: str, *, reflog: bool = True) -> None:
        """Apply ``(ref, new, old)`` moves atomically; new == ``zero`` deletes, old == ``zero`` creates.

        Every move is a compare-and-swap: if any ref is not at its expected old value,
        nothing changes and RefMoved says which ref moved.  ``--no-deref``: a symbolic ref
        named here is itself changed, never the ref it points at.  Between ``start`` and
        ``commit`` nothing is written; stopped before ``commit``, git aborts.
        """
        zero = self.zero
        lines = ["start\0"]
        for ref, new, old in updates:  # a creation is git's ``create``: as ``update`` from
            if new == zero:             # the zero id, which cost git ~25% more per ref here
                lines.append(f"delete {ref}\0{old}\0")
            elif old == zero:
                lines.append(f"create {ref}\0{new}\0")
            else:
                lines.append(f"update {ref}\0{new}\0{old}\0")
        if len(lines) == 1:
            return
        lines.append("commit\0")
        args = ["update-ref", "--no-deref", "-z", "--stdin", "-m", message]
        if reflog:
            args.insert(1, "--create-reflog")
        data = "".join(lines)
        result = self.run(*args, input=data, check=False)
        if result.returncode and RefMoved(result).locked:
            from git_exp import leftovers

            if leftovers.clear_stale_locks(self):  # left by a git killed while it held them
                result = self.run(*args, input=data, check=False)
        if result.returncode:
            raise RefMoved(result)
        if os.path.isdir(os.path.join(self.common_dir, "reftable")):
            from git_exp import leftovers

            leftovers.sweep_table_locks(self)  # a killed compaction's, which no write would clear

    def pack_refs(self) -> bool:
        """Have git pack the refs (after a pull wrote many: loose, they slow every later
        ``git fetch``); False when left loose because, with files refs, git would run a
        ``reference-transaction`` hook twice for each loose ref it prunes (at 200k refs,
        400k hook processes: most of an hour here).  ``git exp doctor`` then says to
        ``git pack-refs --all``, which the user may run when it suits them."""
        if not os.path.isdir(os.path.join(self.common_dir, "reftable")):
            hook = self.out("rev-parse", "--git-path", "hooks/reference-transaction")
            hook = os.path.join(self.worktree or self.git_dir, hook)
            if os.path.isfile(hook) and os.access(hook, os.X_OK):
                return False
        self.run("pack-refs", "--all", "--prune")
        return True


class RefMoved(ExpError):
    """An update-ref transaction was refused: a ref was not where we expected it."""

    def __init__(self, result: git.Result):
        self.result = result
        detail = result.err.strip().splitlines()
        super().__init__(detail[-1] if detail else "git update-ref failed")

    @property
    def exists(self) -> bool:
        text = self.result.err
        return "reference already exists" in text or "is at" in text and "but expected" in text

    @property
    def locked(self) -> bool:
        """A lock file of one of the refs was there: another git holds it, or one killed
        while it held it left it behind."""
        text = self.result.err
        return ("File exists" in text and (".lock" in text or "packed-refs.new" in text)  # files backend
                or "cannot lock references" in text)  # reftable

    @property
    def contended(self) -> bool:
        """Another git changed or held one of the refs: trying again may succeed (a hook
        that refused, or a name git cannot hold, will refuse again)."""
        return self.exists or self.locked


def sha_map(text: str, prefix: str) -> dict[str, str]:
    """``{name: sha}`` of the refs under ``prefix`` in lines of ``<sha> TAB <refname>``, as
    ``ls-remote`` prints them (and ``start_refs`` asks ``for-each-ref`` to).

    A refname never holds a tab or a newline (check-ref-format), so when every line is
    under ``prefix`` two ``replace`` and one ``split`` do it in C: ~1.5 ms for 10k refs
    where a loop over the lines took 5.5 ms (split on tab only: a name may hold other
    white space, such as a no-break space).  Otherwise (``ls-remote`` patterns match the
    tail of a refname, so it may list ``refs/x/refs/exp/a``), line by line.
    """
    text = usable(text)
    marker = "\t" + prefix
    if text.count(marker) == text.count("\n") and text.endswith("\n"):
        words = text.replace(marker, "\t").replace("\n", "\t").split("\t")
        words.pop()  # what follows the last newline
        return dict(zip(words[1::2], words[0::2]))
    cut = len(prefix)
    found = {}
    for line in text.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith(prefix):
            found[ref[cut:]] = sha
    return found


def parse_trailers(text: str) -> dict[str, str]:
    """``Key: value`` lines (as git prints them) to a dict; the last value of a key wins."""
    found = {}
    for line in text.splitlines():
        if line.startswith("Exp-"):
            key, sep, value = line.partition(":")
            if sep:
                found[key.strip()] = value.strip()
    return found
