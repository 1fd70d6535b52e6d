"""DVC glue for the ``build`` stage: ``params.yaml: build`` -> ``hqseg build`` arguments.

``build.exclude`` (a CSV of ids and reasons, e.g. the reviewed top of the audit's
``eval/audit/audit.csv``; empty or null: none) becomes ``--exclude``; keep the file
under ``curation/``, which the stage watches, so editing it makes ``dvc repro``
rebuild. Custom sources come from the ``custom:`` list of the same params file.

Usage: ``python -m pipelines.build``. Everything else is ``hqseg build``.
"""

from __future__ import annotations

from pathlib import Path

from hqseg.cli import main
from pipelines.params import PARAMS_FILE, section

KEYS = ("preset", "normalized", "raw_dir", "out", "dedup", "near_threshold", "stats", "exclude")
"""The keys of ``params.yaml: build``."""


def command_line(params: dict, params_file: Path = PARAMS_FILE) -> list[str]:
    """The ``hqseg build`` arguments under ``params`` (the build section)."""
    args = [
        "build", "--preset", params["preset"], "--normalized", params["normalized"],
        "--raw-dir", params["raw_dir"], "--out", params["out"], "--dedup", params["dedup"],
        "--near-threshold", str(params["near_threshold"]), "--stats-out", params["stats"],
        "--custom-from", str(params_file), "--custom-dir", params["normalized"],
    ]  # fmt: skip
    if params.get("exclude"):
        args += ["--exclude", str(params["exclude"])]
    return args


if __name__ == "__main__":
    main(command_line(section("build", known=KEYS)))
