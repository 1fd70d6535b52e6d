"""Output folders that a command owns: refuse what it did not create, replace what it did.

Every command that writes a whole folder (``build``, ``normalize``, ``download``,
``sample``, ``report``, ``eval hq``, ``eval coco``, ``eval coco-sample``) goes through
:func:`output_dir`; ``train``, whose run folder grows over the run and is resumed,
goes through :func:`owned_dir` (same checks and lock, written in place). The rule,
in one place:

* a missing or empty folder is written ("empty": no file at all, only empty
  folders and a top-level ``.gitignore``: what ``dvc repro`` leaves of a stage's
  folder once it has deleted the stage's outputs);
* a folder holding the marker ``.hqseg-output.json`` of the *same* command is this
  command's earlier output and is replaced atomically (temp folder + rename), or
  written into (:func:`owned_dir`);
* anything else (a user's folder, even one holding only names this command writes;
  another command's output; ``.``, ``/``, a parent of the working folder) is refused
  with one line, before anything is touched. Names never decide: only the marker.

Single files (``export --out``, ``eval results --out``, ``build --stats-out``) follow
the same rule through :mod:`hqseg.utils.outfile`.

The marker is JSON: ``{"command", "run_id", "files": {name: sha256}}``, the same
bytes for the same output (``run_id`` is a digest of ``files``, empty without them).
``files`` lists the top-level files with their hashes when ``manifest=True``, so a
reader can check with :func:`check_unit` that the files of a multi-file output came
from one run. ``.gitignore`` files (DVC writes them next to its outputs) are carried
over to the new folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hqseg.errors import HqsegError
from hqseg.utils.atomic import (
    atomic_dir,
    disk_error,
    locked_folder,
    recover,
    remove_stale_temp_files,
    rename,
)
from hqseg.utils.checksums import sha256_file

MARKER = ".hqseg-output.json"
_KEEP = (".gitignore",)


class OutputDirError(HqsegError):
    """An ``--out`` folder this command may not replace, or an output unit that is mixed."""


def _entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.name not in _KEEP)


def _holds_no_file(path: Path) -> bool:
    """True if the folder tree ``path`` holds only folders (no file, link or other entry)."""
    for entry in path.iterdir():
        if entry.is_symlink() or not entry.is_dir() or not _holds_no_file(entry):
            return False
    return True


def is_empty(path: str | os.PathLike) -> bool:
    """True if folder ``path`` holds nothing a user could lose: no file anywhere below
    it, only empty folders and a top-level ``.gitignore`` (kept on replacement)."""
    path = Path(path)
    for entry in path.iterdir():
        if entry.name in _KEEP and entry.is_file() and not entry.is_symlink():
            continue
        if entry.is_symlink() or not entry.is_dir() or not _holds_no_file(entry):
            return False
    return True


def read_marker(path: str | os.PathLike, marker: str = MARKER) -> dict[str, Any] | None:
    """The marker of output folder ``path``, or None when it has none (or an unreadable one)."""
    try:
        data = json.loads((Path(path) / marker).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def check_replaceable(path: str | os.PathLike, command: str, marker: str = MARKER) -> None:
    """Raise :class:`OutputDirError` unless ``path`` may be (re)written by ``command``:
    absent, empty (:func:`is_empty`) or holding ``command``'s marker.

    Args:
        path: the ``--out`` folder.
        command: the command name as the user types it (``"build"``, ``"eval hq"``).
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
    if not path.exists() or is_empty(path):
        return
    entries = _entries(path)
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
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    raise OutputDirError(
        f"--out {path}: folder exists with files `hqseg {command}` did not write ({shown}; "
        f"no {marker} of this command); it is never replaced: remove it yourself or name "
        "a new folder"
    )


@contextlib.contextmanager
def output_dir(
    path: str | os.PathLike,
    command: str,
    *,
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
    check_replaceable(path, command, marker)
    with atomic_dir(path) as tmp:
        # Re-check under the lock: another run may have written there meanwhile.
        check_replaceable(path, command, marker)
        yield tmp
        for name in _KEEP:
            if (path / name).is_file() and not (tmp / name).exists():
                shutil.copyfile(path / name, tmp / name)
        files = {}
        if manifest:
            files = {
                p.name: sha256_file(p)
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
    marker: str = MARKER,
) -> Iterator[Path]:
    """Hold ``path`` for ``command`` to write in place; yield it (created if missing).

    For outputs that grow while the command runs and are continued by a later run
    (``train``'s run folder: checkpoints, metric files, resume). Same refusals as
    :func:`output_dir` (checked before anything is touched, and again under the
    lock), the same lock for the whole block, and the marker (no file list) written
    first (through a temp file beside ``path``, recorded in the lock's journal: a kill
    leaves ``path`` empty or marked), so a killed run's folder is still recognised as
    this command's. The only files removed are the temp files (``.NAME.XXXX.tmp``) of
    atomic writes that a killed run left inside the marked folder.

    Raises:
        OutputDirError: ``path`` is not this command's to write.
        LockedError: another run holds ``path``.
    """
    path = Path(path)
    check_replaceable(path, command, marker)
    with locked_folder(path) as journal:
        check_replaceable(path, command, marker)
        recover(journal)
        if read_marker(path, marker) is None:
            _mark_in_place(path, command, marker, journal.new_name("tmp"))
        remove_stale_temp_files(path)
        yield path


def _mark_in_place(path: Path, command: str, marker: str, tmp: Path) -> None:
    """Write ``command``'s marker (no file list) into ``path`` through ``tmp``, a
    journal-recorded sibling of ``path``, so that no unmarked file is ever inside it."""
    content = json.dumps({"command": command, "run_id": "", "files": {}}, indent=2) + "\n"
    try:
        (path / marker).parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        rename(tmp, path / marker)
    except OSError as exc:
        raise (disk_error(exc, path) or exc) from exc


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
        if file.is_file() and sha256_file(file) != digest:
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
    "is_empty",
    "output_dir",
    "owned_dir",
    "read_marker",
]
