"""The paper reference holds every model line's published rows, named and consistent."""

from pathlib import Path

import pytest

from hqseg.modeling.model_types import MODEL_TYPES
from hqseg.report.paper import load_paper, paper_rows

PAPER = Path(__file__).resolve().parents[2] / "eval" / "paper_reference.json"


def test_every_reference_model_type_is_a_registered_official_type():
    for model_type in load_paper(PAPER)["models"]:
        assert model_type in MODEL_TYPES and not MODEL_TYPES[model_type].test


def test_light_hq_sam_and_hq_sam2_rows():
    paper = load_paper(PAPER)["models"]
    assert paper["vit_tiny"]["hq_sam"]["coco"] == {
        "AP": 45.0,
        "AP_L": 62.8,
        "AP_M": 48.8,
        "AP_S": 29.2,
    }
    assert paper["vit_tiny"]["sam"]["coco"] == {
        "AP": 44.3,
        "AP_L": 61.8,
        "AP_M": 48.1,
        "AP_S": 28.8,
    }
    sam2 = paper["sam2.1_hiera_l"]
    assert (sam2["hq_sam"]["coco"]["AP"], sam2["hq_sam"]["coco_multimask"]["AP"]) == (50.9, 50.4)
    assert (sam2["sam"]["coco"]["AP"], sam2["sam"]["coco_multimask"]["AP"]) == (50.0, 48.3)
    # the published baseline names are the line's (FACTS 2b)
    for model_type, models in paper.items():
        assert models["sam"]["name"] == MODEL_TYPES[model_type].baseline


def test_paper_rows_name_each_line_and_split_multimask():
    rows = paper_rows(load_paper(PAPER), {}, {})
    by_source = {(r["source"], r["name"]): r for r in rows}
    assert by_source[("paper vit_tiny", "Light HQ-SAM")]["AP"] == 45.0
    assert by_source[("paper vit_tiny", "MobileSAM")]["AP"] == 44.3
    assert by_source[("paper sam2.1_hiera_l multi-mask", "HQ-SAM 2")]["AP"] == 50.4
    assert by_source[("paper sam2.1_hiera_l", "SAM 2.1")]["AP"] == 50.0
    assert by_source[("paper vit_l", "HQ-SAM")]["mIoU"] == pytest.approx(89.1)
    assert len(rows) == 2 * 5 + 2 + 2  # 5 lines x 2 models, 2 multi-mask rows, this run
