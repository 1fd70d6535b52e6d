"""Provenance of an evaluation run: what produced the numbers, recorded beside them.

``hqseg eval hq`` and ``hqseg eval coco`` write :func:`collect_provenance`'s dict as
``provenance.json`` inside their output unit (it is hashed into the unit's marker like
the other files, but it is not a DVC metric), and ``hqseg report`` shows it.

Layout (keys sorted when written; no timestamps)::

    {"model_type": "vit_b",
     "checkpoint": {"path": "runs/x/sam_hq_vit_b.pth", "sha256": "..."} | null,  # null: random
     "params": {...},                        # the options the command ran with
     "data": {"path": "data/hqseg44k", "sample": true | false | null,
              "specs": ["folder:..."]},             # only with eval hq --benchmark
     "packages": {"torch": "2.4.1", "sam2": ..., ...},   # null = not installed
     "python": "3.11.9", "platform": "Linux-...-x86_64-with-glibc2.36",
     "git": {"revision": "<sha>", "dirty": false}
            | {"revision": null, "dirty": null, "reason": "..."}}

Reproducibility. Everything except :data:`VOLATILE_KEYS` is a function of the code,
params, data and pinned environment, so a fresh clone's ``dvc repro`` writes it again
byte for byte. The git revision and dirty flag cannot be: the committed results were
made at a revision before the commit that holds them (dirty counts code files only, so
dvc.lock and results written mid-pipeline do not set it), and ``platform`` names the
kernel release of the machine. Comparisons of a fresh run with committed results must
drop those keys (:func:`stable_part`). ``hqseg report`` shows the git revision and
dirty flag of each results folder (read from its ``provenance.json``, never from the
report run), on lines starting ``- git revision:``; a comparison of ``report.md``
must skip those lines. ``platform`` is not shown in the report.

The data's ``sample`` flag comes from the build card (``sample: true`` in the
front matter of ``README.md``, written by ``hqseg build`` from the embedded sample) or,
for COCO, from the ``hqseg eval coco-sample`` marker in a parent folder of the
annotations; null when neither can be read.
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from hqseg.utils.checksums import sha256_file
from hqseg.utils.outdir import read_marker

PROVENANCE_FILE = "provenance.json"

VOLATILE_KEYS: tuple[str, ...] = ("git", "platform")
"""Top-level keys that differ between two runs of the same code, params and data."""

PACKAGES: tuple[str, ...] = (
    "hqseg",
    "torch",
    "torchvision",
    "segment-anything",
    "numpy",
    "pycocotools",
    "opencv-python-headless",
    "pillow",
    "datasets",
)
"""Always recorded (null when not installed)."""

OPTIONAL_PACKAGES: tuple[str, ...] = ("sam2", "segment-anything-hq", "transformers")
"""Recorded only when installed."""


def package_versions() -> dict[str, str | None]:
    """``{distribution: version}`` of :data:`PACKAGES` (None = missing) and the installed
    :data:`OPTIONAL_PACKAGES`; read from package metadata, nothing is imported."""
    out: dict[str, str | None] = {}
    for name in (*PACKAGES, *OPTIONAL_PACKAGES):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name in PACKAGES:
                out[name] = None
    return out


#: What ``dirty`` looks at: code only. Under ``dvc repro`` dvc.lock and the results of
#: earlier stages change mid-pipeline; they say nothing about the code that ran.
CODE_PATHSPECS = (":(top,glob)**/*.py", ":(top)pyproject.toml", ":(top)constraints.txt")


def git_state(repo: str | Path | None = None) -> dict[str, Any]:
    """``{"revision", "dirty"}`` of the git checkout holding ``repo`` (default: the
    hqseg package's folder, i.e. the code that ran), or both None and a ``reason``.
    ``dirty``: a code file (:data:`CODE_PATHSPECS`) differs from ``revision`` or is new."""
    where = Path(repo) if repo is not None else Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(where), *args], capture_output=True, text=True, check=True
        ).stdout

    try:
        revision = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--", *CODE_PATHSPECS).strip())
    except FileNotFoundError:
        return {"revision": None, "dirty": None, "reason": "git is not installed"}
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = (getattr(exc, "stderr", "") or str(exc)).strip().splitlines()
        return {
            "revision": None,
            "dirty": None,
            "reason": f"{where} is not in a git checkout"
            + (f" ({detail[0]})" if detail else ""),
        }
    return {"revision": revision, "dirty": dirty}


def is_sample_data(data_dir: str | Path | None) -> bool | None:
    """True when ``data_dir`` (a build folder, or a file inside a ``coco-sample`` folder)
    came from the embedded sample, False when it is known not to, None when unknown."""
    if data_dir is None:
        return None
    path = Path(data_dir)
    card = path / "README.md"
    if card.is_file():
        import yaml

        from hqseg.data.card import parse_front_matter

        try:
            meta = parse_front_matter(card.read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):  # the loader reports a damaged card
            return None
        return bool(isinstance(meta, dict) and meta.get("sample"))
    for folder in (path, *path.parents):  # the COCO sample: its marker sits at the top
        marker = read_marker(folder) if folder.is_dir() else None
        if marker is not None:
            return marker.get("command") == "eval coco-sample"
    return None


def collect_provenance(
    *,
    model_type: str | None,
    checkpoint: str | Path | None,
    params: Mapping[str, Any] | None = None,
    data_dir: str | Path | None = None,
    repo: str | Path | None = None,
    specs: list[str] | None = None,
) -> dict[str, Any]:
    """The provenance dict described in the module docstring.

    Args:
        model_type: the architecture evaluated (``vit_b``, ``tiny``, ...).
        checkpoint: the weights file as given (its path is recorded as given, so a
            relative path stays the same on another machine); None = random weights.
        params: the options of the run (JSON-serialisable), recorded as given.
        data_dir: the build folder, or the COCO annotations file.
        repo: where to read the git state (default: the hqseg package's folder).
        specs: the ``--benchmark`` source specs scored instead of a build folder,
            recorded as ``data.specs`` (the report's gallery reads the images from them).
    """
    ckpt = None
    if checkpoint is not None:
        ckpt = {"path": str(checkpoint), "sha256": sha256_file(Path(checkpoint))}
    return {
        "model_type": model_type,
        "checkpoint": ckpt,
        "params": dict(params or {}),
        "data": {
            "path": None if data_dir is None else str(data_dir),
            "sample": is_sample_data(data_dir),
            **({"specs": list(specs)} if specs else {}),
        },
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": git_state(repo),
    }


def stable_part(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """``provenance`` without :data:`VOLATILE_KEYS`: what a reproduction must match."""
    return {k: v for k, v in provenance.items() if k not in VOLATILE_KEYS}


def write_provenance(folder: str | Path, provenance: Mapping[str, Any]) -> Path:
    """Write ``provenance`` as ``folder/provenance.json`` (sorted keys, atomic)."""
    import json

    from hqseg.utils.atomic import write_text

    path = Path(folder) / PROVENANCE_FILE
    write_text(path, json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    return path
