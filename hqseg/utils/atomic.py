"""Atomic file and folder writes.

Every output that a later run may trust is written under a temporary name in the
same folder and renamed into place only once complete, so an interrupted run
leaves either the old output or the new one, never a half-written one.

Folders are written under a lock (``.NAME.lock`` beside them, removed afterwards):
a second run into the same folder stops with one line instead of mixing outputs.
The lock file is also the journal of the temporary and set-aside names
(``.NAME.tmp-<16 hex>``, ``.NAME.old-<16 hex>``) that the run creates beside
``NAME``: each is recorded before it is created, so the next run, after a kill,
removes (or puts back) exactly those and nothing else; a sibling that merely looks
like one (``.NAME.old-a``) is never touched. A lock file that does not start with
the journal's header is a user's file: refused, never overwritten.
A full, read-only or forbidden disk is one line naming the path
(:class:`WriteError`), never a traceback.

Every rename goes through one seam, :func:`_replace`, the fault-injection point
:data:`~hqseg.utils.faults.KILL_AT_RENAME` (see :mod:`hqseg.utils.faults`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from hqseg.errors import HqsegError
from hqseg.utils.faults import KILL_AT_RENAME, kill_point

DISK_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG}
)
"""Disk-level write failures (full, over quota, over the file-size limit, read-only, not
permitted): one line naming the path (:func:`disk_error`), never a per-file reject."""
_renames = 0


class WriteError(HqsegError):
    """An output could not be written: disk full, read-only, or no permission."""


class LockedError(HqsegError):
    """Another run is writing the same output folder."""


def disk_error(exc: OSError, path: str | os.PathLike) -> WriteError | None:
    """The one-line error for a disk-level write failure, or None for other OSErrors."""
    if exc.errno not in DISK_ERRNOS:
        return None
    where = exc.filename or path
    return WriteError(f"cannot write {where}: {exc.strerror or exc}")


def _write_error(exc: OSError, path: str | os.PathLike) -> WriteError:
    """The one-line error for any OSError while preparing an output (a parent that is a
    file, a lock name taken by a folder, a full disk)."""
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        return WriteError(f"cannot write {path}: {exc.filename or path} is not a folder")
    return disk_error(exc, path) or WriteError(
        f"cannot write {exc.filename or path}: {exc.strerror or exc}"
    )


def _replace(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """``os.replace`` through the fault-injection point :data:`~hqseg.utils.faults.KILL_AT_RENAME`
    (``N``: before this process's N-th rename, ``N+``: after it)."""
    global _renames
    _renames += 1
    kill_point(KILL_AT_RENAME, str(_renames))
    os.replace(src, dst)
    kill_point(KILL_AT_RENAME, f"{_renames}+")


def rename(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """An atomic rename for the other output modules (through the seam, looked up at
    call time so that tests tracing ``_replace`` see every rename)."""
    _replace(src, dst)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_TMP_SUFFIX = ".tmp"  # atomic_file's temp files: .NAME.XXXX.tmp beside NAME


def remove_stale_temp_files(folder: str | os.PathLike) -> None:
    """Delete, anywhere under ``folder``, the temp files of :func:`atomic_file` writes
    that a killed process left (call it only while holding the folder's lock)."""
    for stale in Path(folder).rglob(f".*{_TMP_SUFFIX}"):
        if stale.is_file():
            stale.unlink()


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise (disk_error(exc, path) or exc) from exc
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; outputs get normal permissions
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and disk_error(exc, path):
            raise disk_error(exc, path) from exc
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_file(path, "wb") as fh:
        fh.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path``."""
    with atomic_file(path, "w") as fh:
        fh.write(text)


def write_json(path: str | os.PathLike, obj: Any, *, indent: int = 2) -> None:
    """Atomically write ``obj`` as JSON (keys kept in insertion order)."""
    write_text(path, json.dumps(obj, indent=indent, default=str) + "\n")


_JOURNAL = b"hqseg-lock 1\n"  # first line of a lock file: the journal of temp names


class Journal:
    """The temporary and set-aside names a run creates beside output ``path``, kept in
    the lock file (one per line after :data:`_JOURNAL`), so that only those are ever
    removed by a later run. Use :meth:`new_name` to get (and record) one."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd, self.path = fd, path
        self._pattern = re.compile(rf"\.{re.escape(path.name)}\.(tmp|old)-[0-9a-f]{{16}}")

    def names(self) -> list[str]:
        """The recorded names, oldest first (only well-formed ones of this ``path``)."""
        size = os.fstat(self._fd).st_size
        lines = os.pread(self._fd, size, 0).decode("utf-8", "replace").splitlines()[1:]
        return [n for n in lines if self._pattern.fullmatch(n)]

    def new_name(self, kind: str) -> Path:
        """A fresh ``.NAME.<kind>-<16 hex>`` sibling of ``path`` (not created), recorded first."""
        while True:
            name = self.path.with_name(f".{self.path.name}.{kind}-{secrets.token_hex(8)}")
            if not os.path.lexists(name):
                break
        os.lseek(self._fd, 0, os.SEEK_END)
        os.write(self._fd, f"{name.name}\n".encode())
        os.fsync(self._fd)
        return name

    def reset(self) -> None:
        """Forget the recorded names (after they were dealt with)."""
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, _JOURNAL, 0)
        os.fsync(self._fd)


def _claim_lock_file(fd: int, lock: Path) -> None:
    """Write the journal header into a new lock file; refuse a file that is not ours."""
    head = os.pread(fd, len(_JOURNAL), 0)
    if head == _JOURNAL:
        return
    if os.fstat(fd).st_size:
        raise LockedError(
            f"{lock}: exists and is not an hqseg lock file; it is never overwritten: "
            "remove it yourself or choose another --out"
        )
    os.pwrite(fd, _JOURNAL, 0)


@contextlib.contextmanager
def folder_lock(path: str | os.PathLike) -> Iterator[Journal]:
    """Hold an exclusive lock on output ``path`` (``.NAME.lock`` beside it); yield its
    :class:`Journal`.

    Raises:
        LockedError: another process holds it (no waiting: two runs into one
            output are a mistake to report, not to queue), or ``.NAME.lock`` is a
            file that hqseg did not write.
    """
    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666 & ~_umask())
        except OSError as exc:
            raise _write_error(exc, lock) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(
                f"{path}: another hqseg run is writing this folder (lock {lock.name}); "
                "wait for it to finish or choose another --out"
            ) from None
        try:  # the holder before us may have removed the file we opened: retry on the new one
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        _claim_lock_file(fd, lock)
    except BaseException:
        os.close(fd)
        raise
    try:
        yield Journal(fd, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


@contextlib.contextmanager
def locked_folder(path: str | os.PathLike) -> Iterator[Journal]:
    """Create ``path``'s parent if needed, then hold ``path``'s :func:`folder_lock`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(exc, path.parent) from exc
    with folder_lock(path) as journal:
        yield journal


def recover(journal: Journal) -> None:
    """Clean up after runs that were killed while writing ``journal.path`` (lock held).

    Only names in the journal are touched: a killed swap can leave the previous
    output set aside (``.NAME.old-*``) with ``NAME`` missing: it is put back; the
    other recorded temp and set-aside folders or files are removed.
    """
    path = journal.path
    stale = [path.parent / n for n in journal.names()]
    olds = [p for p in stale if ".old-" in p.name and p.is_dir() and not p.is_symlink()]
    if olds and not os.path.lexists(path):
        _replace(olds[-1], path)
    for p in stale:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif os.path.lexists(p):
            p.unlink()
    journal.reset()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces ``path`` when the block succeeds.

    The temporary folder is a hidden sibling (``.NAME.tmp-XXXX``), so it is on the
    same filesystem and the final rename is atomic. A previous ``path`` is removed
    only after the new content is complete. On failure the temporary folder is
    deleted and ``path`` keeps its previous content.
    """
    path = Path(path)
    with locked_folder(path) as journal:
        recover(journal)
        tmp = journal.new_name("tmp")
        try:
            os.mkdir(tmp, 0o777)  # the umask applies
        except OSError as exc:
            raise (disk_error(exc, path) or exc) from exc
        try:
            yield tmp
            old = None
            if path.exists():
                old = journal.new_name("old")
                _replace(path, old)
            _replace(tmp, path)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, OSError) and disk_error(exc, path):
                raise disk_error(exc, path) from exc
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
