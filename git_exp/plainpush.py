"""What a plain ``git push`` does to branches, with and without git-exp's push refspecs.

Once a remote has any ``remote.<name>.push`` refspec, git ignores ``push.default`` for
pushes to it (builtin/push.c uses the remote's refspecs when none are given).  So
``install`` may add ``push = refs/exp/*:refs/exp/*`` only together with a refspec that
does to branches exactly what ``push.default`` does today:

- ``current``: ``HEAD`` (the current branch to the same name);
- ``matching``: ``:`` (git's own matching refspec, what ``push.default=matching`` uses);
- ``simple`` (git's default) and ``upstream``: ``HEAD``, but only if, from every local
  branch, a push to the remote without refspecs sends that branch to its own name:
  ``simple`` refuses a branch whose upstream has another name or that has no upstream
  (unless ``push.autoSetupRemote``), ``upstream`` pushes to the upstream's name and
  refuses when the remote is not the branch's own;
- ``nothing``: none (git refuses a push without refspecs; ``HEAD`` would not).

This mirrors ``setup_default_push_refspecs`` of git's builtin/push.c (2.39 to 2.47): the
"triangular" test compares the remote pushed to with the branch's fetch remote
(``branch.<name>.remote``, else the only remote, else ``origin``, even when no remote
has that name).
Whether a remote is the one a plain ``git push`` goes to (``pushRemote``,
``pushDefault``) does not matter here: ``git push <remote>`` uses the same refspecs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from git_exp.repo import Repo

HEADS = "refs/heads/"
MODES = ("simple", "current", "upstream", "tracking", "matching", "nothing")
TRUE = ("true", "yes", "on", "1")


@dataclass
class Branch:
    name: str
    remote: str | None = None
    merges: list[str] = field(default_factory=list)

    def upstream(self) -> str | None:
        """The single upstream ref name on the branch's remote, as git's push reads it."""
        return self.merges[0] if self.remote and len(self.merges) == 1 else None


@dataclass
class Change:
    """What a push without refspecs does from ``branch`` today, where ``push = HEAD``
    would push it to its own name: ``today`` is the remote ref it updates, or None
    when git refuses (``why``)."""

    branch: str
    today: str | None
    why: str = ""

    def text(self, remote: str, *, written: bool = False) -> str:
        """The change in words; ``written`` when ``push = HEAD`` is already configured."""
        today = (f"goes to {remote}'s {short(self.today)}" if self.today else f"is refused ({self.why})")
        if written:
            return (f"branch {self.branch!r}: a plain push to {remote} updates {remote}'s {self.branch} "
                    f"(`push = HEAD`); without git-exp's push refspecs it {today}")
        return (f"branch {self.branch!r}: with `push = HEAD` a plain push to {remote} would update "
                f"{remote}'s {self.branch}; today it {today}")


@dataclass
class Plan:
    """The branch refspec that keeps plain ``git push`` as it is (``spec``), or None and
    the changes ``push = HEAD`` would make."""

    mode: str
    spec: str | None
    changes: list[Change] = field(default_factory=list)
    why: str = ""  # when no branch is at fault: push.default=nothing or unknown

    def lines(self, remote: str, *, written: bool = False) -> list[str]:
        return ([self.why] if self.why else []) + [c.text(remote, written=written) for c in self.changes]


@dataclass
class Settings:
    mode: str  # push.default as configured; "" when unset (git's default: simple)
    auto_setup_remote: bool
    branches: list[Branch]
    remotes: list[str]

    def fetch_remote(self, branch: Branch) -> str:
        """git's ``remote_for_branch``: its remote, else the only remote, else "origin"
        (configured or not: a push to r1 with remotes r1 and r2 counts as triangular)."""
        if branch.remote:
            return branch.remote
        if len(self.remotes) == 1:
            return self.remotes[0]
        return "origin"


def short(ref: str) -> str:
    return ref[len(HEADS):] if ref.startswith(HEADS) else ref


def read(repo: Repo, remotes: list[str]) -> Settings:
    """push.default, push.autoSetupRemote and every local branch's upstream, in two git calls."""
    config = repo.start("config", "-z", "--get-regexp", r"^(push\.(default|autosetupremote)|branch\..*\.(remote|merge))$")
    heads = repo.out("for-each-ref", "--format=%(refname)", "--", HEADS).splitlines()
    branches = {ref[len(HEADS):]: Branch(ref[len(HEADS):]) for ref in heads}
    mode, auto = "", False
    for record in config.wait(check=False).out.split("\0"):
        key, newline, value = record.partition("\n")
        if key == "push.default":
            mode = value
        elif key == "push.autosetupremote":
            auto = not newline or value.lower() in TRUE
        elif key.startswith("branch."):
            name, _, var = key[len("branch."):].rpartition(".")
            branch = branches.get(name)
            if branch is None:
                continue
            if var == "remote":
                branch.remote = value
            elif var == "merge":
                branch.merges.append(value)
    return Settings(mode, auto, list(branches.values()), sorted(remotes))


def without_refspec(settings: Settings, branch: Branch, remote: str) -> Change | None:
    """What ``git push <remote>`` without refspecs does from ``branch``: None when it
    pushes the branch to its own name (as ``push = HEAD`` does), else the Change."""
    mode = settings.mode or "simple"
    own = HEADS + branch.name
    fetch_remote = settings.fetch_remote(branch)
    triangular = fetch_remote != remote
    if mode == "current" or mode == "simple" and triangular:
        return None
    if triangular:  # upstream
        return Change(branch.name, None, f"push.default=upstream and its upstream is on {fetch_remote!r}")
    if not branch.remote or not branch.merges:
        if settings.auto_setup_remote:
            return None
        return Change(branch.name, None, "it has no upstream")
    if len(branch.merges) > 1:
        return Change(branch.name, None, "it has several upstreams")
    upstream = branch.merges[0]
    if upstream == own:
        return None
    if mode == "simple":
        return Change(branch.name, None, f"push.default={settings.mode or 'simple (the default)'} and its "
                                         f"upstream {short(upstream)} has another name")
    return Change(branch.name, upstream)


def plan(settings: Settings, remote: str) -> Plan:
    mode = settings.mode or "simple"
    if mode not in MODES:
        return Plan(mode, None, why=f"push.default={mode!r} is a value git-exp does not know")
    if mode == "matching":
        return Plan(mode, ":")
    if mode == "current":
        return Plan(mode, "HEAD")
    if mode == "nothing":
        return Plan(mode, None, why=f"push.default=nothing: a push to {remote} without refspecs is refused; "
                                    "with `push = HEAD` it pushes the current branch")
    changes = [c for c in (without_refspec(settings, b, remote) for b in settings.branches) if c]
    return Plan(mode, None if changes else "HEAD", changes)


def for_remote(repo: Repo, remote: str, remotes: list[str]) -> Plan:
    return plan(read(repo, remotes), remote)
