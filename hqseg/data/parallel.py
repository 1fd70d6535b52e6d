"""An ordered, memory-bounded parallel map over a process pool.

``multiprocessing.Pool.imap`` has no back-pressure: when the consumer is slower
than the workers, finished results pile up in memory. :func:`bounded_map` keeps at
most ``inflight`` chunks submitted at once, so memory stays proportional to
``workers x chunksize`` whatever the input length, and yields results in input
order (deterministic output).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any


def default_workers() -> int:
    """The machine's usable cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _run_chunk(func: Callable[[Any], Any], chunk: list[Any]) -> list[Any]:
    return [func(item) for item in chunk]


def bounded_map(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    workers: int | None = None,
    chunksize: int = 8,
    inflight: int | None = None,
    initializer: Callable[[], None] | None = None,
) -> Iterator[Any]:
    """Yield ``func(item)`` for each item, in order, computed by ``workers`` processes.

    ``func`` must be picklable (a module-level function or a ``functools.partial``
    of one). ``workers <= 1`` runs in this process (no pool, easier debugging).
    ``initializer`` runs once in each worker process (not in this process).
    """
    workers = default_workers() if workers is None else workers
    if workers <= 1:
        yield from map(func, items)
        return
    inflight = inflight or 2 * workers
    iterator = iter(items)
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    from hqseg.utils.procs import WorkerInit  # workers end when this process is killed

    with ctx.Pool(workers, initializer=WorkerInit(initializer)) as pool:
        pending: deque = deque()

        def submit() -> bool:
            chunk = list(islice(iterator, chunksize))
            if chunk:
                pending.append(pool.apply_async(_run_chunk, (func, chunk)))
            return bool(chunk)

        while len(pending) < inflight and submit():
            pass
        while pending:
            results = pending.popleft().get()
            submit()
            yield from results
