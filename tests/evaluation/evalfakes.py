"""Test helpers for evaluation tests: a fake box predictor and tiny build folders."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image


class FakePredictor:
    """Deterministic stand-in for HQSamPredictor, with both faces of the real one.

    * COCO path (``model_input`` + ``encode_image``, or
      ``set_image``; then ``predict_boxes_multi``): ``hq`` and ``sum`` fill the prompt
      box exactly; ``sam`` fills it minus its right-most column.
    * Protocol path (the model interface of :mod:`hqseg.evaluation.protocol`): the same
      shapes drawn on the 256x256 logit grid (box / 4), so on a 256x256 image the
      prediction is exactly the box in original pixels.

    Logits are +4 inside, -4 outside.
    """

    image_size = 1024
    resize_mode = "square"

    def __init__(self) -> None:
        import torch

        self.encoded = 0
        self.calls: list[tuple[str, int]] = []
        self.original_size = None
        self.model = SimpleNamespace(preprocess=lambda x: x)
        self.pixel_mean = torch.zeros(3, 1, 1)
        self.pixel_std = torch.ones(3, 1, 1)

    @staticmethod
    def _fill(h, w, boxes, mask_type):
        logits = np.full((len(boxes), h, w), -4.0, np.float32)
        for i, (x0, y0, x1, y1) in enumerate(np.round(boxes).astype(int)):
            right = x1 if mask_type == "sam" else x1 + 1
            logits[i, y0 : y1 + 1, x0:right] = 4.0
        return logits

    # -- model interface (protocol path)
    def encode_image(self, images):
        assert tuple(images.shape[1:]) == (3, 1024, 1024)
        self.encoded += len(images)
        return ("features", "interm")

    def decode_boxes(self, features, boxes, mask_types, *, multimask_output=False):
        import torch

        assert features == ("features", "interm") and not multimask_output
        out = {}
        for t in mask_types:
            self.calls.append((t, len(boxes)))
            low = self._fill(256, 256, np.floor(boxes.numpy() / 4), t)
            out[t] = (torch.from_numpy(low)[:, None], torch.ones(len(boxes)))
        return out

    # -- predictor face (COCO path)
    def input_image(self, image: np.ndarray):
        import torch

        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        return torch.zeros(3, 1024, 1024)

    def model_input(self, image: np.ndarray):
        return self.model.preprocess(self.input_image(image).float()), (1024, 1024)

    def set_features(self, features, interm_features, *, original_size, input_size) -> None:
        self.original_size = tuple(original_size)

    def set_image(self, image: np.ndarray) -> None:
        self.original_size = image.shape[:2]
        self.encode_image(self.input_image(image)[None])

    def predict_boxes_multi(self, boxes, *, mask_types, batch_size=64, **_):
        h, w = self.original_size
        boxes = np.asarray(boxes)
        out = {}
        for t in mask_types:
            self.calls.append((t, len(boxes)))
            logits = self._fill(h, w, boxes, t)
            out[t] = (logits > 0, np.ones(len(boxes), np.float32), None)
        return out


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def make_record(
    rid: str, split: str, h: int, w: int, box: tuple[int, int, int, int], grey: int = 255
) -> dict:
    """A record whose GT is the filled XYXY (inclusive) ``box`` at grey level ``grey``."""
    rng = np.random.default_rng(abs(hash(rid)) % 2**32)
    image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0 : y1 + 1, x0 : x1 + 1] = grey
    return {
        "id": rid,
        "source": split,
        "split": split,
        "image": png_bytes(image),
        "mask": png_bytes(mask),
        "width": w,
        "height": h,
        "category": "",
        "sha256": "",
    }


def write_build_folder(root: Path, splits: dict[str, list[dict]]) -> Path:
    """A minimal build folder: hq_eval/<split>.parquet + README.md card with configs."""
    import datasets

    from hqseg.data.schema import features

    lines = ["---", "configs:", "- config_name: hq_eval", "  data_files:"]
    for split, records in splits.items():
        cols = {k: [r[k] for r in records] for k in records[0]}
        cols["image"] = [{"bytes": b, "path": None} for b in cols["image"]]
        cols["mask"] = [{"bytes": b, "path": None} for b in cols["mask"]]
        ds = datasets.Dataset.from_dict(cols, features=features())
        (root / "hq_eval").mkdir(parents=True, exist_ok=True)
        ds.to_parquet(str(root / "hq_eval" / f"{split}.parquet"))
        lines += [f"  - split: {split}", f"    path: hq_eval/{split}.parquet"]
    lines += ["---", "", "test build folder"]
    (root / "README.md").write_text("\n".join(lines) + "\n")
    return root
