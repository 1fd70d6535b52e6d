"""glibc's heap policy, process-wide: give freed memory back, or keep it for reuse.

Two opposite settings for two kinds of process. A long training run wants its resident
memory near what it uses (:func:`return_freed_memory`); a decoding worker, which frees
and reallocates blocks of one size after another, wants them reused in place
(:func:`keep_freed_memory`). Neither changes a value computed. Separately, every
``hqseg`` process lets torch back its large tensors with huge pages
(:func:`use_huge_pages`).

Giving back: glibc serves an allocation above its mmap threshold with its own ``mmap`` (given back
to the system on ``free``), and smaller ones from the heap, which it rarely gives
back. Its threshold is dynamic: each freed ``mmap`` chunk raises it to that chunk's
size, up to 32 MB. A training step allocates and frees many tensors of 1-32 MB (the
1024² frame, its float copies, the encoder's activations), so after the first step
they all come from the heap, and the heap keeps the high-water mark of every step
and validation resident: ~0.4 GB more per process for the test encoder.

:func:`return_freed_memory` fixes the threshold (which also stops its growth), so
tensors of 64 KiB and more are mapped and unmapped on their own, at a cost in page
faults (the kernel's time) that buys the memory.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers (glibc malloc.h)
_HEAP_BYTES = 1 << 30
_OLD_GLIBC_MMAP_MAX = 32 << 20  # the largest threshold some glibc versions accept
MMAP_THRESHOLD = 64 * 1024
"""Allocations of at least this many bytes get their own mapping (glibc's starting value
is 128 KiB; 64 KiB keeps the small tensors of the HQ decoder off the heap too)."""


def _mallopt():
    """glibc's ``mallopt``, or None (not Linux, or another C library: musl has none)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None


def return_freed_memory() -> bool:
    """Make glibc give freed tensors' memory back at once; False where not glibc/Linux."""
    mallopt = _mallopt()
    return mallopt is not None and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def keep_freed_memory() -> bool:
    """Serve large blocks from the heap and do not give freed heap back (glibc only;
    False elsewhere, where the C library keeps its own policy).

    glibc serves a big block by ``mmap``: freeing it unmaps its pages, and the next
    block of that size is faulted in and zeroed afresh (7 ms of a 2.4k image pair's 50 ms
    decode; for tensors, a third of a small model's CPU time goes to the kernel). On the
    heap a freed block is reused as it is. Memory stays bounded by the most held at once
    (freed heap is reused, not grown).
    """
    mallopt = _mallopt()
    if mallopt is None:
        return False
    if not mallopt(_M_MMAP_THRESHOLD, _HEAP_BYTES):
        mallopt(_M_MMAP_THRESHOLD, _OLD_GLIBC_MMAP_MAX)
    return bool(mallopt(_M_TRIM_THRESHOLD, _HEAP_BYTES))


THP_ENV = "THP_MEM_ALLOC_ENABLE"
"""torch's switch (read once, at its first CPU allocation) for huge-page tensor memory."""


def use_huge_pages() -> bool:
    """Let torch's CPU allocator back tensors of 2 MiB and more with transparent huge pages
    (``THP_MEM_ALLOC_ENABLE=1``: 2 MiB-aligned blocks advised ``MADV_HUGEPAGE``), unless
    the variable is set already (``=0`` keeps 4 KiB pages). Linux only; False elsewhere.

    A fresh 1024² frame, embedding or attention map is then faulted in 2 MiB at a time,
    not 4 KiB: the embedded training (20 test_vit steps, CPU) took 85.8 s instead of
    97.9 s, the kernel's share 32 s instead of 55 s, with the same checkpoint bytes and the
    same peak memory. Set in the environment, so torchrun ranks and loader workers inherit
    it; it must come before torch's first allocation (the ``hqseg`` entry point).
    """
    if not sys.platform.startswith("linux"):
        return False
    os.environ.setdefault(THP_ENV, "1")
    return True
