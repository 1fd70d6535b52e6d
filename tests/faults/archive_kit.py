"""Small MSRA10K-shaped zip archives with one fault each, built in memory."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "build"))
from build_helpers import blob, jpeg_bytes, photo  # noqa: E402

NAME = "MSRA10K_Imgs_GT.zip"
FOLDER = "MSRA10K_Imgs_GT/Imgs"


def _png(arr) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def good_members(n: int = 2) -> dict[str, bytes]:
    """``n`` image/mask pairs in the MSRA10K original layout."""
    out = {}
    for i in range(n):
        out[f"{FOLDER}/{i:04d}.jpg"] = jpeg_bytes(photo(i))
        out[f"{FOLDER}/{i:04d}.png"] = _png(blob())
    return out


def zip_bytes(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A deflated zip of ``members``; ``links`` are symlink members (name -> target)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # S_IFLNK | 0777
            zf.writestr(info, target)
    return buf.getvalue()


def write(folder: Path, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NAME).write_bytes(data)
    return folder / NAME
