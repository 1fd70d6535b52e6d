"""Progress for long work: a tqdm bar on a terminal, periodic log lines everywhere else.

Under ``dvc repro``, CI or ``nohup`` stderr is not a terminal, so a bar would either
be invisible or flood the log with carriage returns. There :func:`progress_bar`
prints one plain line every ``every_n`` items or ``every_s`` seconds, whichever
comes first, e.g.::

    train: 12/20 steps (60%) loss=0.4123 | 0.52 steps/s | elapsed 0:00:23 | ETA 0:00:15

A background heartbeat prints the same line when an item takes longer than
``every_s`` (a slow step, a long validation), so a log never goes quiet for longer.
Runs that finish before the first line was due print nothing (unless ``first``: then the
first item is logged too, and the final count at the end).

Modes (``HQSEG_PROGRESS`` overrides the caller's choice):
    auto  bar on a TTY, log lines otherwise (callers' ``bar=True``);
    log   log lines only (callers' ``bar=False``, e.g. ``--no-progress``);
    off   nothing at all.
``TQDM_DISABLE=1`` turns bars off but keeps log lines.

The returned object supports what callers use of tqdm: iteration, ``update``,
``set_postfix``, ``set_description``, ``close`` and ``with``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

ENV = "HQSEG_PROGRESS"
DEFAULT_EVERY_S = 30.0


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    initial: int = 0,
    bar: bool = True,
    enabled: bool = True,
    every_n: int | None = None,
    every_s: float = DEFAULT_EVERY_S,
    first: bool = False,
    stream: IO[str] | None = None,
):
    """A progress reporter over ``iterable`` (or driven by ``update``); see module doc.

    Args:
        bar: allow a tqdm bar when ``stream`` is a terminal; False = log lines only.
        enabled: False = print nothing (e.g. on ranks other than 0).
        every_n: also log every this many items (None = by time only).
        every_s: log at least this often (seconds) while work goes on.
        first: also log the first item (shows that work started, and its speed).
        stream: where lines/bars go (default: stderr).
    """
    stream = stream or sys.stderr
    mode = os.environ.get(ENV, "").strip().lower() or ("auto" if bar else "log")
    if mode == "off" or not enabled:
        return _Silent(iterable, total=total, initial=initial)
    if mode == "auto" and _is_tty(stream) and not _tqdm_disabled():
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, file=stream)
    return LogProgress(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        initial=initial,
        every_n=every_n,
        every_s=every_s,
        first=first,
        stream=stream,
    )


def bars_wanted(stream: IO[str] | None = None) -> bool:
    """Whether a progress bar may be drawn: ``HQSEG_PROGRESS`` is unset or ``auto``,
    ``TQDM_DISABLE`` is not set, and ``stream`` (default stderr) is a terminal."""
    mode = os.environ.get(ENV, "").strip().lower() or "auto"
    return mode == "auto" and _is_tty(stream or sys.stderr) and not _tqdm_disabled()


def quiet_library_bars() -> None:
    """Turn Hugging Face datasets' own bars ("Generating train split", "Loading dataset
    shards") off unless :func:`bars_wanted`: they would flood a ``dvc repro`` or CI log.
    Called before hqseg loads data through ``datasets``."""
    if bars_wanted():
        return
    import datasets

    datasets.disable_progress_bars()


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _tqdm_disabled() -> bool:
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


class _Silent:
    """Counts and yields, prints nothing (``HQSEG_PROGRESS=off``)."""

    def __init__(self, iterable=None, *, total=None, initial=0) -> None:
        self.iterable, self.total, self.n = iterable, total, initial

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable or ():
            yield item
            self.n += 1

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LogProgress(_Silent):
    """Plain log lines every ``every_n`` items or ``every_s`` seconds (see module doc)."""

    def __init__(
        self,
        iterable=None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        initial: int = 0,
        every_n: int | None = None,
        every_s: float = DEFAULT_EVERY_S,
        first: bool = False,
        stream: IO[str] | None = None,
        clock=time.monotonic,
    ) -> None:
        super().__init__(iterable, total=total, initial=initial)
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            self.total = len(iterable)  # type: ignore[arg-type]
        self.desc, self.unit = desc, unit
        self.every_n, self.every_s = every_n, float(every_s)
        self.stream = stream or sys.stderr
        self.clock = clock
        self.start = self.last_time = clock()
        self.start_n = self.last_n = initial
        self.postfix = ""
        self.first = first
        self.lines = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.every_s > 0:
            self._thread = threading.Thread(target=self._heartbeat, daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ tqdm-like API
    def __iter__(self) -> Iterator[Any]:
        # Like tqdm: each item counts through update(), and the end of the loop (or a
        # break/exception) closes the bar, so its heartbeat never outlives the work.
        try:
            for item in self.iterable or ():
                yield item
                self.update()
        finally:
            self.close()

    def update(self, n: int = 1) -> None:
        with self._lock:
            self.n += n
            due_n = self.every_n and self.n - self.last_n >= self.every_n
            due_s = self.every_s > 0 and self.clock() - self.last_time >= self.every_s
            if due_n or due_s or (self.first and self.lines == 0):
                self._emit()

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kw) -> None:
        values = {**(ordered_dict or {}), **kw}
        self.postfix = " ".join(f"{k}={_fmt(v)}" for k, v in values.items())

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
            self._thread = None
        with self._lock:
            if self.lines and self.n != self.last_n:
                self._emit()  # the final count, once anything was logged

    # ------------------------------------------------------------------ internals
    def _heartbeat(self) -> None:
        while not self._stop.wait(min(self.every_s, 1.0)):
            with self._lock:
                if self.clock() - self.last_time >= self.every_s:
                    self._emit()

    def line(self) -> str:
        """The status line as it would be printed now."""
        now = self.clock()
        elapsed = now - self.start
        done = self.n - self.start_n
        rate = done / elapsed if elapsed > 0 else 0.0
        count = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        parts = [f"{self.desc}: {count} {self.unit}" if self.desc else f"{count} {self.unit}"]
        if self.total:
            parts[0] += f" ({100.0 * self.n / self.total:.0f}%)"
        if self.postfix:
            parts[0] += f" {self.postfix}"
        parts.append(f"{rate:.3g} {self.unit}/s")
        parts.append(f"elapsed {_clock(elapsed)}")
        if self.total and rate > 0 and self.n < self.total:
            parts.append(f"ETA {_clock((self.total - self.n) / rate)}")
        return " | ".join(parts)

    def _emit(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # a closed stream at shutdown
            print(self.line(), file=self.stream, flush=True)
        self.lines += 1
        self.last_time, self.last_n = self.clock(), self.n


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
