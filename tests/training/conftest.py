"""The embedded sample (`hqseg sample` -> download --from -> `hqseg build`), built once."""

from __future__ import annotations

from pathlib import Path

import pytest

SOURCES = (
    "dis5k", "thinobject5k", "fss1000", "ecssd", "msra10k", "duts", "dut_omron", "coift", "hrsod",
)  # fmt: skip


@pytest.fixture(scope="session")
def build_folder(tmp_path_factory) -> Path:
    """The official-preset build of the embedded sample: default/train + hq_eval splits."""
    from hqseg.data.build import build
    from hqseg.data.download import download_source
    from hqseg.sample import write_sample

    root = tmp_path_factory.mktemp("sample")
    write_sample(root / "archives", seed=0)
    for source in SOURCES:
        download_source(
            source,
            from_path=root / "archives" / source,
            raw_dir=root / "raw",
            cache_dir=root / "cache",
            progress=False,
        )
    out = root / "hqseg44k"
    build(
        "official",
        normalized_dir=root / "normalized",
        raw_dir=root / "raw",
        out=out,
        workers=2,
        progress=False,
    )
    return out
