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

XDIST_DEFAULT = {"numprocesses": 2, "dist": "loadfile"}
"""The suite's default parallelism: 2 workers (2 cores in CI), each test file on one."""


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """``-n 2 --dist loadfile`` unless ``-n`` was given or xdist is off (``-p no:xdist``).

    Runs before xdist's own ``pytest_cmdline_main``, which turns the count into workers.
    """
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return  # xdist off, or this is a worker already (else workers spawn workers)
    if config.getoption("numprocesses", None) is None:
        config.option.numprocesses = XDIST_DEFAULT["numprocesses"]
        if config.getoption("dist") == "no":
            config.option.dist = XDIST_DEFAULT["dist"]


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
