"""Fetch (or ingest), verify and extract one source into ``<raw-dir>/<source>/``.

Entry point: :func:`download_source`. For offline use and tests, the simplest path is::

    from hqseg.sample import write_sample
    from hqseg.data.download import download_source

    write_sample(tmp / "sample")                       # archives + SHA256SUMS
    download_source("ecssd", from_path=tmp / "sample", raw_dir=tmp / "raw")
    # -> tmp/raw/ecssd/ holds the extracted layout and .hqseg/download.json

Downloads go through gdown (Google Drive ids and plain HTTP(S), Hub files included):
it retries, resumes a partial file with an HTTP Range request and shows a progress
bar. Partial files live in ``<cache-dir>/.incoming/``. A downloaded archive is moved
to ``<cache-dir>/<archive>`` only once it is verified (or has no known hash) **and**
extracted without a whole-archive failure, so shared repack bundles are fetched once
and a bad file is never reused: a cached file that fails verification is deleted and
fetched again, one that fails extraction is deleted. ``force=True`` ignores the
cache and any partial file. A server that refuses Range requests (200 instead of
206, or 416) makes the partial file restart from zero.

Checksums: an expected sha256 comes from a ``--checksums`` file (``SHA256SUMS``
format; a ``SHA256SUMS`` in the folder of a ``--from`` archive, or the one above, is
used automatically) or from the catalog. A mismatch raises :class:`ChecksumError`
naming the file and both hashes, and a downloaded file is deleted; ``verify=False``
accepts it with a warning.
Where no hash is known the computed one is recorded in the manifest.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hqseg import __version__
from hqseg.data.catalog import ARCHIVES, SOURCES, Archive, archive_file_name, resolve_name
from hqseg.data.extract import safe_extract
from hqseg.data.manifest import (  # noqa: F401 (re-exported: callers import them from here)
    MANIFEST,
    is_complete,
    manifest_rejects,
    read_manifest,
)
from hqseg.data.schema import Reject
from hqseg.errors import ChecksumError, DatasetError, HqsegError
from hqseg.utils.atomic import write_json
from hqseg.utils.checksums import read_checksums, sha256_file
from hqseg.utils.outdir import output_dir

SUMS_NAME = "SHA256SUMS"
Log = Callable[[str], None]


def _lookup(sums: dict[str, str], key: str, source: str) -> str:
    name = archive_file_name(key)
    for candidate in (key, f"{source}/{name}", name):
        if candidate in sums:
            return sums[candidate]
    by_base = {v for k, v in sums.items() if k.rsplit("/", 1)[-1] == name}
    return by_base.pop() if len(by_base) == 1 else ""


def verify(
    path: Path,
    key: str,
    *,
    source: str,
    sums: dict[str, str],
    strict: bool = True,
    delete_on_mismatch: bool = False,
    log: Log = print,
) -> dict[str, Any]:
    """Hash ``path`` and compare with the expected sha256 of archive ``key``.

    Returns:
        ``{"sha256_expected", "sha256_computed", "verified", "checksum_from"}``;
        ``verified`` is True (match), False (mismatch accepted with ``strict=False``)
        or None (nothing known: the computed hash is recorded).

    Raises:
        ChecksumError: mismatch with ``strict``; the file is deleted first when
            ``delete_on_mismatch`` (a download), never for a user's own file.
    """
    archive = ARCHIVES[key]
    expected, origin = _lookup(sums, key, source), "checksums-file"
    if not expected:
        expected, origin = archive.sha256, "catalog"
    computed = sha256_file(path)
    record = {"sha256_expected": expected or None, "sha256_computed": computed}
    if expected:
        ok = computed == expected
        if not ok and strict:
            if delete_on_mismatch:
                path.unlink(missing_ok=True)
            raise ChecksumError(
                f"{path}: sha256 mismatch for {archive.name}: expected {expected}, "
                f"computed {computed}"
                + (" (file deleted)" if delete_on_mismatch else "")
                + "; --no-verify accepts it anyway"
            )
        if not ok:
            log(
                f"WARNING: {path}: sha256 MISMATCH accepted because of --no-verify "
                f"(expected {expected}, computed {computed}); recorded in the manifest"
            )
        return {**record, "verified": ok, "checksum_from": origin}
    if computed in archive.alt_sha256:
        return {**record, "verified": True, "checksum_from": "catalog (unofficial or mirror hash)"}
    log(f"note: no published sha256 for {archive.name}; recorded computed {computed}")
    return {**record, "verified": None, "checksum_from": None}


def archive_urls(archive: Archive, mirrors: Sequence[str]) -> list[tuple[str, str]]:
    """Candidate ``(kind, address)`` pairs: the mirrors (by file name) if any are given,
    which replace the catalog's addresses, else the catalog's Drive id and URLs."""
    name = archive_file_name(archive.name)
    out = [("url", m.rstrip("/") + "/" + name) for m in mirrors]
    if out:
        return out
    if archive.gdrive_id:
        out.append(("gdrive", archive.gdrive_id))
    out += [("url", u) for u in archive.urls]
    return out


def fetch(
    key: str,
    cache_dir: Path,
    *,
    mirrors: Sequence[str] = (),
    retries: int = 3,
    progress: bool = True,
    timeout: float = 60.0,
    fresh: bool = False,
) -> tuple[Path, str]:
    """Download archive ``key`` to ``cache_dir/.incoming/`` (resuming a partial file).

    ``fresh``: drop any partial file first. A server that will not resume (the range
    refused) gets the file again from byte zero.

    Returns:
        ``(path, address)`` of the complete, not yet verified, file.

    Raises:
        HqsegError: every address failed; the partial file is kept for a resume.
    """
    import gdown

    archive = ARCHIVES[key]
    incoming = Path(cache_dir) / ".incoming" / Path(key).parent
    incoming.mkdir(parents=True, exist_ok=True)
    out = incoming / archive_file_name(key)
    if fresh:
        _drop_partials(out)
    candidates = archive_urls(archive, mirrors)
    errors = []
    for kind, address in candidates:
        for attempt in range(2):
            try:
                gdown.download(
                    url=address if kind == "url" else None,
                    id=address if kind == "gdrive" else None,
                    output=str(out),
                    quiet=not progress,
                    resume=True,
                    retries=retries,
                    use_cookies=False,
                    timeout=timeout,
                )
                return out, address
            except Exception as exc:  # network libraries raise many types; all mean "try next"
                if attempt == 0 and _range_refused(exc) and _drop_partials(out):
                    continue  # the server cannot resume: start again from byte zero
                errors.append(f"{address}: {type(exc).__name__}: {exc}")
                break
    if not candidates:
        errors.append("no URL known; use --from PATH or --mirror URL")
    raise HqsegError(
        f"could not download {archive.name}; tried:\n  "
        + "\n  ".join(errors)
        + f"\npartial data (if any) is kept in {incoming} and resumed on the next run"
    )


def _drop_partials(out: Path) -> int:
    """Delete gdown's partial files of ``out``; return how many there were."""
    partials = list(out.parent.glob(f"{out.name}*.part"))
    for p in partials:
        p.unlink(missing_ok=True)
    return len(partials)


