"""Keep a long run's resident memory near what it uses (glibc's heap).

glibc serves an allocation above its mmap threshold with its own ``mmap`` (given back
to the system on ``free``), and smaller ones from the heap, which it rarely gives
back. Its threshold is dynamic: each freed ``mmap`` chunk raises it to that chunk's
size, up to 32 MB. A training step allocates and frees many tensors of 1-32 MB (the
1024² frame, its float copies, the encoder's activations), so after the first step
they all come from the heap, and the heap keeps the high-water mark of every step
and validation resident: ~0.4 GB more per process for the test encoder.

:func:`return_freed_memory` fixes the threshold (which also stops its growth), so
tensors of 64 KiB and more are mapped and unmapped on their own. It changes where
memory comes from, never a value computed.
"""

from __future__ import annotations

import ctypes
import sys

_M_MMAP_THRESHOLD = -3  # mallopt parameter number (glibc malloc.h)
MMAP_THRESHOLD = 64 * 1024
"""Allocations of at least this many bytes get their own mapping (glibc's starting value
is 128 KiB; 64 KiB keeps the small tensors of the HQ decoder off the heap too)."""


def return_freed_memory() -> bool:
    """Make glibc give freed tensors' memory back at once; False where not glibc/Linux."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
