"""Commands that run no model import no torch: checked in a fresh interpreter's sys.modules.

A behavioural check, not a timing (tests/benchmarks/bench_startup.py times start-up).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

MODEL_STACK = ("torch", "torchvision", "segment_anything", "datasets", "transformers")

_PROBE = """
import json, sys
from hqseg.cli import main
sys.argv = ["hqseg", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("MODULES=" + json.dumps({"code": code, "loaded": sorted(sys.modules)}))
"""


def _loaded(*args: str) -> set[str]:
    """Top-level packages imported by ``hqseg ARGS`` in a new interpreter (exit code 0)."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES="))
    result = json.loads(line.removeprefix("MODULES="))
    assert result["code"] in (0, None), proc.stdout + proc.stderr
    return {name.split(".")[0] for name in result["loaded"]}


@pytest.mark.parametrize(
    "args",
    [("--help",), ("sources",), ("eval", "results", "--help"), ("build", "--help")],
    ids=lambda a: " ".join(a),
)
def test_help_and_listing_import_no_model_stack(args):
    loaded = _loaded(*args)
    assert "hqseg" in loaded and "click" in loaded  # the probe did run the CLI
    assert not loaded & set(MODEL_STACK)


def test_the_command_gives_torch_huge_pages_unless_told_otherwise():
    """``hqseg`` sets THP_MEM_ALLOC_ENABLE=1 for itself and its children before torch
    loads (hqseg.utils.memory.use_huge_pages); a value the user set is kept."""
    import os

    probe = (
        "import os, sys\nfrom hqseg.cli import main\nsys.argv = ['hqseg', 'sources']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('THP=' + os.environ.get('THP_MEM_ALLOC_ENABLE', 'unset'))"
    )
    for given, want in ((None, "1"), ("0", "0")):
        env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
        if given is not None:
            env["THP_MEM_ALLOC_ENABLE"] = given
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert done.stdout.splitlines()[-1] == f"THP={want}", done.stdout + done.stderr


def test_eval_results_imports_no_model_stack(tmp_path):
    from tests.metrics.cocogen import make_coco

    gt, res = make_coco(3, seed=4)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(res))
    loaded = _loaded(
        "eval",
        "results",
        "--gt",
        str(tmp_path / "gt.json"),
        "--results",
        str(tmp_path / "res.json"),
    )
    assert "pycocotools" in loaded
    assert not loaded & set(MODEL_STACK)


def test_normalize_and_build_import_no_model_stack(tmp_path):
    raw = tmp_path / "raw" / "ecssd"
    (raw / "images").mkdir(parents=True)
    (raw / "ground_truth_mask").mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), np.uint8)).save(
            raw / "images" / f"{i}.jpg"
        )
        mask = np.zeros((24, 32), np.uint8)
        mask[5:20, 4 + i : 25] = 255
        Image.fromarray(mask).save(raw / "ground_truth_mask" / f"{i}.png")
    loaded = _loaded(
        "build", "--raw-dir", str(tmp_path / "raw"), "--normalized", str(tmp_path / "n"),
        "--out", str(tmp_path / "out"), "--allow-missing", "--workers", "1",
    )  # fmt: skip
    assert (tmp_path / "out" / "data" / "ecssd").is_dir()
    assert "pyarrow" in loaded
    assert not loaded & set(MODEL_STACK)


def test_record_schema_equals_the_datasets_features():
    """The hand-written Arrow schema (and its Hub metadata) is what ``datasets`` makes."""
    from hqseg.data.card import _feature_yaml
    from hqseg.data.schema import features
    from hqseg.data.shards import record_schema

    feats = features()
    assert record_schema().equals(feats.arrow_schema, check_metadata=True)
    kinds = {n: "image" if type(f).__name__ == "Image" else f.dtype for n, f in feats.items()}
    assert _feature_yaml() == [{"name": n, "dtype": t} for n, t in kinds.items()]
