"""The embedded sample, downloaded and built once per test session (it takes seconds)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # build_helpers

SOURCES = (
    "dis5k", "thinobject5k", "fss1000", "ecssd", "msra10k", "duts", "dut_omron", "coift", "hrsod",
)  # fmt: skip


@pytest.fixture(scope="session")
def sample_raw(tmp_path_factory):
    """(manifest, raw dir) of the embedded sample ingested with `download_source`."""
    from hqseg.data.download import download_source
    from hqseg.sample import write_sample

    root = tmp_path_factory.mktemp("sample")
    manifest = write_sample(root / "archives", seed=0)
    for source in SOURCES:
        download_source(
            source,
            from_path=root / "archives" / source,
            raw_dir=root / "raw",
            cache_dir=root / "cache",
            progress=False,
        )
    return manifest, root / "raw"


@pytest.fixture(scope="session")
def built(sample_raw, tmp_path_factory):
    """Build folders of the sample: ``built(preset, dedup)`` -> (manifest, out dir)."""
    from hqseg.data.build import build

    manifest, raw = sample_raw
    root = tmp_path_factory.mktemp("built")
    cache: dict = {}

    def get(preset: str = "official", dedup: str = "drop") -> tuple[dict, Path]:
        if (preset, dedup) not in cache:
            out = root / f"{preset}-{dedup}"
            build(
                preset,
                normalized_dir=root / "normalized",
                raw_dir=raw,
                out=out,
                dedup=dedup,
                workers=2,
                progress=False,
            )
            cache[preset, dedup] = out
        return manifest, cache[preset, dedup]

    return get
