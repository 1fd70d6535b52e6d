"""A uniform, read-only view of the members of a zip or tar archive.

:class:`Reader` lists members (:class:`Member`: name, kind, link target, declared and
compressed sizes) and copies one member's data to a file with a cap on the bytes
written; the rules of what to extract are :mod:`hqseg.data.extract`'s.
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hqseg.errors import DatasetError

# Errors reading one member's data: the member is corrupt, the archive index is fine.
MEMBER_DATA_ERRORS = (zlib.error, zipfile.BadZipFile, tarfile.TarError, EOFError)


@dataclass
class Member:
    """One archive entry as listed (``size``: its declared uncompressed bytes)."""

    name: str
    kind: str  # "file" | "dir" | "symlink" | "hardlink" | "special"
    link: str = ""
    size: int = 0
    packed: int = 0  # compressed size of a zip member (0: unknown, as in a tar)
    info: object = None  # the ZipInfo / TarInfo (names can repeat)


class OverLimit(Exception):
    """A member wrote more bytes than it may (its header understated its size)."""


class Reader:
    """A uniform view of zip and tar members; ``fileobj`` (an open zip) replaces ``path``."""

    def __init__(self, path: Path, fileobj=None):
        self.path = path
        try:
            if fileobj is not None:
                self._zip: zipfile.ZipFile | None = zipfile.ZipFile(fileobj)
                self._tar: tarfile.TarFile | None = None
            elif zipfile.is_zipfile(path):
                self._zip, self._tar = zipfile.ZipFile(path), None
            elif tarfile.is_tarfile(path):
                self._zip, self._tar = None, tarfile.open(path)  # noqa: SIM115 - closed by close()
            else:
                raise DatasetError(f"{path}: {not_archive_cause(path)}")
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, ValueError) as exc:
            raise DatasetError(
                f"{path}: cannot open archive (corrupt or truncated index): {exc}"
            ) from exc

    def members(self) -> Iterator[Member]:
        if self._zip is not None:
            for info in self._zip.infolist():
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    try:
                        link = self._zip.read(info).decode("utf-8", "replace")
                    except MEMBER_DATA_ERRORS:
                        link = ""  # unreadable target: rejected as a dangling link
                    yield Member(info.filename, "symlink", link, info=info)
                elif info.is_dir():
                    yield Member(info.filename, "dir", info=info)
                else:
                    yield Member(info.filename, "file", size=info.file_size,
                                  packed=info.compress_size, info=info)  # fmt: skip
        else:
            assert self._tar is not None
            for info in self._tar.getmembers():
                if info.issym():
                    yield Member(info.name, "symlink", info.linkname, info=info)
                elif info.islnk():
                    yield Member(info.name, "hardlink", info.linkname, info=info)
                elif info.isdir():
                    yield Member(info.name, "dir", info=info)
                elif info.isfile():
                    yield Member(info.name, "file", size=info.size, info=info)
                else:
                    yield Member(info.name, "special", info=info)

    def copy_to(self, member: Member, target: Path, cap: int) -> int:
        """Write the member's data to ``target`` (the exact member, even if its name
        repeats); return the bytes written.

        Raises:
            OverLimit: the data goes on beyond ``cap`` bytes (``target`` is kept, the
                caller deletes it).
        """
        if self._zip is not None:
            src = self._zip.open(member.info)
        else:
            assert self._tar is not None
            src = self._tar.extractfile(member.info)
            if src is None:
                raise tarfile.ExtractError(f"member {member.name} has no data")
        written = 0
        with src, open(target, "wb") as dst:
            while chunk := src.read(min(1 << 20, cap + 1 - written)):
                written += len(chunk)
                if written > cap:
                    raise OverLimit(f"more than {cap} bytes")
                dst.write(chunk)
        return written

    def close(self) -> None:
        (self._zip or self._tar).close()


def not_archive_cause(path: Path) -> str:
    """Why ``path`` is not a readable archive, as precisely as its first bytes tell."""
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        return (
            "is an HTML/XML page, not an archive (the link probably needs a login or a "
            "confirmation page; download it in a browser and pass it with --from)"
        )
    if head.startswith(b"pk"):
        return "zip archive without a readable central directory (truncated download?)"
    if not head:
        return "empty file, not an archive"
    return "not a zip or tar archive (corrupt or truncated?)"


__all__ = ["MEMBER_DATA_ERRORS", "Member", "OverLimit", "Reader", "not_archive_cause"]
