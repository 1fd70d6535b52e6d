"""Fetch (or ingest), verify and extract one source into ``<raw-dir>/<source>/``.

Entry point: :func:`download_source`. For offline use and tests, the simplest path is::

    from hqseg.sample import write_sample
    from hqseg.data.download import download_source

    write_sample(tmp / "sample")                       # archives + SHA256SUMS
    download_source("ecssd", from_path=tmp / "sample", raw_dir=tmp / "raw")
    # -> tmp/raw/ecssd/ holds the extracted layout and .hqseg/download.json

Each archive comes from :mod:`hqseg.data.archives` (the user's file, the cache or a
resumable, checksum-verified download) and is extracted safely
(:mod:`hqseg.data.extract`) into a temporary folder that replaces ``<source>/`` as
one unit. A folder that already holds a source's extracted layout is copied instead.
"""

from __future__ import annotations

import functools
import json
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hqseg import __version__
from hqseg.data.archives import Log, discard, find_archive, obtain, promote
from hqseg.data.catalog import SOURCES, resolve_name
from hqseg.data.extract import safe_extract
from hqseg.data.limits import DEFAULT_EXTRACT_LIMITS, ExtractLimits
from hqseg.data.manifest import (  # noqa: F401 (re-exported: callers import them from here)
    MANIFEST,
    is_complete,
    manifest_rejects,
    read_manifest,
)
from hqseg.data.schema import Reject
from hqseg.errors import DatasetError
from hqseg.utils.atomic import write_json
from hqseg.utils.checksums import read_checksums
from hqseg.utils.outdir import output_dir
from hqseg.utils.regular import file_kind


def download_source(
    name: str,
    *,
    origin: str = "original",
    from_path: str | Path | None = None,
    raw_dir: str | Path = "data/raw",
    cache_dir: str | Path = "data/downloads",
    mirrors: Sequence[str] = (),
    checksums: str | Path | None = None,
    verify_checksums: bool = True,
    force: bool = False,
    retries: int = 3,
    progress: bool = True,
    log: Log = print,
    limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
) -> dict[str, Any]:
    """Fetch or ingest source ``name`` and extract it atomically into ``raw_dir/<name>``.

    Args:
        name: a source name or alias (``dis_vd`` -> ``dis5k``).
        origin: ``"original"`` releases or the HQ-SAM ``"repack"``.
        from_path: the user's archives (a file or folder) instead of downloading; a
            folder already holding the extracted layout is copied as is.
        raw_dir, cache_dir: where sources are extracted / archives are cached.
        mirrors: base URLs replacing the catalog addresses; archives fetched by file name.
        checksums: a SHA256SUMS file overriding/adding expected hashes.
        verify_checksums: False accepts a mismatching file (loud warning, recorded).
        force: redo even if a complete folder is there.
        limits: what an archive may expand to (:mod:`hqseg.data.limits`).

    Returns:
        The manifest written to ``raw_dir/<name>/.hqseg/download.json``.
    """
    name, note = resolve_name(name)
    if note:
        log(f"note: {note}; downloading {name}")
    entry = SOURCES[name]
    uses = entry.uses(origin)
    dest = Path(raw_dir) / name
    old = None if force else _complete(dest, origin, log)
    if old is not None:
        return old
    if dest.exists():
        log(f"{dest} is incomplete or of another origin; replacing it")
    from_path = Path(from_path) if from_path is not None else None
    sums = read_checksums(Path(checksums)) if checksums is not None else {}

    from hqseg.data.sources import get_source

    adapter = get_source(name)
    fetch = functools.partial(
        obtain,
        source=name,
        from_path=from_path,
        cache_dir=Path(cache_dir),
        mirrors=mirrors,
        sums=sums,
        strict=verify_checksums,
        retries=retries,
        progress=progress,
        log=_once(log),  # e.g. "using checksums from ..." once, not per archive
        force=force,
    )
    with output_dir(dest, "download", marker=".hqseg/output.json") as tmp:
        if from_path is not None and from_path.is_dir() and _is_layout(adapter, from_path, uses):
            log(f"ingesting the already-extracted folder {from_path}")
            records = []
            rejects = [Reject(r.path, r.reason, r.detail, name) for r in _copy_tree(from_path, tmp)]
        else:
            records, rejects = _extract_archives(uses, tmp, fetch, name, progress, limits)
        layout = _detect_layout(adapter, tmp, rejects)
        manifest = _manifest(name, origin, layout, from_path, records, rejects)
        write_json(tmp / MANIFEST, manifest)
    for r in rejects:
        log(f"rejected {r.path}: {r.reason} ({r.detail})")
    log(f"{name}: extracted to {dest} ({layout} layout, {len(rejects)} member(s) rejected)")
    return manifest


