"""Steps that must not be cut in two by Ctrl-C.

``with deferred():`` blocks SIGINT, SIGTERM and SIGHUP for the block and delivers any
that arrived once it ends, so a rename across an ``a``/``a/b`` clash (two ref
transactions) or the save after ``git exp run`` either happens whole or, if the process
is killed outright (SIGKILL cannot be blocked), leaves what it says how to finish.
Children started inside the block inherit the mask; git's own commands unblock nothing,
so an update-ref started here also finishes its transaction.
"""
from __future__ import annotations

import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class deferred:  # noqa: N801 - used like a context-manager function
    def __enter__(self) -> deferred:
        self.old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        return self

    def __exit__(self, *exc) -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old)
