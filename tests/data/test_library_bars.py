"""Hugging Face datasets' own progress bars stay out of logs (stderr not a terminal)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evaluation"))

LOAD = """
import sys
from hqseg.data.records import load_split
import datasets
folder, how = sys.argv[1], sys.argv[2]
if how == "hqseg":
    ds = load_split(folder, "hq_eval", "coift")
else:  # datasets alone, as a check that its bars do show here
    ds = datasets.load_dataset(folder, "hq_eval", split="coift", cache_dir=folder + "/c2")
print(len(ds))
"""


def _load(folder: Path, how: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "HQSEG_PROGRESS")}
    return subprocess.run(
        [sys.executable, "-c", LOAD, str(folder), how],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    )  # fmt: skip


def test_generating_split_bars_do_not_leak(tmp_path):
    from evalfakes import make_record, write_build_folder

    records = [make_record(f"coift/{i}", "coift", 20, 24, (3, 4, 15, 18)) for i in range(3)]
    folder = write_build_folder(tmp_path / "build", {"coift": records})
    bare = _load(folder, "datasets")
    assert "Generating coift split" in bare.stderr  # the bar this test is about
    ours = _load(folder, "hqseg")
    assert ours.stdout.strip() == "3"
    assert "Generating" not in ours.stderr and "%|" not in ours.stderr, ours.stderr
