"""``publish`` decides "sample" from the build's stats.json (issue 17, item 10).

The card is the user's to edit: setting it to ``sample: false`` must not lift the
refusal; ``--dry-run`` on a sample build says "would be refused" and exits 2.
No upload is reached in these cases (the refusal comes first), so no Hub is needed.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "build"))
from build_helpers import ecssd_raw  # noqa: E402

from hqseg.cli import main  # noqa: E402
from hqseg.data.card import parse_front_matter  # noqa: E402


@pytest.fixture(scope="module")
def real_build(tmp_path_factory) -> Path:
    from hqseg.data.build import build

    tmp = tmp_path_factory.mktemp("pub")
    ecssd_raw(tmp / "raw", 2)
    build("official", normalized_dir=tmp / "n", raw_dir=tmp / "raw", out=tmp / "out",
          allow_missing=True, workers=1, progress=False)  # fmt: skip
    return tmp / "out"


@pytest.fixture
def sample_build(real_build, tmp_path) -> Path:
    """The build as if made from the embedded sample, its card edited to ``sample: false``."""
    out = tmp_path / "b"
    shutil.copytree(real_build, out)
    stats = json.loads((out / "stats.json").read_text())
    (out / "stats.json").write_text(json.dumps({**stats, "sample": True}))
    card = (out / "README.md").read_text()
    meta = {**parse_front_matter(card), "sample": False}
    body = card[card.index("\n---", 4) + 4 :]
    (out / "README.md").write_text("---\n" + yaml.safe_dump(meta) + "---" + body)
    return out


def _publish(folder, *extra):
    res = CliRunner().invoke(main, ["publish", "--dir", str(folder), "--repo-id", "me/x", *extra])
    return res.exit_code, res.output


def test_real_build_records_sample_false(real_build):
    assert json.loads((real_build / "stats.json").read_text())["sample"] is False


def test_card_edited_to_sample_false_is_still_refused(sample_build, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # never reached
    code, out = _publish(sample_build)
    assert code == 2 and out.startswith("error: ") and out.count("\n") == 1, out
    assert "embedded sample" in out and "stats.json" in out and "--allow-sample" in out


def test_dry_run_on_a_sample_build_says_it_would_be_refused(sample_build):
    code, out = _publish(sample_build, "--dry-run")
    assert code == 2, out
    lines = out.splitlines()
    assert "README.md" in out and lines[-2].startswith("dry run: ")  # the plan is shown
    assert lines[-1].startswith("error: dry run: the upload would be refused: "), out
    code, out = _publish(sample_build, "--dry-run", "--allow-sample")
    assert code == 0 and "would be refused" not in out, out


def test_dry_run_on_a_real_build_exits_0(real_build):
    code, out = _publish(real_build, "--dry-run")
    assert code == 0 and "would be refused" not in out, out


def test_build_whose_stats_do_not_say_is_refused(real_build, tmp_path):
    out = tmp_path / "old"
    shutil.copytree(real_build, out)
    stats = json.loads((out / "stats.json").read_text())
    del stats["sample"]
    (out / "stats.json").write_text(json.dumps(stats))
    code, text = _publish(out, "--dry-run")
    assert code == 2 and "does not say whether" in text, text
