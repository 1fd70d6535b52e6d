"""Output folders that a command owns: refuse what it did not create, replace what it did.

Every command that writes a whole folder (``build``, ``normalize``, ``download``,
``sample``, ``report``, ``eval hq``, ``eval coco``, ``eval coco-sample``) goes through
:func:`output_dir`; ``train``, whose run folder grows over the run and is resumed,
goes through :func:`owned_dir` (same checks and lock, written in place). The rule,
in one place:

* a missing or empty folder (a ``.gitignore`` alone counts as empty) is written;
* a folder holding the marker ``.hqseg-output.json`` of the *same* command is this
  command's earlier output and is replaced atomically (temp folder + rename), or
  written into (:func:`owned_dir`);
* a folder holding only names this command writes (``legacy``; outputs of versions
  that wrote no marker) is treated the same way;
* anything else (a user's folder, another command's output, ``.``, ``/``, a parent
  of the working folder) is refused with one line, before anything is touched.

The marker is JSON: ``{"command", "run_id", "files": {name: sha256}}``, the same
bytes for the same output (``run_id`` is a digest of ``files``, empty without them).
``files`` lists the top-level files with their hashes when ``manifest=True``, so a
reader can check with :func:`check_unit` that the files of a multi-file output came
from one run. ``.gitignore`` files (DVC writes them next to its outputs) are carried
over to the new folder.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hqseg.errors import HqsegError
from hqseg.utils.atomic import atomic_dir, locked_folder, remove_stale_temp_files, write_json

MARKER = ".hqseg-output.json"
_KEEP = (".gitignore",)


class OutputDirError(HqsegError):
    """An ``--out`` folder this command may not replace, or an output unit that is mixed."""


def _entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.name not in _KEEP)


def read_marker(path: str | os.PathLike, marker: str = MARKER) -> dict[str, Any] | None:
    """The marker of output folder ``path``, or None when it has none (or an unreadable one)."""
    try:
        data = json.loads((Path(path) / marker).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def check_replaceable(
    path: str | os.PathLike, command: str, legacy: Sequence[str] = (), marker: str = MARKER
) -> None:
    """Raise :class:`OutputDirError` unless ``path`` may be (re)written by ``command``.

    Args:
        path: the ``--out`` folder.
        command: the command name as the user types it (``"build"``, ``"eval hq"``).
        legacy: glob patterns of the names ``command`` writes, for outputs without a marker.
        marker: where the marker lives inside the folder (default :data:`MARKER`).
    """
    path = Path(path)
    where = path.resolve()
    cwd = Path.cwd().resolve()
    if where == Path(where.anchor) or where == cwd or where in cwd.parents:
        raise OutputDirError(
            f"--out {path}: refusing to replace "
            + ("the root folder" if where == Path(where.anchor) else "the working folder or above")
            + "; name a new folder"
        )
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise OutputDirError(f"--out {path}: exists and is not a folder; name a new folder")
    if not path.exists():
        return
    entries = _entries(path)
    if not entries:
        return
    found = read_marker(path, marker)
    if found is None and marker != MARKER:  # another command's output, marked the usual way
        found = read_marker(path)
    if found is not None:
        if found.get("command") == command:
            return
        raise OutputDirError(
            f"--out {path}: holds the output of `hqseg {found.get('command')}`, not of "
            f"`hqseg {command}`; name another folder"
        )
    if legacy and all(any(fnmatch.fnmatch(e, p) for p in legacy) for e in entries):
        return
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    raise OutputDirError(
        f"--out {path}: folder exists with files `hqseg {command}` did not write ({shown}); "
        "it is never replaced: remove it yourself or name a new folder"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def output_dir(
    path: str | os.PathLike,
    command: str,
    *,
    legacy: Sequence[str] = (),
    manifest: bool = False,
    marker: str = MARKER,
) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces ``path`` when the block succeeds.

    Checks ``path`` with :func:`check_replaceable` first (nothing is touched when it
    is refused), then writes through :func:`hqseg.utils.atomic.atomic_dir` (lock,
    cleanup of interrupted runs' temp folders, atomic swap) and adds the marker.

    Args:
        manifest: record each top-level file's sha256 in the marker (multi-file units).
        marker: the marker's path inside the folder (``download`` keeps it in ``.hqseg/``).

    Raises:
        OutputDirError: ``path`` is not this command's to replace.
    """
    path = Path(path)
    check_replaceable(path, command, legacy, marker)
    with atomic_dir(path) as tmp:
        # Re-check under the lock: another run may have written there meanwhile.
        check_replaceable(path, command, legacy, marker)
        yield tmp
        for name in _KEEP:
            if (path / name).is_file() and not (tmp / name).exists():
                shutil.copyfile(path / name, tmp / name)
        files = {}
        if manifest:
            files = {
                p.name: _sha256(p)
                for p in sorted(tmp.iterdir())
                if p.is_file() and p.name not in (MARKER, *_KEEP)
            }
        # Deterministic on purpose: the same output gives the same marker, byte for byte
        # (reruns and killed-then-rerun runs are compared file by file).
        unit = json.dumps(files, sort_keys=True).encode()
        content = {
            "command": command,
            "run_id": hashlib.sha256(unit).hexdigest()[:16] if files else "",
            "files": files,
        }
        (tmp / marker).parent.mkdir(parents=True, exist_ok=True)
        (tmp / marker).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