def _range_refused(exc: Exception) -> bool:
    """True if ``exc`` says the server would not resume (no Range support, or 416)."""
    text = str(exc).lower()
    return "byte range" in text or "416" in text or "range not satisfiable" in text


def obtain(
    key: str,
    *,
    source: str,
    from_path: Path | None,
    cache_dir: Path,
    mirrors: Sequence[str],
    sums: dict[str, str],
    strict: bool,
    retries: int,
    progress: bool,
    log: Log,
    force: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """A verified local copy of archive ``key`` (user's file, cached file or fresh download).

    A fresh download stays in ``.incoming/`` (``record["promote_to"]`` says where it
    goes): :func:`promote` moves it into the cache once it has also extracted.
    """
    name = archive_file_name(key)
    record: dict[str, Any] = {"name": key}
    if from_path is not None:
        path = find_archive(from_path, key, source)
        record |= {"file": str(path), "from": "user"}
        sums = sums or _sums_near(path, log)
        return path, record | verify(path, key, source=source, sums=sums, strict=strict, log=log)
    cached = Path(cache_dir) / key
    if cached.is_file() and force:
        log(f"--force: fetching {name} again (ignoring the cached copy)")
        cached.unlink()
    if cached.is_file():
        log(f"using cached {cached}")
        try:
            info = verify(cached, key, source=source, sums=sums, strict=strict, log=log)
        except ChecksumError as exc:
            cached.unlink(missing_ok=True)
            log(f"cached {cached} failed verification ({exc}); deleted, fetching again")
        else:
            return cached, record | {"file": str(cached), "from": "cache"} | info
    log(f"downloading {name}")
    part, address = fetch(
        key, cache_dir, mirrors=mirrors, retries=retries, progress=progress, fresh=force
    )
    info = verify(
        part, key, source=source, sums=sums, strict=strict, delete_on_mismatch=True, log=log
    )
    return part, record | {"file": str(cached), "from": address, "promote_to": str(cached)} | info


def promote(path: Path, record: dict[str, Any]) -> None:
    """Move a fresh download that verified and extracted into the cache (once)."""
    target = record.pop("promote_to", None)
    if target is None:
        return
    if record.get("verified") is False:  # accepted with --no-verify: used once, never cached
        Path(path).unlink(missing_ok=True)
        return
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, target)


def discard(path: Path, record: dict[str, Any]) -> None:
    """Delete a downloaded or cached archive that failed extraction (never a user's file)."""
    record.pop("promote_to", None)
    if record.get("from") != "user":
        Path(path).unlink(missing_ok=True)


