"""sha256 helpers: hashing files and reading ``SHA256SUMS`` files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hqseg.errors import DatasetError


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checksums(path: Path) -> dict[str, str]:
    """Parse a ``SHA256SUMS`` file (``<hex>  <relative path>`` per line) to {path: hex}.

    Raises:
        DatasetError: unreadable file or a malformed line, naming the line.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read checksums file: {exc}") from exc
    sums: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) != 64 or not name or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise DatasetError(f"{path}:{n}: expected '<sha256>  <file>', got {line!r}")
        sums[name] = digest.lower()
    return sums
