r"""One source archive: find it among the user's files, or fetch it, then verify and cache it.

Downloads go through gdown (Google Drive ids and plain HTTP(S), Hub files included):
it retries, resumes a partial file with an HTTP Range request and shows a progress
bar. Partial files live in ``<cache-dir>/.incoming/``. :func:`obtain` leaves a fresh
download there; the caller :func:`promote`\s it to ``<cache-dir>/<archive>`` only once
it is verified (or has no known hash) **and** extracted without a whole-archive
failure, so shared repack bundles are fetched once and a bad file is never reused. A
cached file that fails verification is deleted and fetched again; one that fails
extraction is :func:`discard`\ed. A server that refuses Range requests (200 instead of
206, or 416) makes the partial file restart from zero.

Checksums: an expected sha256 comes from a ``--checksums`` file (``SHA256SUMS``
format; a ``SHA256SUMS`` in the folder of a ``--from`` archive, or the one above, is
used automatically) or from the catalog. A mismatch raises :class:`ChecksumError`
naming the file and both hashes, and a downloaded file is deleted; ``strict=False``
(``--no-verify``) accepts it with a warning. Where no hash is known the computed one
is recorded in the manifest.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hqseg.data.catalog import ARCHIVES, Archive, archive_file_name
from hqseg.errors import ChecksumError, DatasetError, HqsegError
from hqseg.utils.checksums import read_checksums, sha256_file

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

    ``fresh`` (``--force``): drop every file of an earlier run in ``.incoming/`` first,
    partial or complete (a complete one is left there by a run killed between the
    download and the caching, and would otherwise be taken as already downloaded). A
    server that will not resume (the range refused) gets the file again from byte zero.

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
        out.unlink(missing_ok=True)
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