def find_archive(from_path: Path, key: str, source: str) -> Path:
    """Locate archive ``key`` in the user's ``from_path`` (a file or a folder).

    A folder is searched at ``<key>``, ``<name>``, ``<source>/<name>`` and then one
    level down (``*/<name>``, skipping ``repack/`` for originals).

    Raises:
        DatasetError: not found or ambiguous, naming what was looked for.
    """
    from_path, name = Path(from_path), archive_file_name(key)
    if from_path.is_file():
        if from_path.name != name:
            raise DatasetError(f"{from_path}: expected the archive {name} for {source}")
        return from_path
    if not from_path.is_dir():
        raise DatasetError(f"{from_path}: no such file or folder")
    for candidate in (from_path / key, from_path / name, from_path / source / name):
        if candidate.is_file():
            return candidate
    found = sorted(
        p
        for p in from_path.glob(f"*/{name}")
        if p.is_file() and (key.startswith("repack/") or p.parent.name != "repack")
    )
    if len(found) == 1:
        return found[0]
    if found:
        raise DatasetError(f"{from_path}: several {name} found ({', '.join(map(str, found))})")
    raise DatasetError(f"{from_path}: archive {name} (needed for {source}) not found")


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

    Returns:
        The manifest written to ``raw_dir/<name>/.hqseg/download.json``.
    """
    name, note = resolve_name(name)
    if note:
        log(f"note: {note}; downloading {name}")
    entry = SOURCES[name]
    uses = entry.uses(origin)
    dest = Path(raw_dir) / name
    old = read_manifest(dest)
    if not force and old and old.get("complete") and old.get("origin") == origin:
        log(f"{dest} is already complete ({origin}); nothing to do (use --force to redo)")
        return old
    if dest.exists():
        log(f"{dest} is incomplete or of another origin; replacing it")
    from_path = Path(from_path) if from_path is not None else None
    sums = read_checksums(Path(checksums)) if checksums is not None else {}

    from hqseg.data.sources import get_source

    adapter = get_source(name)
    records, rejects = [], []
    # A folder with a download manifest is an earlier `hqseg download` output.
    legacy = ("*",) if old is not None else ()
    with output_dir(dest, "download", legacy=legacy, marker=".hqseg/output.json") as tmp:
        if from_path is not None and from_path.is_dir() and _is_layout(adapter, from_path, uses):
            log(f"ingesting the already-extracted folder {from_path}")
            rejects += [
                Reject(r.path, r.reason, r.detail, name) for r in _copy_tree(from_path, tmp)
            ]
        else:
            for use in uses:
                path, record = obtain(
                    use.archive,
                    source=name,
                    from_path=from_path,
                    cache_dir=Path(cache_dir),
                    mirrors=mirrors,
                    sums=sums,
                    strict=verify_checksums,
                    retries=retries,
                    progress=progress,
                    log=log,
                    force=force,
                )
                try:
                    extracted = safe_extract(path, tmp, members=use.members, progress=progress)
                except DatasetError as exc:
                    discard(path, record)
                    raise DatasetError(
                        f"{exc}"
                        + ("" if record["from"] == "user" else " (downloaded file deleted)")
                    ) from exc
                promote(path, record)
                for r in extracted:
                    rejects.append(Reject(r.path, r.reason, r.detail, name))
                records.append(record | {"members": list(use.members)})
        layout = adapter.detect_layout(tmp)
        manifest = {
            "source": name,
            "origin": origin,
            "layout": layout,
            "complete": True,
            "hqseg_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "from_path": str(from_path) if from_path is not None else None,
            "sample": from_path is not None and is_sample_folder(from_path),
            "archives": records,
            "rejects": [r.__dict__ for r in rejects],
        }
        write_json(tmp / MANIFEST, manifest)
    for r in rejects:
        log(f"rejected {r.path}: {r.reason} ({r.detail})")
    log(f"{name}: extracted to {dest} ({layout} layout, {len(rejects)} member(s) rejected)")
    return manifest


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


def _sums_near(path: Path, log: Log) -> dict[str, str]:
    """Checksums from a SHA256SUMS in the archive's folder or the one above, keyed so that
    :func:`_lookup` finds the archive (its path relative to the SHA256SUMS file first)."""
    for folder in (path.parent, path.parent.parent):
        sums_file = folder / SUMS_NAME
        if sums_file.is_file():
            log(f"using checksums from {sums_file}")
            sums = read_checksums(sums_file)
            rel = path.resolve().relative_to(folder.resolve()).as_posix()
            return {**sums, **({path.name: sums[rel]} if rel in sums else {})}
    return {}


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
    """Copy an extracted folder, skipping junk; links leaving ``src`` are rejected, not followed."""
    root = src.resolve()
    junk = shutil.ignore_patterns("__MACOSX", ".DS_Store", "._*", "Thumbs.db", ".hqseg")
    rejects: list[Reject] = []

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(junk(folder, names))
        for name in names:
            path = Path(folder) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                rejects.append(Reject(str(path), "link-outside", "link leaves the folder"))
                skipped.add(name)
        return skipped

    shutil.copytree(src, dst, symlinks=False, ignore=ignore, dirs_exist_ok=True)
    return rejects
