"""The download manifest ``<raw-dir>/<source>/.hqseg/download.json``.

``hqseg download`` writes it last, so a folder without a complete manifest is never
trusted. This module reads it back and checks its shape: a hand-edited or damaged
manifest is reported as such (:class:`ManifestError`, naming the file), never a
traceback from deep inside the pipeline.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from hqseg.data.schema import Reject
from hqseg.errors import DatasetError, HqsegError

MANIFEST = Path(".hqseg") / "download.json"
_REJECT_FIELDS = {f.name for f in dataclasses.fields(Reject)}


class ManifestError(HqsegError):
    """A download manifest exists but is unreadable or malformed.

    Deliberately not a :class:`DatasetError`: callers that treat "no manifest" as
    "hand-made folder, nothing recorded" must not silently skip a damaged one.
    """


def load_manifest(source_dir: Path) -> dict[str, Any] | None:
    """The manifest of ``source_dir``, or None if there is none.

    Raises:
        ManifestError: the file exists but is not valid JSON or not a manifest
            (an object with a boolean ``complete``, a string ``origin`` and a list
            of reject objects with ``path`` and ``reason``).
    """
    path = Path(source_dir) / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: unreadable download manifest ({exc})") from exc
    try:
        manifest = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ManifestError(f"{path}: download manifest is not valid JSON ({exc})") from exc
    problem = _shape_problem(manifest)
    if problem:
        raise ManifestError(
            f"{path}: malformed download manifest ({problem}); "
            f"re-run `hqseg download {Path(source_dir).name} --force`"
        )
    return manifest


def _shape_problem(manifest: Any) -> str:
    """What is wrong with a parsed manifest, or '' when it looks right."""
    if not isinstance(manifest, dict):
        return f"expected a JSON object, got {type(manifest).__name__}"
    if not isinstance(manifest.get("complete", False), bool):
        return "'complete' is not true/false"
    if manifest.get("complete") and not isinstance(manifest.get("origin"), str):
        return "'origin' is missing"
    rejects = manifest.get("rejects", [])
    if not isinstance(rejects, list):
        return "'rejects' is not a list"
    for i, r in enumerate(rejects):
        if not isinstance(r, dict) or not {"path", "reason"} <= r.keys() <= _REJECT_FIELDS:
            return f"rejects[{i}] is not an object with path, reason, detail, source"
    return ""


def read_manifest(source_dir: Path) -> dict[str, Any] | None:
    """The manifest of ``source_dir``, or None if absent or damaged (never trusted)."""
    try:
        return load_manifest(source_dir)
    except ManifestError:
        return None


def is_complete(source_dir: Path) -> bool:
    """True only for a folder whose extraction finished (it has a complete manifest)."""
    manifest = read_manifest(source_dir)
    return bool(manifest and manifest.get("complete"))


def manifest_rejects(source_dir: Path) -> list[Reject]:
    """The extraction rejects recorded for ``source_dir`` (unsafe members etc.) as Rejects.

    Raises:
        DatasetError: the folder is not a complete download.
        ManifestError: its manifest is damaged.
    """
    manifest = load_manifest(source_dir)
    if not manifest or not manifest.get("complete"):
        raise DatasetError(f"{source_dir}: no complete download here (run `hqseg download`)")
    return [Reject(**r) for r in manifest.get("rejects", [])]
