"""Single-file outputs that a command owns: overwrite only what it wrote (or with ``--force``).

``export --out``, ``eval results --out`` and ``build --stats-out`` write one file, not a
folder, so the marker cannot live inside it. It lives beside it instead: the sidecar
``.NAME.hqseg-output.json`` records the command and the sha256 of the file it wrote::

    {"command": "export", "sha256": ["<digest of NAME>"]}

The rule (the folder rule of :mod:`hqseg.utils.outdir`, for one file):

* a missing or empty (0-byte) file is written;
* a file whose sidecar names the *same* command and whose content has a recorded
  digest is this command's earlier output and is replaced;
* anything else (a user's ``thesis.txt``, a file edited after the run, another
  command's output, a folder or a link) is refused with one line, before anything is
  touched, unless ``force`` is given (a folder or a link is refused even then).

A write is one atomic rename, under the lock ``.NAME.lock``: the new file is written to
a temp name recorded in the lock's journal (a kill leaves nothing else behind: the next
run removes exactly that name), the sidecar is then updated to list both the previous
and the new digest, the file is renamed into place, and the sidecar is rewritten with
the new digest alone. A kill at any point leaves a file whose digest the sidecar lists,
so the rerun replaces it without ``--force`` (but for a killed ``--force`` over a file
that was not ours: that file stays refused until ``--force`` is given again).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hqseg.utils.atomic import Journal, disk_error, locked_folder, recover, rename
from hqseg.utils.checksums import sha256_file
from hqseg.utils.outdir import OutputDirError


def sidecar(path: str | os.PathLike) -> Path:
    """The marker file of single-file output ``path``: ``.NAME.hqseg-output.json`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.hqseg-output.json")


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("sha256"), list) else None


def owns(path: str | os.PathLike, command: str) -> bool:
    """True if regular file ``path`` is, unchanged, the output of ``command``."""
    path = Path(path)
    mark = _read_sidecar(path)
    return bool(mark) and mark.get("command") == command and sha256_file(path) in mark["sha256"]


def check_file_replaceable(
    path: str | os.PathLike, command: str, *, force: bool = False, option: str = "--out"
) -> None:
    """Raise :class:`OutputDirError` unless ``command`` may write file ``path`` (module rule).

    Args:
        option: the option that named ``path``, for the message (``--stats-out``).
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise OutputDirError(f"{option} {path}: exists and is not a regular file; name a new file")
    if force or not path.exists() or path.stat().st_size == 0 or owns(path, command):
        return
    mark = _read_sidecar(path)
    other = mark.get("command") if mark else None
    why = (
        f"holds the output of `hqseg {other}`"
        if other and other != command
        else f"exists and was not written by `hqseg {command}` (or changed since)"
    )
    hint = "; pass --force to overwrite it" if option == "--out" else ""
    raise OutputDirError(f"{option} {path}: {why}; it is never overwritten{hint}: name a new file")


def _write_sidecar(journal: Journal, path: Path, command: str, digests: list[str]) -> None:
    tmp = journal.new_name("tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"command": command, "sha256": digests}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    rename(tmp, sidecar(path))


@contextlib.contextmanager
def owned_file(
    path: str | os.PathLike, command: str, *, force: bool = False, option: str = "--out"
) -> Iterator[Path]:
    """Yield a temp path to write ``path``'s new content to; it replaces ``path`` on success.

    Checked with :func:`check_file_replaceable` before and again under the lock. The
    caller writes the yielded path (it does not exist yet); on an exception it is removed
    and ``path`` keeps its previous content.

    Raises:
        OutputDirError: ``path`` is not this command's to overwrite.
        LockedError: another run is writing ``path``.
    """
    path = Path(path)
    check_file_replaceable(path, command, force=force, option=option)
    with locked_folder(path) as journal:
        check_file_replaceable(path, command, force=force, option=option)
        recover(journal)
        tmp = journal.new_name("tmp")
        try:
            yield tmp
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            new = sha256_file(tmp)
            previous = [sha256_file(path)] if path.is_file() and owns(path, command) else []
            _write_sidecar(journal, path, command, [new, *previous])
            rename(tmp, path)
            _write_sidecar(journal, path, command, [new])
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            if isinstance(exc, OSError) and disk_error(exc, path):
                raise disk_error(exc, path) from exc
            raise


def write_owned_json(
    path: str | os.PathLike, obj: Any, command: str, *, force: bool = False, option: str = "--out"
) -> None:
    """Write ``obj`` as indented JSON to ``path`` through :func:`owned_file`."""
    with owned_file(path, command, force=force, option=option) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")


__all__ = ["check_file_replaceable", "owned_file", "owns", "sidecar", "write_owned_json"]
