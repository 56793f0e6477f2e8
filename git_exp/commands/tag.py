"""``git exp tag NAME [TAG...]`` and ``git exp tag -d NAME TAG...``: tags in ``refs/notes/exp``.

A tag is added or removed by appending an event to the note of the experiment's commit
(``notes``), one ``git notes append`` for all the tags of one command line.
"""
from __future__ import annotations

from git_exp import notes
from git_exp.errors import UsageError
from git_exp.names import shown
from git_exp.record import Record
from git_exp.repo import Repo


class Tagged(Record):
    """What ``tag`` did: the experiment, its commit, the tags added or removed, those that
    were already so (``unchanged``), and its tags now."""

    __slots__ = ("name", "sha", "changed", "unchanged", "tags")


def tag(repo: Repo, name: str, tags: list[str], *, delete: bool = False) -> Tagged:
    """Add ``tags`` to experiment ``name`` (remove them with ``delete``); with no tags,
    only report its tags."""
    wanted = list(dict.fromkeys(notes.check_tag(t) for t in tags))
    if delete and not wanted:
        raise UsageError("name the tags to remove — e.g. `git exp tag -d NAME best`")
    exp = repo.get(name)
    current = notes.of(repo, exp.sha)
    if delete:
        missing = [t for t in wanted if t not in current.tags]
        if missing:
            raise UsageError(f"experiment {shown(exp.name)} has no tag {shown(missing[0])} — nothing was changed; "
                             f"`git exp tag {exp.name}` lists its tags")
        changed, unchanged = wanted, []
    else:
        changed = [t for t in wanted if t not in current.tags]
        unchanged = [t for t in wanted if t in current.tags]
    if changed:
        kind = "untag" if delete else "tag"
        notes.append(repo, exp.sha, [notes.event(kind, t) for t in changed],
                     f"{'remove' if delete else 'add'} tags of {shown(exp.name)}")
    final = set(current.tags) - set(changed) if delete else set(current.tags) | set(changed)
    return Tagged(exp.name, exp.sha, changed, unchanged, sorted(final))
