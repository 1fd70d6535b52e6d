"""The review page's content, read back from its HTML (the browser test drives it)."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from review_data import GONE, SIGNALS

from hqseg.cli import main
from hqseg.curation.review import MASK_RGB, MODEL_RGB, THUMB, write_review_page
from hqseg.data.records import decode_image, decode_mask, load_split
from hqseg.errors import DatasetError

TOP = 12


class _Page(HTMLParser):
    """Rows (``tr.suspect`` attributes and their images' src) and every src/href."""

    def __init__(self, text: str):
        super().__init__()
        self.rows: list[dict] = []
        self.links: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and attrs.get("class") == "suspect":
            self.rows.append({**attrs, "imgs": []})
        if tag == "img" and self.rows:
            self.rows[-1]["imgs"].append(attrs["src"])
        self.links += [attrs[k] for k in ("src", "href") if k in attrs]


def _decode(uri: str) -> np.ndarray:
    head, data = uri.split(",", 1)
    assert head == "data:image/jpeg;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")).astype(float)


def _record(build, source, split, rid):
    ds = load_split(build, source, split)
    return ds[ds["id"].index(rid)]


def _interior(mask: np.ndarray, px: int = 3) -> np.ndarray:
    """``mask`` eroded by ``px``: away from the edge, where JPEG's 2x2 chroma blur can't reach."""
    import cv2

    return cv2.erode(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0


def test_page_shows_the_top_suspects_in_score_order(audit, tmp_path):
    path = write_review_page(audit.csv, audit.build, tmp_path, top=TOP)
    text = path.read_text(encoding="utf-8")
    page = _Page(text)
    expected = [r["id"] for r in audit.rows[:TOP] if r["id"] != GONE]
    assert audit.rows[0]["id"] == GONE and len(expected) == TOP - 1
    assert [r["data-id"] for r in page.rows] == expected
    assert all(len(r["imgs"]) == 2 for r in page.rows)  # image + mask, no model column
    assert "not in this build" in text and GONE in text  # listed, not silently dropped
    # self-contained: every image is embedded, nothing is fetched
    assert page.links and all(link.startswith("data:image/jpeg;base64,") for link in page.links)
    assert "http://" not in text and "https://" not in text
    for sig in SIGNALS:
        assert f'<option value="{sig}">' in text and f'data-key="{sig}"' in text
    assert len(text) < 12_000 * TOP  # thumbnails keep it light


def _thumb_case(audit, row):
    """(image thumb, overlay thumb, full-size image, mask at thumb size) of a page row."""
    split = next(r["split"] for r in audit.rows if r["id"] == row["data-id"])
    rec = _record(audit.build, row["data-source"], split, row["data-id"])
    image, overlay = (_decode(u) for u in row["imgs"])
    h, w = image.shape[:2]
    mask = np.asarray(Image.fromarray(decode_mask(rec["mask"]) > 128).resize((w, h))) > 0
    return image, overlay, decode_image(rec["image"]), mask


def test_thumbnails_show_the_image_and_its_mask(audit, tmp_path):
    path = write_review_page(audit.csv, audit.build, tmp_path, top=TOP)
    cases = [_thumb_case(audit, r) for r in _Page(path.read_text(encoding="utf-8")).rows]
    for image, overlay, full, _ in cases:  # shrunk to THUMB pixels, never enlarged
        assert max(image.shape[:2]) == min(THUMB, max(full.shape[:2]))
        assert image.shape == overlay.shape
    # a suspect whose mask has an interior and an exterior away from the edges (thin
    # objects have none at thumbnail size)
    image, overlay, full, mask = next(c for c in cases if _interior(c[3]).sum() > 100)
    h, w = image.shape[:2]
    small = np.asarray(Image.fromarray(full).resize((w, h), Image.Resampling.BOX), float)
    # JPEG at quality 75 plus a different (area vs box) shrink: a few grey levels on average
    assert np.abs(image - small).mean() < 8
    tinted = 0.5 * image + 0.5 * np.asarray(MASK_RGB, float)
    inside, outside = _interior(mask), _interior(~mask)
    assert np.abs(overlay[inside] - tinted[inside]).mean() < 8  # the mask is tinted green...
    assert np.abs(overlay[outside] - image[outside]).mean() < 8  # ...and nothing else is
    assert np.abs(overlay[inside] - image[inside]).mean() > 20


def test_model_masks_of_every_kind_are_drawn(audit, tmp_path):
    from pycocotools import mask as mask_utils

    top = [r for r in audit.rows[1:4]]  # the first three drawn suspects
    masks = {}
    for kind, r in zip(("bool", "uint8", "rle"), top, strict=True):
        rec = _record(audit.build, r["source"], r["split"], r["id"])
        h, w = decode_mask(rec["mask"]).shape
        left = np.zeros((h, w), bool)
        left[:, : w // 2] = True  # the model says: the left half
        if kind == "uint8":
            left = left.astype(np.uint8) * 255
        elif kind == "rle":
            left = mask_utils.encode(np.asfortranarray(left.astype(np.uint8)))
            left["counts"] = left["counts"].decode("ascii")
        masks[r["id"]] = left
    path = write_review_page(audit.csv, audit.build, tmp_path, top=TOP, model_masks=masks)
    rows = _Page(path.read_text(encoding="utf-8")).rows
    assert [len(r["imgs"]) for r in rows] == [3, 3, 3] + [2] * (len(rows) - 3)
    red = np.asarray(MODEL_RGB, float)
    for r in rows[:3]:
        image, model = _decode(r["imgs"][0]), _decode(r["imgs"][2])
        w = image.shape[1]
        left, right = slice(2, w // 2 - 3), slice(w // 2 + 3, w - 2)
        tinted = 0.5 * image[:, left] + 0.5 * red
        assert np.abs(model[:, left] - tinted).mean() < 12, r["data-id"]  # outline drawn too
        assert np.abs(model[:, right] - image[:, right]).mean() < 12, r["data-id"]


def test_review_command_writes_index_html(audit, tmp_path):
    folder = tmp_path / "audit"
    folder.mkdir()
    (folder / "audit.csv").write_bytes(audit.csv.read_bytes())
    page = tmp_path / "review.html"
    args = ["review", str(folder), "--data", str(audit.build), "--top", "5", "--out", str(page)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert len(_Page(page.read_text(encoding="utf-8")).rows) == 4  # 5 - GONE
    assert CliRunner().invoke(main, args).exit_code == 0  # its own page: replaced
    page.write_text("my notes", encoding="utf-8")  # no longer the page it wrote: refused
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and page.read_text(encoding="utf-8") == "my notes", res.output
    res = CliRunner().invoke(main, ["review", str(tmp_path), "--data", str(audit.build),
                                    "--out", str(tmp_path / "other.html")])  # fmt: skip
    assert res.exit_code == 2 and "cannot read the audit table" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_review_command_draws_model_masks_from_rle_json(audit, tmp_path):
    import json

    from pycocotools import mask as mask_utils

    folder = tmp_path / "audit"
    folder.mkdir()
    (folder / "audit.csv").write_bytes(audit.csv.read_bytes())
    rid = audit.rows[1]["id"]
    rle = mask_utils.encode(np.asfortranarray(np.ones((20, 30), np.uint8)))
    masks = {rid: {"size": rle["size"], "counts": rle["counts"].decode("ascii")}}
    (tmp_path / "m.json").write_text(json.dumps(masks))
    args = ["review", str(folder), "--data", str(audit.build), "--top", "3",
            "--model-masks", str(tmp_path / "m.json"),
            "--out", str(folder / "model.html")]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    rows = _Page((folder / "model.html").read_text(encoding="utf-8")).rows
    assert [len(r["imgs"]) for r in rows] == [3, 2]
    (tmp_path / "m.json").write_text(json.dumps({rid: [1, 2]}))
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "model masks must be a JSON object" in res.output


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("id,source,split,score\na,b,c,1\n", "no column(s) rank, reasons"),
        ("id,source,split,score,rank,reasons\necssd/x,ecssd,test,high,1,r\n",
         "line 2: score is not a number: 'high'"),
        ("id,source,split,score,rank,reasons\n,ecssd,test,1,1,r\n", "line 2 has no id"),
    ],
)
def test_bad_audit_tables_are_clear_errors(audit, tmp_path, text, needle):
    (tmp_path / "audit.csv").write_text(text)
    with pytest.raises(DatasetError, match="audit.csv") as err:
        write_review_page(tmp_path / "audit.csv", audit.build, tmp_path / "out")
    assert needle in str(err.value)
    assert not (tmp_path / "out").exists()


def test_not_a_build_folder(tmp_path):
    with pytest.raises(DatasetError, match="not a hqseg build folder"):
        write_review_page(tmp_path / "audit.csv", tmp_path, tmp_path / "out")
