"""The run folder (``--out``) of ``hqseg train``: claimed by rank 0, refused alike on every rank.

The folder is written in place (checkpoints and metric files grow over the run and
``--resume`` continues them), through :func:`hqseg.utils.outdir.owned_dir`: a folder
with files ``train`` did not write, another command's output, ``.`` or ``/`` is
refused before anything is touched, and a lock keeps a second run out while this one
trains. The marker lives in ``checkpoints/`` (part of the stage's DVC output), so the
committed files beside it stay as they are; a top-level ``.hqseg-output.json`` of
``train`` counts as well (the committed ``runs/hq_sam/`` carries one, so that a fresh
clone without the DVC cache can train into it). A folder without the marker is taken only
when it holds no file (``dvc repro`` deletes the stage's outputs, marker included,
before it runs ``train``, and leaves empty folders); names never decide, so a
``summary.json`` of yours in a folder train did not create is never overwritten.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from hqseg.training import distributed as dist_utils
from hqseg.training.config import ConfigError
from hqseg.utils.outdir import MARKER, OutputDirError, check_replaceable, owned_dir

COMMAND = "train"
RUN_MARKER = f"checkpoints/{MARKER}"


def check_run_folder(path: str | Path) -> None:
    """Refuse, before any work, a run folder this run may not write (every rank alike:
    nothing has been written yet). :func:`claim_run_folder` checks again under the lock.

    Raises:
        ConfigError: ``path`` is a file.
        OutputDirError: ``path`` holds files ``train`` did not write, another command's
            output, or is ``.``, ``/`` or a parent of the working folder.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} is a file, not a run folder")
    check_replaceable(path, COMMAND, RUN_MARKER)


@contextlib.contextmanager
def claim_run_folder(path: str | Path, info: dist_utils.DistInfo) -> Iterator[Path]:
    """Hold run folder ``path`` for this run (rank 0 takes the lock and writes the
    marker); yield it. Collective: every rank calls it.

    Every rank raises the same one-line :class:`~hqseg.errors.HqsegError` when rank 0
    may not take the folder (the others learn it by a broadcast, so none waits forever).
    """
    path = Path(path)
    with contextlib.ExitStack() as stack:
        refusal: Exception | None = None
        if info.is_main:
            try:
                stack.enter_context(owned_dir(path, COMMAND, marker=RUN_MARKER))
            except Exception as exc:  # noqa: BLE001 - shared with the other ranks, then re-raised
                refusal = exc
        message = dist_utils.broadcast_object(str(refusal) if refusal else None, info)
        if refusal is not None:
            raise refusal
        if message is not None:
            raise OutputDirError(message)
        yield path