@contextlib.contextmanager
def owned_dir(
    path: str | os.PathLike,
    command: str,
    *,
    legacy: Sequence[str] = (),
    marker: str = MARKER,
) -> Iterator[Path]:
    """Hold ``path`` for ``command`` to write in place; yield it (created if missing).

    For outputs that grow while the command runs and are continued by a later run
    (``train``'s run folder: checkpoints, metric files, resume). Same refusals as
    :func:`output_dir` (checked before anything is touched, and again under the
    lock), the same lock for the whole block, and the marker (no file list) written
    first, so a killed run's folder is still recognised as this command's. The only
    files removed are the temp files (``.NAME.XXXX.tmp``) of atomic writes that a
    killed run left.

    Raises:
        OutputDirError: ``path`` is not this command's to write.
        LockedError: another run holds ``path``.
    """
    path = Path(path)
    check_replaceable(path, command, legacy, marker)
    with locked_folder(path):
        check_replaceable(path, command, legacy, marker)
        remove_stale_temp_files(path)
        if read_marker(path, marker) is None:
            write_json(path / marker, {"command": command, "run_id": "", "files": {}})
        yield path


def check_unit(path: str | os.PathLike, names: Sequence[str] | None = None) -> None:
    """Check that the files of output folder ``path`` were written by one run.

    A folder without a marker (written before markers existed) or whose marker lists
    no files passes. Otherwise every listed file that is present (restricted to
    ``names`` when given) must have the recorded sha256.

    Raises:
        OutputDirError: a file was replaced or changed after its run (a mix of runs).
    """
    path = Path(path)
    marker = read_marker(path)
    if not marker or not isinstance(marker.get("files"), dict):
        return
    for name, digest in marker["files"].items():
        if names is not None and name not in names:
            continue
        file = path / name
        if file.is_file() and _sha256(file) != digest:
            raise OutputDirError(
                f"{file}: does not belong with the other files of run {marker.get('run_id')} "
                f"in {path} (changed or written by another run); "
                f"rerun `hqseg {marker.get('command')}`"
            )
    ignored = {MARKER, *_KEEP, *marker["files"]}
    for file in sorted(path.iterdir()):
        if file.is_file() and file.name not in ignored and (names is None or file.name in names):
            raise OutputDirError(
                f"{file}: not part of run {marker.get('run_id')} in {path} "
                f"(written by another run); rerun `hqseg {marker.get('command')}`"
            )


__all__ = [
    "MARKER",
    "OutputDirError",
    "check_replaceable",
    "check_unit",
    "output_dir",
    "owned_dir",
    "read_marker",
]
