"""Remotes: choosing one, and talking to it only through the user's own git.

Every network operation is ``git push``, ``git fetch`` or ``git ls-remote``, so the user's ssh config
and agent, credential helpers, ``insteadOf``, proxies and hooks (git-lfs's pre-push) all
apply.  Remote names are validated against the configured
remotes and passed after ``--``; URLs are redacted in everything we print.
"""
from __future__ import annotations

from git_exp import git
from git_exp.errors import ExpError, UsageError
from git_exp.git import Result, Running
from git_exp.names import PREFIX, RemoteName, shown
from git_exp.record import Record
from git_exp.repo import REMOTE_URLS, Repo, sha_map, usable


class Remote(Record):
    """A remote: a configured one (its name and URL), or a URL given on the command line
    (``name`` and ``url`` both the URL, as ``git push URL`` takes it, and ``stage``: the
    private namespace that stands in for remote-tracking refs, which a URL has none of)."""

    __slots__ = ("name", "url", "stage")
    _defaults = {"stage": None}

    def __repr__(self) -> str:
        return f"Remote({self.name!r}, {self.shown_url!r})"

    def __hash__(self) -> int:
        return hash((self.name, self.url))

    @property
    def tracking(self) -> str:
        """Where fetched experiments of this remote live locally (for a URL: for the
        length of one command, under ``refs/exp-staging/``)."""
        return self.stage or f"refs/remote-exp/{self.name}/"

    @property
    def label(self) -> str:
        """How it is named to the user and in reflogs: the name, or the URL redacted."""
        return self.name if self.stage is None else self.shown_url

    @property
    def configured(self) -> bool:
        return self.stage is None

    @property
    def shown_url(self) -> str:
        from git_exp.redact import redact

        return redact(self.url)


def configured(repo: Repo) -> dict[str, str]:
    """{remote name: url} for every configured remote: one git config call per Repo,
    started with it when it was made with ``remotes=True``."""
    if isinstance(repo.remote_config, dict):
        return dict(repo.remote_config)
    running = repo.remote_config or repo.start("config", "-z", "--get-regexp", REMOTE_URLS)
    remotes = {}
    for record in running.wait(check=False).out.split("\0"):
        key, _, url = record.partition("\n")
        if key:
            remotes[key[len("remote."):-len(".url")]] = url
    repo.remote_config = remotes
    return dict(remotes)


URL_MAX = 2048


def is_url(text: str) -> bool:
    """Whether ``text`` names a repository the way ``git push``/``git fetch`` take one
    without a configured remote: ``scheme://...``, scp-like ``host:path``, or a path
    (``/srv/x.git``, ``./x``, ``../x``).  None of these can be an experiment name or a
    remote name (':' is not allowed in either; neither may start with '/' or '.')."""
    return ":" in text or text.startswith(("/", "."))


def from_url(repo: Repo, url: str) -> Remote:
    """A ``Remote`` for a URL given on the command line.  It is data: no option (it goes
    after ``--``), no control character, bounded."""
    import os

    if url.startswith("-") or len(url) > URL_MAX or not url.isprintable():
        raise UsageError(f"{shown(url)} is not a URL git can use — give a remote's name or its URL")
    return Remote(url, url, stage=f"refs/exp-staging/{os.getpid()}-{os.urandom(4).hex()}/")


def resolve(repo: Repo, text: str) -> Remote:
    """A configured remote by name, or a URL (``is_url``)."""
    if text not in configured(repo) and is_url(text):
        return from_url(repo, text)
    return get(repo, text)


def get(repo: Repo, name: str) -> Remote:
    remotes = configured(repo)
    if name not in remotes:
        known = ", ".join(shown(r) for r in sorted(remotes)) or "none configured"
        raise UsageError(f"no remote named {shown(name)} (remotes: {known}) — add it with `git remote add NAME URL`")
    return Remote(RemoteName(name), remotes[name])


