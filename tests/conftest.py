"""Shared pytest setup (deterministic, offline, quiet) and the embedded-sample fixtures.

The sample (`hqseg sample` -> `download --from` -> `build`) is made once per session and
shared by the build, training and evaluation tests.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
# hqseg commands the tests start compare runs on this one machine: the CPU's own kernels
# (faster); tests/training/test_cpu_numerics.py sets the mode it checks
os.environ.setdefault("HQSEG_CPU_NUMERICS", "native")

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
