"""DVC glue for the ``build`` stage: ``hqseg build`` with params.yaml's ``build`` section.

The build folder is one DVC output; its ``stats.json`` is also copied (atomically)
to ``build.stats`` outside that folder, because DVC metrics may not live inside
another output.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from hqseg.cli import main
from hqseg.utils.atomic import atomic_file
from pipelines.params import section


def command_line(params: dict) -> list[str]:
    """The ``hqseg build`` arguments for params.yaml's ``build`` section."""
    args = [
        "build",
        "--preset",
        params["preset"],
        "--normalized",
        params["normalized"],
        "--raw-dir",
        params["raw_dir"],
        "--out",
        params["out"],
        "--dedup",
        params["dedup"],
        "--near-threshold",
        str(params["near_threshold"]),
    ]
    if params.get("allow_missing"):
        args.append("--allow-missing")
    return args


if __name__ == "__main__":
    params = section("build")
    try:
        main(command_line(params), standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
    with (
        open(Path(params["out"]) / "stats.json", "rb") as src,
        atomic_file(params["stats"], "wb") as dst,
    ):
        shutil.copyfileobj(src, dst)