def _complete(dest: Path, origin: str, log: Log) -> dict[str, Any] | None:
    """The manifest of ``dest`` if it is a complete extraction of ``origin``, else None."""
    old = read_manifest(dest)
    if old and old.get("complete") and old.get("origin") == origin:
        log(f"{dest} is already complete ({origin}); nothing to do (use --force to redo)")
        return old
    return None


def _manifest(
    name: str, origin: str, layout: str, from_path: Path | None, records: list, rejects: list
) -> dict[str, Any]:
    """The content of ``.hqseg/download.json`` (the mark of a complete source)."""
    return {
        "source": name,
        "origin": origin,
        "layout": layout,
        "complete": True,
        "hqseg_version": __version__,
        "from_path": str(from_path) if from_path is not None else None,
        "sample": from_path is not None and is_sample_folder(from_path),
        "archives": records,
        "rejects": [r.__dict__ for r in rejects],
    }


def _extract_archives(
    uses, tmp: Path, fetch, name: str, progress: bool, limits: ExtractLimits
) -> tuple[list[dict], list[Reject]]:
    """Obtain each archive the source uses (``fetch(archive)``: a path and its record)
    and extract its members into ``tmp``; returns (archive records, rejects).

    A file that fails to extract is deleted from the cache (never the user's own).
    """
    records, rejects = [], []
    for use in uses:
        path, record = fetch(use.archive)
        try:
            extracted = safe_extract(
                path, tmp, members=use.members, progress=progress, limits=limits
            )
        except DatasetError as exc:
            discard(path, record)
            raise DatasetError(
                f"{exc}" + ("" if record["from"] == "user" else " (downloaded file deleted)")
            ) from exc
        promote(path, record)
        rejects += [Reject(r.path, r.reason, r.detail, name) for r in extracted]
        records.append(record | {"members": list(use.members)})
    return records, rejects


def _detect_layout(adapter, folder: Path, rejects: list[Reject]) -> str:
    """The source's layout in ``folder``; a failure names the members rejected on the way
    (a layout is often missing because its files were)."""
    try:
        return adapter.detect_layout(folder)
    except DatasetError as exc:
        if not rejects:
            raise
        reasons = sorted({r.reason for r in rejects})
        raise DatasetError(
            f"{exc}; {len(rejects)} member(s) were rejected while extracting ({', '.join(reasons)})"
        ) from exc


def _once(log: Log) -> Log:
    """``log`` that drops a line it has already printed."""
    seen: set[str] = set()

    def log_once(line: str) -> None:
        if line not in seen:
            seen.add(line)
            log(line)

    return log_once


def is_sample_folder(path: Path) -> bool:
    """True if ``path`` (a folder, or an archive in it or one level below) is the output
    of ``hqseg sample``: its ``manifest.json`` holds the sample's known truth."""
    path = Path(path)
    start = path if path.is_dir() else path.parent
    for folder in (start, start.parent, start.parent.parent):
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(manifest, dict) and {"adapter_pairs", "seed"} <= manifest.keys():
            return True
    return False


def _is_layout(adapter, folder: Path, uses) -> bool:
    """True if ``folder`` holds no needed archive but does hold the source's layout."""
    try:
        for use in uses:
            find_archive(folder, use.archive, adapter.name)
            return False
    except DatasetError:
        pass
    try:
        adapter.detect_layout(folder)
    except DatasetError:
        return False
    return True


def _copy_tree(src: Path, dst: Path) -> list[Reject]:
    """Copy an extracted folder, skipping junk; links leaving ``src`` are rejected, not
    followed, and FIFOs, sockets and devices (which would block or never end) are
    rejected (``special-file``) without being opened."""
    root = src.resolve()
    junk = shutil.ignore_patterns("__MACOSX", ".DS_Store", "._*", "Thumbs.db", ".hqseg")
    rejects: list[Reject] = []

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(junk(folder, names))
        for name in sorted(set(names) - skipped):
            path = Path(folder) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                rejects.append(Reject(str(path), "link-outside", "link leaves the folder"))
                skipped.add(name)
                continue
            try:
                mode = path.stat().st_mode
            except OSError as exc:  # a dangling link or an unreadable entry
                detail = f"cannot be read ({exc.strerror})"
                rejects.append(Reject(str(path), "link-dangling", detail))
                skipped.add(name)
                continue
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                rejects.append(Reject(str(path), "special-file", f"{file_kind(mode)}, not copied"))
                skipped.add(name)
        return skipped

    shutil.copytree(src, dst, symlinks=False, ignore=ignore, dirs_exist_ok=True)
    return rejects
