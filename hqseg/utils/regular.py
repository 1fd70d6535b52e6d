"""Read input files only when they are regular files, without ever blocking.

A FIFO named ``x.jpg`` blocks a plain ``open()`` until a writer appears (for ever, in a
build), and a character device such as ``/dev/zero`` never ends. Every input file is
therefore opened with ``O_NONBLOCK`` (which makes opening a FIFO return at once) and
checked with ``fstat`` on that very descriptor (no race with a rename) before one byte
is read; anything but a regular file raises :class:`NotRegularFile`.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path
from typing import BinaryIO

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotRegularFile(OSError):
    """The path exists but is a FIFO, socket, device or folder: never read.

    ``kind`` names what it is (``"a FIFO (named pipe)"``)."""

    def __init__(self, path: str | os.PathLike, kind: str) -> None:
        super().__init__(f"{path} is {kind}, not a regular file")
        self.kind = kind


def file_kind(mode: int) -> str:
    """``"a FIFO (named pipe)"`` etc. for an ``st_mode`` ("a regular file" for files)."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for binary reading if, and only if, it is a regular file.

    Symbolic links are followed (the file they name is checked).

    Raises:
        NotRegularFile: a FIFO, socket, device or folder (the message names the kind).
        OSError: the ordinary errors of ``open`` (missing, no permission).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, file_kind(mode))
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike) -> bytes:
    """The bytes of ``path``, a regular file (see :func:`open_regular`)."""
    with open_regular(path) as fh:
        return fh.read()


def is_regular(path: str | os.PathLike) -> bool:
    """True if ``path`` (links followed) is a regular file; never opens it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def read_text_regular(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """:func:`read_regular` decoded (``UnicodeDecodeError`` as ``str.decode`` raises it)."""
    return read_regular(Path(path)).decode(encoding)


__all__ = ["NotRegularFile", "file_kind", "is_regular", "open_regular", "read_regular",
           "read_text_regular"]  # fmt: skip
