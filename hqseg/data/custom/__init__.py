"""User-supplied sources: ``folder:``, ``coco:`` and ``hf:`` (see :mod:`.spec`).

They go through the same normalisation as the public sources
(:func:`hqseg.data.normalize.normalize_source` with the custom adapter), so the
same checks, rejects, EXIF and colour rules apply and the records have the same
layout. Entry points:

* :func:`normalize_custom`: a spec -> ``custom_dir/<name>/`` (shards, hashes,
  rejects, summary), reused while the input is unchanged;
* :func:`custom_records`: a spec -> records in memory (for ``eval hq --benchmark``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hqseg.data.custom.base import CustomSource
from hqseg.data.custom.spec import SourceSpec, SpecError, parse_spec
from hqseg.errors import DatasetError

__all__ = ["CustomSource", "SourceSpec", "SpecError", "custom_records", "normalize_custom",
           "open_source", "parse_spec"]  # fmt: skip


def open_source(spec: SourceSpec | str, work_dir: Path) -> CustomSource:
    """The adapter for ``spec``; derived files go to ``work_dir``."""
    from hqseg.data.custom.coco import CocoSource
    from hqseg.data.custom.folder import FolderSource
    from hqseg.data.custom.hf import HFSource

    spec = parse_spec(spec) if isinstance(spec, str) else spec
    kinds = {"folder": FolderSource, "coco": CocoSource, "hf": HFSource}
    return kinds[spec.kind](spec, Path(work_dir))


def _display_rejects(folder: Path, source: CustomSource) -> None:
    """Rewrite reject paths that name derived work files with their human names."""
    from hqseg.data.rejects import FILENAME, read_rejects, write_rejects
    from hqseg.data.schema import Reject

    path = folder / FILENAME
    rejects = read_rejects(path)
    work = Path(source.work_dir).resolve()
    shown = {str(Path(k).resolve()): v for k, v in source.display.items()}
    fixed = []
    for r in rejects:
        full = str((Path(source.root).resolve() / r.path).resolve()) if r.path else r.path
        name = shown.get(r.path) or shown.get(full)
        if name is None and full.startswith(str(work)):
            name = Path(full).relative_to(work).as_posix()
        fixed.append(Reject(name or r.path, r.reason, r.detail, r.source))
    write_rejects(path, fixed)


def normalize_custom(
    spec: SourceSpec | str,
    custom_dir: str | os.PathLike,
    *,
    size_mismatch: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """Normalise one custom source into ``custom_dir/<name>``; return its summary.

    The summary gains ``kind``, ``spec``, ``licence``, ``train_splits``, ``instances``
    and ``fingerprint``; a folder whose summary has the same spec and fingerprint (and
    ``size_mismatch``, when one is given; None normalises with ``"reject"``) is reused.

    Raises:
        DatasetError: bad spec, missing input, or input that cannot be read at all.
    """
    from hqseg.data.normalize import SUMMARY_FILE, normalize_source, read_summary
    from hqseg.utils.atomic import write_json

    spec = parse_spec(spec) if isinstance(spec, str) else spec
    out = Path(custom_dir) / spec.name
    with tempfile.TemporaryDirectory(prefix=f"hqseg-{spec.name}-") as work:
        source = open_source(spec, Path(work))
        fingerprint = source.fingerprint()
        old = read_summary(out)
        same = old and (old.get("spec"), old.get("fingerprint")) == (spec.text, fingerprint)
        if same and size_mismatch in (None, old.get("size_mismatch")):
            # reused as it is; licence and training splits are this caller's
            return {**old, "licence": spec.licence, "train_splits": list(spec.train_splits)}
        summary = normalize_source(spec.name, None, custom_dir, adapter=source,
                                   size_mismatch=size_mismatch or "reject", workers=workers,
                                   progress=progress)  # fmt: skip
        _display_rejects(out, source)
    instances = spec.kind == "coco" or source.mask_type == "instances"
    summary.update(kind=spec.kind, spec=spec.text, licence=spec.licence, instances=instances,
                   train_splits=list(spec.train_splits), fingerprint=fingerprint)  # fmt: skip
    write_json(out / SUMMARY_FILE, summary)
    return summary


def custom_records(spec: SourceSpec | str, *, size_mismatch: str = "reject") -> Iterator[dict]:
    """Records of ``spec`` (``id``, ``split``, ``image``/``mask`` as ``{"bytes"}`` ...),
    through the same conversion as a build, one at a time; rejects are logged.

    Raises:
        DatasetError: as :func:`normalize_custom`; also when no record results.
    """
    import logging

    from hqseg.data.convert import Converted, convert_pair
    from hqseg.data.normalize import _mask_kind, _unique_pairs

    log = logging.getLogger(__name__)
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    with tempfile.TemporaryDirectory(prefix=f"hqseg-{spec.name}-") as work:
        source = open_source(spec, Path(work))
        rejects: list = []
        pairs = list(_unique_pairs(source.iter_pairs(), spec.name, rejects))
        n = 0
        for pair in pairs:
            out = convert_pair(spec.name, pair, size_mismatch=size_mismatch,
                               mask_kind=_mask_kind(source))  # fmt: skip
            if isinstance(out, Converted):
                n += 1
                yield out.row
            else:
                rejects.append(out)
        for r in rejects:
            log.warning("%s: not scored: %s (%s: %s)", spec.name,
                        source.display.get(r.path, r.path), r.reason, r.detail)  # fmt: skip
        if n == 0:
            raise DatasetError(f"{spec.text}: no usable image/mask pair ({len(rejects)} rejects)")


def summary_line(summary: dict) -> str:
    """One human line for a custom source's summary."""
    return json.dumps({k: summary.get(k) for k in ("source", "inputs", "records", "rejects")})
