"""The adversarial suite (issue 10): ``python -m tests.stress [--size full|reduced] [--json]``.

Each scenario drives real ``git exp`` processes and real git in a sandbox with a hermetic
environment, attacks one promise (concurrency, SIGKILL at random points, hostile remotes,
names and files, secrets), and checks the same invariants after every round
(:mod:`tests.stress.checks`):

- **lost**: an experiment commit that existed, or was reported saved, pushed or pulled, is
  no longer reachable from ``refs/exp/`` or ``refs/remote-exp/`` (nor from the reflog of
  its name when the user asked to overwrite it);
- **corrupt**: ``git fsck``, ``for-each-ref`` or ``rev-list --all`` fails, a name and a
  name below it (``a`` and ``a/b``) both exist, or a ref under our namespaces is symbolic
  or names something other than a commit (unless the scenario put it there);
- **outside**: a ref outside ``refs/exp/``, ``refs/exp-staging/``, ``refs/remote-exp/``,
  ``refs/exp-tombstones/``, ``refs/notes/exp`` and ``refs/notes/remote-exp/`` (on a remote:
  outside ``refs/exp/``, ``refs/exp-tombstones/`` and ``refs/notes/exp``) changed, ``HEAD`` included;
- **unhooked**: a ref changed without git's ``reference-transaction`` hook hearing of it
  (a write behind git's back), or changed although the hook refused it;
- **litter**: after the rerun, ``*.lock`` files, ``exp-index.*``, ``pack-*.keep``, refs
  under ``refs/exp-staging/`` or registered worktrees left in a git dir;
- **secrets**: a planted secret found in any output, object, reflog or cache;
- **crashes**: a traceback, ``internal error``, a signal, a timeout or an out-of-memory;
- **unclear**: a refusal that is not one ``git-exp: error: ...`` line of at most 512
  characters, or a hostile input that was accepted;
- **failed**: a command that must succeed (a rerun after a kill, a pull racing a pull)
  did not, or did not finish the work.

The target for every column is 0.  ``tests/test_stress.py`` runs the reduced size in
``make test``; ``make stress`` runs the full one and prints the table the README shows.
"""
