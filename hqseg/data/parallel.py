"""An ordered, memory-bounded parallel map over a process pool.

``multiprocessing.Pool.imap`` has no back-pressure: when the consumer is slower
than the workers, finished results pile up in memory. :func:`bounded_map` keeps at
most ``inflight`` chunks submitted at once, so memory stays proportional to
``workers x chunksize`` whatever the input length, and yields results in input
order (deterministic output).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from hqseg.utils.procs import WorkerInit, pool_context, usable_cores


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
    ``initializer`` runs once in each worker process (not in this process). Workers
    start from a clean fork server (:func:`hqseg.utils.procs.pool_context`) and end
    when this process does.
    """
    workers = usable_cores() if workers is None else workers
    if workers <= 1:
        yield from map(func, items)
        return
    inflight = inflight or 2 * workers
    iterator = iter(items)
    target = getattr(func, "func", func)  # a functools.partial's function
    ctx = pool_context([getattr(target, "__module__", None) or "hqseg.data.convert"])
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
