"""Worker processes that end with their parent.

A pool worker blocked on its task queue would outlive a parent killed with SIGKILL
(it holds its own copy of the queue, so it never sees end-of-file). On Linux the
kernel can signal it when the parent dies (``PR_SET_PDEATHSIG``); elsewhere this is
a no-op and the pool's normal shutdown applies.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """In a child process: get SIGTERM when the parent ends; exit now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


class WorkerInit:
    """A picklable pool initializer: :func:`die_with_parent`, then ``then()`` if given."""

    def __init__(self, then: Callable[[], None] | None = None):
        self.parent_pid = os.getpid()
        self.then = then

    def __call__(self) -> None:
        die_with_parent(self.parent_pid)
        if self.then is not None:
            self.then()
