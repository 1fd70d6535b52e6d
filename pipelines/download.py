"""DVC glue for the per-source ``download`` stage.

``params.yaml: download.origin`` picks where the raw archives come from:

* ``sample``   – the embedded generated archives (``hqseg sample``), offline;
* ``original`` – the datasets' own releases (Google Drive, project pages);
* ``repack``   – the HQ-SAM authors' bundle on the Hugging Face Hub;
* ``local``    – archives or folders the user already has, under ``download.local_dir``.

Usage: ``python -m pipelines.download SOURCE``. Everything else is ``hqseg download``.
"""

from __future__ import annotations

import sys

from hqseg.cli import main
from pipelines.params import section

KEYS = ("origin", "sample_dir", "local_dir", "raw_dir", "cache_dir", "mirror")
"""The keys of ``params.yaml: download``."""


def command_line(source: str, params: dict) -> list[str]:
    """The ``hqseg download`` arguments for ``source`` under ``params`` (the download section)."""
    args = ["download", source, "--raw-dir", params["raw_dir"], "--cache-dir", params["cache_dir"]]
    origin = params["origin"]
    if origin == "sample":
        args += ["--from", params["sample_dir"]]
    elif origin == "local":
        args += ["--from", f"{params['local_dir']}/{source}"]
    elif origin in ("original", "repack"):
        args += ["--origin", origin]
    else:
        raise SystemExit(f"download.origin must be sample|original|repack|local, not {origin!r}")
    if params.get("mirror"):
        args += ["--mirror", params["mirror"]]
    return args


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m pipelines.download SOURCE")
    main(command_line(sys.argv[1], section("download", known=KEYS)))
