"""Safe extraction of zip and tar archives.

Rules, applied member by member (the rest of the archive is still extracted):
    * absolute paths, drive letters and ``..`` components: rejected (``unsafe-path``);
    * symbolic or hard links: rejected when their target leaves the destination
      (``link-outside``); links inside it are written as copies of their target;
    * devices, FIFOs and other special members: rejected (``special-file``);
    * a member whose data cannot be read back (corrupt compressed stream, CRC
      mismatch, truncated data): rejected (``corrupt-member``), nothing of it kept;
    * a name that is not valid UTF-8 (``bad-name``), too long for the file system
      (``name-too-long``), not representable on it (``bad-name``), or that clashes
      with another member (a file where a folder is needed, ``path-conflict``);
    * a name that appears more than once: the **last** copy is kept (as ``tar x``
      and ``unzip -o`` do) and each earlier copy is listed (``duplicate-name``);
    * junk (``__MACOSX/``, ``.DS_Store``, ``._*``, ``Thumbs.db``) is skipped silently;
    * an archive whose only content is another zip (``X.zip.zip``) is unwrapped.

Only whole-archive failures raise (not an archive, an HTML page, a truncated or
unreadable index): one :class:`DatasetError` naming the file and the cause. A full
or read-only disk is not a member problem and raises too.

Nothing is ever written outside ``dest``. Atomicity is the caller's job: extract into
a folder from :func:`hqseg.utils.outdir.output_dir`, so a failed archive leaves no
half-extracted folder.
"""

from __future__ import annotations

import errno
import posixpath
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hqseg.data.schema import Reject
from hqseg.errors import DatasetError
from hqseg.utils.progress import progress_bar

_JUNK = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db"})
# Errors reading one member's data: the member is corrupt, the archive index is fine.
_MEMBER_DATA_ERRORS = (zlib.error, zipfile.BadZipFile, tarfile.TarError, EOFError)
# Disk-level errors stop the whole extraction (they are not the member's fault).
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM})


@dataclass
class _Member:
    name: str
    kind: str  # "file" | "dir" | "symlink" | "hardlink" | "special"
    link: str = ""
    size: int = 0
    info: object = None  # the ZipInfo / TarInfo (names can repeat)


def is_archive(path: Path) -> bool:
    """True if ``path`` is a zip or tar file (by content, not by name)."""
    return path.is_file() and (zipfile.is_zipfile(path) or tarfile.is_tarfile(path))


def safe_relpath(name: str) -> str | None:
    """The normalised relative POSIX path of a member name, or None if it is unsafe."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _is_junk(rel: str) -> bool:
    return any(p in _JUNK or p.startswith("._") for p in rel.split("/"))


def _wanted(rel: str, members: Sequence[str]) -> bool:
    return not members or any(rel == m.rstrip("/") or rel.startswith(m) for m in members)


class _Reader:
    """A uniform view of zip and tar members."""

    def __init__(self, path: Path):
        self.path = path
        try:
            if zipfile.is_zipfile(path):
                self._zip: zipfile.ZipFile | None = zipfile.ZipFile(path)
                self._tar: tarfile.TarFile | None = None
            elif tarfile.is_tarfile(path):
                self._zip, self._tar = None, tarfile.open(path)  # noqa: SIM115 - closed by close()
            else:
                raise DatasetError(f"{path}: {_not_archive_cause(path)}")
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, ValueError) as exc:
            raise DatasetError(
                f"{path}: cannot open archive (corrupt or truncated index): {exc}"
            ) from exc

    def members(self) -> Iterator[_Member]:
        if self._zip is not None:
            for info in self._zip.infolist():
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    try:
                        link = self._zip.read(info).decode("utf-8", "replace")
                    except _MEMBER_DATA_ERRORS:
                        link = ""  # unreadable target: rejected as a dangling link
                    yield _Member(info.filename, "symlink", link, info=info)
                elif info.is_dir():
                    yield _Member(info.filename, "dir", info=info)
                else:
                    yield _Member(info.filename, "file", size=info.file_size, info=info)
        else:
            assert self._tar is not None
            for info in self._tar.getmembers():
                if info.issym():
                    yield _Member(info.name, "symlink", info.linkname, info=info)
                elif info.islnk():
                    yield _Member(info.name, "hardlink", info.linkname, info=info)
                elif info.isdir():
                    yield _Member(info.name, "dir", info=info)
                elif info.isfile():
                    yield _Member(info.name, "file", size=info.size, info=info)
                else:
                    yield _Member(info.name, "special", info=info)

    def copy_to(self, member: _Member, target: Path) -> None:
        """Write the member's data to ``target`` (the exact member, even if its name repeats)."""
        if self._zip is not None:
            src = self._zip.open(member.info)
        else:
            assert self._tar is not None
            src = self._tar.extractfile(member.info)
            if src is None:
                raise tarfile.ExtractError(f"member {member.name} has no data")
        with src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)

    def close(self) -> None:
        (self._zip or self._tar).close()