def default(repo: Repo) -> Remote:
    """The remote ``git push`` would use: pushRemote, pushDefault, the branch's remote, the only one, origin."""
    remotes = configured(repo)
    branch = repo.run("symbolic-ref", "-q", "--short", "HEAD", check=False).out.strip()
    keys = ([f"branch.{branch}.pushRemote"] if branch else []) + ["remote.pushDefault"] + (
        [f"branch.{branch}.remote"] if branch else [])
    for key in keys:
        value = repo.run("config", "--get", key, check=False).out.strip()
        if value and value in remotes:
            return get(repo, value)
    if len(remotes) == 1:
        return get(repo, next(iter(remotes)))
    if "origin" in remotes:
        return get(repo, "origin")
    if not remotes:
        raise UsageError("this repository has no remote — add one with `git remote add origin URL`")
    raise UsageError(f"several remotes and none is the default ({', '.join(sorted(remotes))}) — name one")


def split_args(repo: Repo, args: list[str], *, all_: bool = False) -> tuple[Remote, list[str]]:
    """``[REMOTE] [NAME|GLOB...]``: the first argument is the remote when a remote has that
    name, or when it is a URL (``is_url``).

    With ``--all`` the only argument allowed is the remote, so a mistyped remote name is
    an error instead of a silent push to the default remote.
    """
    remotes = configured(repo)
    if args and (args[0] in remotes or is_url(args[0])):
        remote, rest = resolve(repo, args[0]), args[1:]
    else:
        remote, rest = None, args
    if all_ and rest:
        if remote is None and len(rest) == 1:
            get(repo, rest[0])  # raises: no remote named ...
        raise UsageError(f"--all takes no experiment names (got {shown(rest[0])}) — drop --all or the names")
    return remote or default(repo), rest


class TransportError(ExpError):
    """git could not talk to the remote; the message carries git's reason and a hint."""


def explain(remote: Remote, result: Result, what: str) -> TransportError:
    err = result.err.strip()
    lines = [line for line in err.splitlines() if line.strip()]
    detail = "\n".join("    " + line for line in lines[-6:])
    hint = "check the remote's URL and your access"
    lowered = err.lower()
    if "shallow update not allowed" in lowered:
        hint = (f"this clone is shallow and {remote.label} lacks the experiments' baseline commits — push the "
                f"baseline first (`git push {remote.label} HEAD:refs/heads/<branch>`) or unshallow "
                f"(`git fetch --unshallow`)")
    elif "authentication failed" in lowered or "could not read username" in lowered or "terminal prompts disabled" in lowered:
        hint = "the remote needs credentials — configure a credential helper or check your token"
    elif "permission denied" in lowered or "denied" in lowered:
        hint = f"{remote.label} refused access — check your key or your permissions on refs/exp/"
    elif "could not resolve host" in lowered or "connection refused" in lowered or "could not read from remote" in lowered:
        hint = f"{remote.label} cannot be reached — check the URL and the network"
    who = f"{remote.name} ({remote.shown_url})" if remote.configured else remote.shown_url
    return TransportError(f"{what} {who} failed — {hint}\n{detail}".rstrip())


def ls_remote(repo: Repo, remote: Remote, pattern: str = "refs/exp/*", running: Running | None = None) -> dict[str, str]:
    """{name: sha} of the remote's experiments, from one ``git ls-remote`` (``running``:
    that ls-remote, already started with ``start_ls_remote``)."""
    return sha_map(_listed(remote, running or _start_ls_remote(repo, remote, pattern)).out, PREFIX)


def start_ls_remote(repo: Repo, remote: Remote) -> Running:
    """Start the ls-remote ``ls_remote`` reads, to run it beside other work."""
    return _start_ls_remote(repo, remote)


# Listed with the experiments, in the same ls-remote: the remote's tombstones (what was
# removed there, ``git_exp.tombstones``) and its tags and notes (``git_exp.notesync``).
TOMBSTONES = "refs/exp-tombstones/"  # + <name>/@removed (git_exp.tombstones)
TOMBSTONE_LEAF = "/@removed"
NOTES = "refs/notes/exp"
EXTRA_PATTERNS = (TOMBSTONES + "*", NOTES)


