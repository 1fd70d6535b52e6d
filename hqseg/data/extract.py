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
    * an archive whose only content is another zip (``X.zip.zip``) is unwrapped, at
      most :data:`~hqseg.data.limits.MAX_NESTING` levels deep (``nested-archive``
      beyond);
    * a member larger than the member limit (``too-large``) or, in a zip, expanding
      more than the ratio limit (``compression-bomb``) is not extracted; an archive
      whose members add up to more than the archive limit, or expand more than the
      ratio limit together, is refused whole (:class:`~hqseg.data.limits.ExtractLimits`:
      the sizes an archive declares are checked before anything is written, and the
      bytes really written are capped too, in case a header lies).

Only whole-archive failures raise (not an archive, an HTML page, a truncated or
unreadable index): one :class:`DatasetError` naming the file and the cause. A full
or read-only disk is not a member problem and raises too.

Nothing is ever written outside ``dest``. Atomicity is the caller's job: extract into
a folder from :func:`hqseg.utils.outdir.output_dir`, so a failed archive leaves no
half-extracted folder.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import tarfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from hqseg.data.archive_reader import MEMBER_DATA_ERRORS, Member, OverLimit, Reader
from hqseg.data.limits import DEFAULT_EXTRACT_LIMITS, MAX_NESTING, Budget, ExtractLimits
from hqseg.data.schema import Reject
from hqseg.errors import DatasetError
from hqseg.utils.atomic import DISK_ERRNOS
from hqseg.utils.progress import progress_bar

_JUNK = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db"})


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


def safe_extract(
    archive: Path,
    dest: Path,
    *,
    members: Sequence[str] = (),
    progress: bool = True,
    limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
) -> list[Reject]:
    """Extract ``archive`` into ``dest`` safely; return the members refused, with reasons.

    Args:
        archive: a zip or tar(.gz/.bz2/.xz) file.
        dest: destination folder (created if needed).
        members: if given, only members under these prefixes (``"ecssd/"``) are extracted.
        progress: a bar over the members on a terminal, log lines elsewhere.
        limits: bytes and expansion ratio allowed (see :mod:`hqseg.data.limits`).

    Raises:
        DatasetError: the archive cannot be read (corrupt, truncated), or it expands
            beyond ``limits`` as a whole, naming it.
    """
    archive = Path(archive)
    budget = Budget(limits, archive.name)
    reader = Reader(archive)
    return _extract(reader, archive.stat().st_size, Path(dest), members, progress, budget, 0)


def _extract(
    reader: Reader,
    packed: int,
    dest: Path,
    members: Sequence[str],
    progress: bool,
    budget: Budget,
    depth: int,
) -> list[Reject]:
    """:func:`safe_extract` of an open reader (closed here) whose file has ``packed`` bytes."""
    name = reader.path.name
    dest.mkdir(parents=True, exist_ok=True)
    rejects: list[Reject] = []
    links: list[tuple[str, str]] = []
    written: list[str] = []
    try:
        try:
            listing = list(reader.members())
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
            raise DatasetError(f"{name}: archive index is corrupt or truncated: {exc}") from exc
        declared = sum(m.size for m in listing if m.kind == "file")
        too_big = budget.archive_problem(declared, packed)
        if too_big:
            raise DatasetError(f"{reader.path}: {too_big}")
        last = _last_copies(listing)
        bar = progress_bar(listing, desc=f"extract {name}", unit="file", bar=progress)
        for i, m in enumerate(bar):
            later = last.get(safe_relpath(m.name) or "", i) != i
            reject = _one_member(reader, m, later, dest, members, budget, links, written)
            if reject is not None:
                rejects.append(reject)
    finally:
        reader.close()
    rejects += _materialise_links(name, dest, links)
    if len(written) == 1 and written[0].lower().endswith(".zip") and not links:
        rejects += _unwrap(dest / written[0], f"{name}:{written[0]}", dest, members, progress,
                           budget, depth)  # fmt: skip
    return rejects