def safe_extract(
    archive: Path,
    dest: Path,
    *,
    members: Sequence[str] = (),
    progress: bool = True,
) -> list[Reject]:
    """Extract ``archive`` into ``dest`` safely; return the members refused, with reasons.

    Args:
        archive: a zip or tar(.gz/.bz2/.xz) file.
        dest: destination folder (created if needed).
        members: if given, only members under these prefixes (``"ecssd/"``) are extracted.
        progress: a bar over the members on a terminal, log lines elsewhere.

    Raises:
        DatasetError: the archive cannot be read (corrupt, truncated), naming it.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    rejects: list[Reject] = []
    links: list[tuple[str, str]] = []
    written: list[str] = []
    reader = _Reader(archive)
    try:
        try:
            listing = list(reader.members())
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
            raise DatasetError(f"{archive}: archive index is corrupt or truncated: {exc}") from exc
        last = _last_copies(listing)
        bar = progress_bar(listing, desc=f"extract {archive.name}", unit="file", bar=progress)
        for i, m in enumerate(bar):
            where = f"{archive.name}:{_printable(m.name)}"
            bad = _bad_name(m.name)
            if bad:
                rejects.append(Reject(where, "bad-name", bad))
                continue
            rel = safe_relpath(m.name)
            if rel is None:
                rejects.append(Reject(where, "unsafe-path", "absolute path or '..' in name"))
                continue
            if _is_junk(rel) or not _wanted(rel, members):
                continue
            if m.kind != "dir" and last.get(rel, i) != i:
                rejects.append(
                    Reject(
                        where,
                        "duplicate-name",
                        "name repeats; the last copy is kept",
                    )
                )
                continue
            try:
                target = dest / rel
                if not target.resolve().is_relative_to(root) or _through_link(dest, rel):
                    rejects.append(Reject(where, "unsafe-path", "resolves outside the destination"))
                    continue
                if m.kind == "dir":
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if m.kind == "file":
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        reader.copy_to(m, target)
                    except _MEMBER_DATA_ERRORS as exc:
                        target.unlink(missing_ok=True)
                        rejects.append(Reject(where, "corrupt-member", _describe(exc)))
                        continue
                    written.append(rel)
                    continue
            except OSError as exc:
                if exc.errno in _DISK_ERRNOS:
                    raise
                rejects.append(_os_reject(where, exc))
                continue
            if m.kind in ("symlink", "hardlink"):
                base = posixpath.dirname(rel) if m.kind == "symlink" else ""
                resolved = safe_relpath(posixpath.join(base, m.link))
                if m.link.startswith("/") or resolved is None:
                    rejects.append(Reject(where, "link-outside", f"link to {m.link!r} leaves dest"))
                else:
                    links.append((rel, resolved))
            else:
                rejects.append(
                    Reject(where, "special-file", "device, FIFO or socket member not extracted")
                )
    finally:
        reader.close()
    rejects += _materialise_links(archive.name, dest, links)
    if len(written) == 1 and written[0].lower().endswith(".zip") and not links:
        inner = dest / written[0]
        if zipfile.is_zipfile(inner):
            rejects += safe_extract(inner, dest, members=members, progress=progress)
            inner.unlink()
    return rejects


def _not_archive_cause(path: Path) -> str:
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


def _last_copies(listing: list[_Member]) -> dict[str, int]:
    """``{relative path: index of its last member}`` for names that repeat."""
    seen: dict[str, int] = {}
    for i, m in enumerate(listing):
        rel = safe_relpath(m.name) if not _bad_name(m.name) else None
        if rel is not None and m.kind != "dir":
            seen[rel] = i
    return seen


def _bad_name(name: str) -> str:
    """Why ``name`` cannot be a file name here ("" when it can)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "name is not valid UTF-8"
    if "\x00" in name:
        return "name holds a NUL byte"
    return ""


def _printable(name: str) -> str:
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, zlib.error):
        return f"corrupt compressed data ({exc})"
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc):
        return "CRC mismatch: the data read back is not what was stored"
    if isinstance(exc, EOFError):
        return "member data is truncated"
    return f"member data unreadable ({exc})"


def _os_reject(where: str, exc: OSError) -> Reject:
    """The reject for an OS error that only this member's name causes."""
    if exc.errno == errno.ENAMETOOLONG:
        return Reject(where, "name-too-long", "name too long for the file system")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return Reject(where, "path-conflict", f"clashes with another member ({exc.strerror})")
    return Reject(where, "bad-name", f"name not representable on the file system ({exc.strerror})")


def _through_link(dest: Path, rel: str) -> bool:
    """True if a parent folder of ``rel`` inside ``dest`` is a symlink (never follow one)."""
    cur = dest
    for part in rel.split("/")[:-1]:
        cur = cur / part
        if cur.is_symlink():
            return True
    return False


def _materialise_links(archive: str, dest: Path, links: list[tuple[str, str]]) -> list[Reject]:
    """Write each inside-pointing link as a copy of its target (never as a link)."""
    rejects = []
    for rel, target_rel in links:
        src = dest / target_rel
        if src.is_file() and not src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / rel)
        else:
            rejects.append(
                Reject(f"{archive}:{rel}", "link-dangling", f"link target {target_rel} not a file")
            )
    return rejects


def list_members(archive: Path) -> list[str]:
    """Member names of ``archive`` (for tests and diagnostics)."""
    reader = _Reader(Path(archive))
    try:
        return [m.name for m in reader.members()]
    finally:
        reader.close()


def open_member(archive: Path, name: str) -> bytes:
    """The bytes of one zip member (for tests and diagnostics)."""
    with zipfile.ZipFile(archive) as zf:
        return zf.read(name)


__all__ = ["safe_extract", "safe_relpath", "is_archive", "list_members", "open_member"]
