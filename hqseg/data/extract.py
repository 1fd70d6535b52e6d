"""Safe extraction of zip and tar archives.

Rules, applied member by member (the rest of the archive is still extracted):
    * absolute paths, drive letters and ``..`` components: rejected (``unsafe-path``);
    * symbolic or hard links: rejected when their target leaves the destination
      (``link-outside``); links inside it are written as copies of their target;
    * devices, FIFOs and other special members: rejected (``special-file``);
    * junk (``__MACOSX/``, ``.DS_Store``, ``._*``, ``Thumbs.db``) is skipped silently;
    * an archive whose only content is another zip (``X.zip.zip``) is unwrapped.

Nothing is ever written outside ``dest``. Atomicity is the caller's job: extract into
a folder from :func:`hqseg.utils.atomic.atomic_dir`.
"""

from __future__ import annotations

import posixpath
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hqseg.data.schema import Reject
from hqseg.errors import DatasetError
from hqseg.utils.progress import progress_bar

_JUNK = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db"})


@dataclass
class _Member:
    name: str
    kind: str  # "file" | "dir" | "symlink" | "hardlink" | "special"
    link: str = ""
    size: int = 0


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
                raise DatasetError(f"{path}: not a zip or tar archive (corrupt or truncated?)")
        except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
            raise DatasetError(f"{path}: cannot open archive: {exc}") from exc

    def members(self) -> Iterator[_Member]:
        if self._zip is not None:
            for info in self._zip.infolist():
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    link = self._zip.read(info).decode("utf-8", "replace")
                    yield _Member(info.filename, "symlink", link)
                elif info.is_dir():
                    yield _Member(info.filename, "dir")
                else:
                    yield _Member(info.filename, "file", size=info.file_size)
        else:
            assert self._tar is not None
            for info in self._tar.getmembers():
                if info.issym():
                    yield _Member(info.name, "symlink", info.linkname)
                elif info.islnk():
                    yield _Member(info.name, "hardlink", info.linkname)
                elif info.isdir():
                    yield _Member(info.name, "dir")
                elif info.isfile():
                    yield _Member(info.name, "file", size=info.size)
                else:
                    yield _Member(info.name, "special")

    def copy_to(self, member: _Member, target: Path) -> None:
        if self._zip is not None:
            src = self._zip.open(member.name)
        else:
            assert self._tar is not None
            src = self._tar.extractfile(member.name)
            if src is None:
                raise DatasetError(f"{self.path}: member {member.name} has no data")
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
        listing = list(reader.members())
        bar = progress_bar(listing, desc=f"extract {archive.name}", unit="file", bar=progress)
        for m in bar:
            where = f"{archive.name}:{m.name}"
            rel = safe_relpath(m.name)
            if rel is None:
                rejects.append(Reject(where, "unsafe-path", "absolute path or '..' in name"))
                continue
            if _is_junk(rel) or not _wanted(rel, members):
                continue
            target = dest / rel
            if not target.resolve().is_relative_to(root) or _through_link(dest, rel):
                rejects.append(Reject(where, "unsafe-path", "resolves outside the destination"))
            elif m.kind == "dir":
                target.mkdir(parents=True, exist_ok=True)
            elif m.kind == "file":
                target.parent.mkdir(parents=True, exist_ok=True)
                reader.copy_to(m, target)
                written.append(rel)
            elif m.kind in ("symlink", "hardlink"):
                base = posixpath.dirname(rel) if m.kind == "symlink" else ""
                resolved = safe_relpath(posixpath.join(base, m.link))
                if m.link.startswith("/") or resolved is None:
                    rejects.append(Reject(where, "link-outside", f"link to {m.link!r} leaves dest"))
                else:
                    links.append((rel, resolved))
            else:
                rejects.append(Reject(where, "special-file", f"{m.kind} member not extracted"))
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise DatasetError(f"{archive}: archive is corrupt or truncated: {exc}") from exc
    finally:
        reader.close()
    rejects += _materialise_links(archive.name, dest, links)
    if len(written) == 1 and written[0].lower().endswith(".zip") and not links:
        inner = dest / written[0]
        if zipfile.is_zipfile(inner):
            rejects += safe_extract(inner, dest, members=members, progress=progress)
            inner.unlink()
    return rejects


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