def _one_member(reader, m: Member, later: bool, dest: Path, members, budget: Budget,
                links: list, written: list) -> Reject | None:  # fmt: skip
    """Extract one member (files now, links noted in ``links``); its reject, or None.

    ``later``: a later member has the same name (this copy is a ``duplicate-name``).
    """
    where = f"{reader.path.name}:{_printable(m.name)}"
    bad = _bad_name(m.name)
    if bad:
        return Reject(where, "bad-name", bad)
    rel = safe_relpath(m.name)
    if rel is None:
        return Reject(where, "unsafe-path", "absolute path or '..' in name")
    if _is_junk(rel) or not _wanted(rel, members):
        return None
    if m.kind != "dir" and later:
        return Reject(where, "duplicate-name", "name repeats; the last copy is kept")
    try:
        target = dest / rel
        if not target.resolve().is_relative_to(dest.resolve()) or _through_link(dest, rel):
            return Reject(where, "unsafe-path", "resolves outside the destination")
        if m.kind == "dir":
            target.mkdir(parents=True, exist_ok=True)
            return None
        if m.kind == "file":
            return _copy_member(reader, m, where, target, rel, budget, written)
    except OSError as exc:
        if exc.errno in DISK_ERRNOS:  # not the member's fault: stop
            raise
        return _os_reject(where, exc)
    if m.kind in ("symlink", "hardlink"):
        base = posixpath.dirname(rel) if m.kind == "symlink" else ""
        resolved = safe_relpath(posixpath.join(base, m.link))
        if m.link.startswith("/") or resolved is None:
            return Reject(where, "link-outside", f"link to {m.link!r} leaves dest")
        links.append((rel, resolved))
        return None
    return Reject(where, "special-file", "device, FIFO or socket member not extracted")


def _copy_member(reader, m: Member, where: str, target: Path, rel: str, budget: Budget,
                 written: list) -> Reject | None:  # fmt: skip
    """Write one file member within the budget; its reject, or None."""
    problem = budget.member_problem(m.size, m.packed)
    if problem:
        return Reject(where, *problem)
    target.parent.mkdir(parents=True, exist_ok=True)
    cap = budget.cap()
    try:
        budget.written += reader.copy_to(m, target, cap)
    except MEMBER_DATA_ERRORS as exc:
        target.unlink(missing_ok=True)
        return Reject(where, "corrupt-member", _describe(exc))
    except OverLimit:
        target.unlink(missing_ok=True)
        if cap < budget.limits.member_bytes:  # the archive's allowance ran out
            raise DatasetError(
                f"{budget.archive}: expands beyond the limit of {budget.limits.archive_bytes} "
                "bytes (--max-archive-bytes raises it)"
            ) from None
        return Reject(where, "too-large", f"over the limit of {cap} bytes (--max-member-bytes)")
    written.append(rel)
    return None


def _unwrap(inner: Path, where: str, dest: Path, members, progress: bool, budget: Budget,
            depth: int) -> list[Reject]:  # fmt: skip
    """Extract the lone zip ``inner`` into ``dest`` (where it lies) and delete it.

    The file is opened and then deleted before its members are written, so a member of
    the same name (``a.zip`` in ``a.zip``) is a new file, not the one being read.
    """
    if not zipfile.is_zipfile(inner):
        return []
    if depth + 1 >= MAX_NESTING:
        inner.unlink()
        detail = f"a zip nested more than {MAX_NESTING} deep is not unwrapped"
        return [Reject(where, "nested-archive", detail)]
    with open(inner, "rb") as fh:
        packed = os.fstat(fh.fileno()).st_size
        inner.unlink()
        budget.written -= packed  # its bytes are gone again
        reader = Reader(inner, fileobj=fh)
        return _extract(reader, packed, dest, members, progress, budget, depth + 1)


def _last_copies(listing: list[Member]) -> dict[str, int]:
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
        src, where = dest / target_rel, f"{archive}:{rel}"
        if os.path.lexists(dest / rel):  # a folder or file of another member is there
            rejects.append(Reject(where, "path-conflict", "a link over another member"))
        elif src.is_file() and not src.is_symlink():
            try:
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest / rel)
            except OSError as exc:
                if exc.errno in DISK_ERRNOS:  # not the member's fault: stop
                    raise
                rejects.append(_os_reject(where, exc))
        else:
            rejects.append(
                Reject(f"{archive}:{rel}", "link-dangling", f"link target {target_rel} not a file")
            )
    return rejects


def list_members(archive: Path) -> list[str]:
    """Member names of ``archive`` (for tests and diagnostics)."""
    reader = Reader(Path(archive))
    try:
        return [m.name for m in reader.members()]
    finally:
        reader.close()


def open_member(archive: Path, name: str) -> bytes:
    """The bytes of one zip member (for tests and diagnostics)."""
    with zipfile.ZipFile(archive) as zf:
        return zf.read(name)


__all__ = ["safe_extract", "safe_relpath", "is_archive", "list_members", "open_member"]
