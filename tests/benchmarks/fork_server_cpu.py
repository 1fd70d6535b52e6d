"""CPU accounting for benchmarks whose hqseg workers are children of a fork server.

hqseg's pools start from a ``forkserver`` (:func:`hqseg.utils.procs.pool_context`), so
their workers are the server's children, not the benchmark's: ``RUSAGE_CHILDREN``
misses them. Start the server before the clock (:func:`start_fork_server`), read its
counters around the run (:func:`proc_cpu`: it reaps its workers, so their CPU lands
there), and stop it after (:func:`stop_fork_server`) so that its peak RSS reaches
``getrusage``. The server's own start-up and exit are one-off costs left out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence


def proc_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its waited-for children (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def start_fork_server(preload: Sequence[str]) -> int | None:
    """Start hqseg's worker fork server with ``preload`` (what the measured pool asks
    :func:`~hqseg.utils.procs.pool_context` for) imported; its pid, or None if unused."""
    from multiprocessing import forkserver

    from hqseg.utils.procs import pool_context

    ctx = pool_context(list(preload))
    if ctx.get_start_method() != "forkserver":
        return None
    with ctx.Pool(1) as pool:  # returns once the server has imported and forked
        pool.apply(int)
    return forkserver._forkserver._forkserver_pid


def stop_fork_server() -> None:
    """Stop the fork server and wait for it: its children's CPU and peak RSS reach ours."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()
