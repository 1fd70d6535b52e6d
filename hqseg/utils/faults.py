"""Fault-injection hooks: environment variables that make a process kill itself at a
chosen point, so tests can check what an interruption leaves behind.

Only tests set them; unset, every hook is a no-op. Every hook:

``HQSEG_FAULT_KILL_AT_RENAME=N`` (:data:`KILL_AT_RENAME`)
    SIGKILL just before the N-th rename through :mod:`hqseg.utils.atomic` in this
    process; ``N+``: just after it (tests/faults/test_kill_at_rename.py).
``HQSEG_TRAIN_KILL_AFTER_STEP=S`` (:data:`KILL_AFTER_STEP`)
    SIGKILL every training rank right after the checkpoint of step ``S``.
``HQSEG_TRAIN_KILL_AT=validation|export`` (:data:`KILL_AT`)
    SIGKILL training rank 0 inside the first validation after training started, or
    between the two export files.

Library modules call :func:`kill_point` at each place a hook names.
"""

from __future__ import annotations

import os
import signal

KILL_AT_RENAME = "HQSEG_FAULT_KILL_AT_RENAME"
KILL_AFTER_STEP = "HQSEG_TRAIN_KILL_AFTER_STEP"
KILL_AT = "HQSEG_TRAIN_KILL_AT"
HOOKS = (KILL_AT_RENAME, KILL_AFTER_STEP, KILL_AT)


def kill_point(hook: str, point: str) -> None:
    """SIGKILL this process (no clean-up, like a power cut) if the environment sets
    ``hook`` to ``point``; otherwise do nothing.

    Args:
        hook: one of :data:`HOOKS`.
        point: this place's name under the hook (``"3"``, ``"3+"``, ``"export"``).
    """
    if hook not in HOOKS:
        raise ValueError(f"unknown fault hook {hook!r}; known: {HOOKS}")
    if os.environ.get(hook) == point:
        os.kill(os.getpid(), signal.SIGKILL)
