"""Worker processes that start clean and end with their parent.

Start method: never a plain ``fork`` of the working process. A fork copies OpenCV's
(and BLAS's) thread pools in whatever state they are in; a child that touches them can
hang for ever (seen: ``cv2.setNumThreads`` in a forked build worker after the parent
had resized images). On Linux, workers are forked from a clean ``forkserver`` process
that has imported the heavy modules once, so they still start in milliseconds.

Lifetime: a pool worker blocked on its task queue would outlive a parent killed with
SIGKILL. On Linux the kernel signals a worker when its parent dies
(``PR_SET_PDEATHSIG``). A fork server's worker has the server as parent, and the server
lives as long as any worker holds its liveness pipe, so such a worker also watches the
process that owns the pool and leaves when it is gone. Elsewhere the pool's normal
shutdown applies.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.context
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence

_PR_SET_PDEATHSIG = 1


_PRELOAD = ("numpy", "cv2", "PIL.Image")


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def pool_context(preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """The start method for worker pools: ``forkserver`` on Linux, ``spawn`` elsewhere.

    ``preload``: modules (besides numpy, OpenCV and Pillow) the fork server imports once
    so each worker starts warm; only the first call in a process decides it.
    """
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([*_PRELOAD, *preload])
    return ctx


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _watch(owner_pid: int, every_s: float) -> None:
    while _alive(owner_pid):
        time.sleep(every_s)
    os._exit(1)


def die_with_parent(owner_pid: int, *, every_s: float = 0.5) -> None:
    """In a pool worker: end when the process that owns the pool (``owner_pid``) ends.

    Its own parent's death is signalled by the kernel; when the parent is a fork server
    rather than the owner, a daemon thread polls the owner every ``every_s`` seconds.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent or not _alive(owner_pid):  # died before prctl took effect
        os._exit(1)
    if parent != owner_pid:
        threading.Thread(target=_watch, args=(owner_pid, every_s), daemon=True).start()


class WorkerInit:
    """A picklable pool initializer: :func:`die_with_parent`, then ``then()`` if given."""

    def __init__(self, then: Callable[[], None] | None = None):
        self.owner_pid = os.getpid()
        self.then = then

    def __call__(self) -> None:
        die_with_parent(self.owner_pid)
        if self.then is not None:
            self.then()


def reap_fork_server() -> bool:
    """Stop this process's worker fork server and wait for it; True if one was running.

    Pool workers are the fork server's children, so their CPU time reaches this
    process's accounting (``time``, ``getrusage(RUSAGE_CHILDREN)``) only once the server
    has reaped them and this process has reaped the server. Call it when no pool is
    open (a worker still alive keeps the server, and this call, waiting); the next pool
    starts a new server.
    """
    if not sys.platform.startswith("linux"):
        return False
    from multiprocessing import forkserver

    server = forkserver._forkserver  # the stdlib's own instance; _stop has no public name
    if getattr(server, "_forkserver_pid", None) is None:
        return False
    server._stop()
    return True
