"""Shared pytest setup (deterministic, offline, quiet) and the embedded-sample fixtures.

The sample (`hqseg sample` -> `download --from` -> `build`) is made once per session and
shared by the build, training and evaluation tests.
"""

import os
from collections import Counter
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
# torch's CPU allocator: 2 MiB-aligned transparent huge pages for tensors of 2 MiB and more
# (the 1024x1024 inputs, 64x64 embeddings and attention maps): a fifth of a test model's
# forward pass went into the kernel zeroing and faulting in fresh 4 KiB pages
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):  # an xdist worker, before torch is imported
    # each worker its share of the cores: torch's default, a thread per core in every
    # worker, oversubscribes them and its threads wait on each other at every op
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    _share = max(1, (_cores or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(_share))

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
    # hand out files in the order pytest_collection_modifyitems leaves them (longest first),
    # not xdist's order (most tests first), which puts the few-test long files last
    config.option.loadscopereorder = False


LONGEST_FIRST = (
    "tests/faults/test_kill_at_rename.py",
    "tests/training/test_training_processes.py",
    "tests/evaluation/test_eval_multi_checkpoint.py",
    "tests/training/test_training_run.py",
    "tests/evaluation/test_eval_cache.py",
    "tests/modeling/test_tinyvit_training.py",
    "tests/modeling/test_predictor_dropin.py",
    "tests/modeling/test_predictor.py",
    "tests/modeling/test_predict_cli.py",
    "tests/modeling/test_sam2_model.py",
    "tests/evaluation/test_eval_batched.py",
    "tests/training/test_cpu_numerics.py",
    "tests/test_dvc_code_deps.py",
    "tests/modeling/test_sam2_training.py",
)
"""The files that take longest (15 to 90 s on 2 idle cores), longest first.

With ``--dist loadfile`` a worker takes the next file when it is nearly done with its own;
the suite ends when the last file does. Started first, the long files run beside many
short ones and the suite ends on short ones (longest-processing-time-first scheduling).
"""


def pytest_collection_modifyitems(config, items):
    """Order the files: :data:`LONGEST_FIRST`, then the rest, most tests first (xdist's
    own order); tests keep their order within a file."""
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    per_file = Counter(_file_of(item) for item in items)

    def key(item) -> tuple[int, int]:
        path = _file_of(item)
        return rank.get(path, len(rank)), -per_file[path]

    items.sort(key=key)  # stable: each file's tests stay together, in order


def _file_of(item) -> str:
    return item.nodeid.split("::")[0]


@pytest.fixture(autouse=True)
def _heap_kept_between_tests():
    """Each test starts with glibc keeping freed memory for reuse (as hqseg's decoding
    workers do). An in-process ``train()`` switches its process to giving it back at once
    (:func:`hqseg.utils.memory.return_freed_memory`: less memory, more page faults); left
    so, every later test in that worker paid the faults, a third more CPU per model pass."""
    from hqseg.utils.memory import keep_freed_memory

    keep_freed_memory()
    yield


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