def _start_ls_remote(repo: Repo, remote: Remote, pattern: str = "refs/exp/*") -> Running:
    extra = EXTRA_PATTERNS if pattern == "refs/exp/*" else ()
    return repo.start("ls-remote", "--refs", "--", remote.name, pattern, *extra).roomy()


class Extras(Record):
    """What a remote's listing says besides its experiments: ``tombstones`` ({name: sha}
    under ``refs/exp-tombstones/``) and ``notes`` (its ``refs/notes/exp``, or None)."""

    __slots__ = ("tombstones", "notes")


def split_extras(text: str) -> tuple[str, Extras]:
    """``ls-remote`` output without the lines of ``EXTRA_PATTERNS``, and what they said.
    Without any (the usual case) the text comes back as it was: two ``in`` tests."""
    extras = Extras({}, None)
    if "\t" + TOMBSTONES not in text and "\t" + NOTES not in text:
        return text, extras
    kept = []
    for line in text.splitlines(keepends=True):
        sha, _, ref = line.rstrip("\n").partition("\t")
        if ref.startswith(TOMBSTONES):
            if ref.endswith(TOMBSTONE_LEAF):
                extras.tombstones[ref[len(TOMBSTONES):-len(TOMBSTONE_LEAF)]] = sha
        elif ref == NOTES:
            extras.notes = sha
        elif ref.startswith("refs/exp/"):
            kept.append(line)
    return "".join(kept), extras


def ls_remote_full(repo: Repo, remote: Remote, running: Running | None = None) -> tuple[dict[str, str], Extras]:
    """``ls_remote`` and the remote's ``Extras``, from one ``git ls-remote``."""
    text, extras = split_extras(_listed(remote, running or _start_ls_remote(repo, remote)).out)
    return sha_map(text, PREFIX), extras


def _listed(remote: Remote, running: Running) -> Result:
    """The finished ls-remote; TransportError with git's reason when it failed."""
    result = running.wait(check=False)
    if result.returncode:
        raise explain(remote, result, "listing experiments on")
    return result


def start_listings(repo: Repo, remote: Remote, early: Running | None = None,
                   local: Running | None = None) -> tuple[Running, Running]:
    """The remote's ``ls-remote`` and our ``for-each-ref`` of refs/exp/, side by side: the
    remote's taken from ``start_early`` when it started it, ours from ``local`` (a
    ``Repo.start_refs`` started before) when given.  ``our_listing`` and
    ``their_listing`` read them; ours first: ls-remote takes longer, and its pipe is
    roomy, so it runs on meanwhile."""
    return early or _start_ls_remote(repo, remote), local or repo.start_refs()


def our_listing(local: Running) -> str:
    """Our side of ``start_listings`` as ``<sha> TAB <refname>`` lines sorted by refname."""
    return usable(local.wait().out)


def their_listing(remote: Remote, listing: Running) -> str:
    """The remote's side of ``start_listings`` as git printed it: ``<sha> TAB <refname>``
    lines sorted by refname, those of ``EXTRA_PATTERNS`` too (``split_extras``)."""
    return _listed(remote, listing).out


PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def start_early(name: str) -> Running | None:
    """Start the remote's side of ``listings`` for a remote named on the command line
    before the repository and its remotes have been read (~8 ms sooner: ``git exp ls
    REMOTE`` is otherwise three times a 25 ms ``git ls-remote``, a no-op ``push --all``
    well over 1.5 times a 30 ms ``git push``).  Its pipe is roomy (``Running.roomy``): ls-remote
    runs to its end while Python imports and reads the repository.  ``ls REMOTE``
    and ``push`` start their local listing at once too (``remote_ops.ls_remote``,
    ``push.start_local``).  Only for a plain word — no ``:`` or ``/``, so git can read it as
    nothing but a remote's name or a local path, never a host to contact — and ``get``
    must then confirm it is a configured remote; the caller stops the listing when it
    is not (``git.stopped_on_error``)."""
    if not name or name[0] == "-" or not PLAIN.issuperset(name):
        return None
    return git.start("ls-remote", "--refs", "--", name, "refs/exp/*", *EXTRA_PATTERNS).roomy()
