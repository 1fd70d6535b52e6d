"""``HQSamPredictor``: encode an image once, then answer many prompts.

A drop-in for the authors' predictors by default: with the same weights it gives what
segment_anything_hq's ``SamPredictor`` gives for HQ-SAM and Light HQ-SAM (SAM's
``ResizeLongestSide`` + padding) and what sam-hq2's ``SAM2ImagePredictor`` gives for
HQ-SAM 2 (``SAM2Transforms``), in every mode. Beyond them: batched boxes for many
objects per image, the plain-SAM baseline from the same encoding (``mask_type="sam"``),
and many images encoded in one pass (:meth:`HQSamPredictor.set_image_batch`). Boxes are
XYXY and points (x, y), both in original image pixels. Every output mask is one per
prompt (HQ-SAM returns a single mask even with ``multimask_output``: then SAM's part is
its best multimask token by predicted IoU; HQ-SAM 2's authors return all three, and this
is the one of them with the highest predicted IoU; the score of their one
``hq_token_only`` mask is likewise the highest of their three IoUs).

It also implements the model interface of :mod:`hqseg.evaluation.protocol`
(``image_size``, ``pixel_mean``, ``pixel_std``, :meth:`HQSamPredictor.encode_image`,
:meth:`HQSamPredictor.decode_boxes`), through which the evaluation protocols run it; a
protocol does its own resizing, so the predictor's ``resize_mode`` plays no part there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from segment_anything.utils.transforms import ResizeLongestSide

from hqseg.modeling.hq_mask_decoder import MASK_TYPES, MaskType, select_masks, select_sam_mask
from hqseg.modeling.hq_sam import HQSam
from hqseg.modeling.input_frames import (
    RESIZE_MODES,
    as_rgb,
    default_resize_mode,
    pixel_unit,
    sam2_coords,
    sam2_image,
    square_image,
    upsample,
)
from hqseg.modeling.predictor_batch import BatchPredictionMixin

ResizeMode = Literal["square", "longest_side", "sam2"]


class HQSamPredictor(BatchPredictionMixin):
    """Predict masks for an image (or a batch of images) with an :class:`HQSam` or
    :class:`~hqseg.modeling.sam2_hq.HQSam2`.

    Arguments:
      model: the HQ-SAM model (moved to ``device`` and put in eval mode).
      device: where to run; default: where the model is.
      dtype: ``torch.bfloat16`` runs encoder and decoder under bf16 autocast; outputs
        are always float32. ``None`` or ``torch.float32``: full precision.
      resize_mode: the geometry of :meth:`set_image` / :meth:`predict` (see
        :mod:`hqseg.modeling.input_frames`). ``None`` (default): the model line's own
        interactive geometry, so the predictor is a drop-in for the authors' --
        ``"longest_side"`` for HQ-SAM and Light HQ-SAM (SAM's ``ResizeLongestSide`` +
        padding, masks back through ``postprocess_masks``), ``"sam2"`` for HQ-SAM 2
        (SAM 2's ``SAM2Transforms``). ``"square"`` is the HQ-SAM authors' *evaluation*
        geometry (1024x1024 ignoring the aspect ratio, uint8 truncation, logits upsampled
        straight to the original size), which the HQ benchmark code asks for by name.

    ``mask_type`` in :meth:`predict` / :meth:`predict_boxes` chooses the output: ``"hq"``
    (HQ token alone, as the HQ benchmarks use), ``"sum"`` (SAM + HQ logits, as COCO uses)
    or ``"sam"`` (plain SAM's own decoder, no HQ token: the SAM baseline from the same
    encoding). When it is ``None``, ``hq_token_only`` picks ``"hq"`` or ``"sum"``.
    """

    def __init__(
        self,
        model: HQSam,
        *,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
        resize_mode: ResizeMode | None = None,
    ) -> None:
        if resize_mode is None:
            resize_mode = default_resize_mode(model)
        if resize_mode not in RESIZE_MODES:
            known = ", ".join(RESIZE_MODES)
            raise ValueError(f"resize_mode must be one of {known} or None, got {resize_mode!r}")
        if resize_mode == "sam2" and default_resize_mode(model) != "sam2":
            raise ValueError("resize_mode 'sam2' is SAM 2's geometry; it needs an HQ-SAM 2 model")
        self.resize_mode = resize_mode
        self.model = model.eval()
        if device is not None:
            self.model.to(device)
        if dtype not in (None, torch.float32, torch.bfloat16):
            raise ValueError(f"dtype must be None, float32 or bfloat16, got {dtype}")
        self.dtype = dtype
        self.transform = ResizeLongestSide(model.image_encoder.img_size)
        self.reset_image()

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def image_size(self) -> int:
        """Side S of the square model input (1024)."""
        return int(self.model.image_encoder.img_size)

    @property
    def pixel_mean(self) -> torch.Tensor:
        """``[3, 1, 1]`` float32 normalisation mean in 0..255 units (SAM's; HQ-SAM 2 keeps
        SAM 2's 0..1 values on the model, scaled here)."""
        return self.model.pixel_mean * self._pixel_unit

    @property
    def pixel_std(self) -> torch.Tensor:
        """``[3, 1, 1]`` float32 normalisation std in 0..255 units."""
        return self.model.pixel_std * self._pixel_unit

    @property
    def _pixel_unit(self) -> float:
        return pixel_unit(self.model)

    def encode_image(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[1, 3, S, S]`` normalised float32 -> opaque features for :meth:`decode_boxes`
        (here the image embedding ``[1, 256, 64, 64]`` and early ViT feature)."""
        with torch.inference_mode(), self._autocast():
            return self.model.encode(images.to(self.device))

    def decode_boxes(
        self,
        features: Any,
        boxes: torch.Tensor,
        mask_types: Sequence[str],
        *,
        multimask_output: bool = False,
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Decode ``[N, 4]`` XYXY boxes (model input frame) for several mask types.

        ``"hq"`` and ``"sum"`` come from ONE HQ-decoder pass; ``"sam"`` from one pass of
        plain SAM's decoder (no HQ token). Returns ``{mask_type: (low-res logits
        [N, 1, 256, 256] float32, scores [N] float32)}``.
        """
        unknown = [t for t in mask_types if t not in MASK_TYPES]
        if unknown:
            raise ValueError(f"unknown mask type(s) {unknown}; known: {MASK_TYPES}")
        emb, interm = features
        boxes = boxes.to(self.device, torch.float32)
        out: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        with torch.inference_mode():
            hq_types = [t for t in mask_types if t != "sam"]
            if hq_types:
                with self._autocast():
                    all_masks, all_iou = self.model.decode_all(emb, interm, boxes=boxes)
                all_masks, all_iou = all_masks.float(), all_iou.float()
                for t in hq_types:
                    low, iou = select_masks(
                        all_masks, all_iou, multimask_output=multimask_output, mask_type=t
                    )
                    out[t] = (low, iou[:, 0])
            if "sam" in mask_types:
                with self._autocast():
                    sam_masks, sam_iou = self.model.decode_sam(emb, interm, boxes=boxes)
                low, iou = select_sam_mask(
                    sam_masks.float(), sam_iou.float(), multimask_output=multimask_output
                )
                out["sam"] = (low, iou[:, 0])
        return {t: out[t] for t in mask_types}

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == torch.bfloat16:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def reset_image(self) -> None:
        """Forget the current image (or batch)."""
        self.features: torch.Tensor | None = None
        self.interm_features: torch.Tensor | None = None
        self.original_size: tuple[int, int] | None = None
        self.input_size: tuple[int, int] | None = None
        self._batch: list | None = None

    def set_features(
        self,
        features: torch.Tensor,
        interm_features: torch.Tensor,
        *,
        original_size: tuple[int, int],
        input_size: tuple[int, int],
    ) -> None:
        """Hold an image encoded elsewhere (a batch's part, a cached encoding), as
        :meth:`set_image` would: ``features`` / ``interm_features`` are
        :meth:`encode_image`'s two outputs for one image (``[1, ...]`` each),
        ``original_size`` its ``(H, W)``, ``input_size`` the ``(h, w)`` it has in the
        model input before padding."""
        self.reset_image()
        self.features, self.interm_features = features, interm_features
        self.original_size, self.input_size = tuple(original_size), tuple(input_size)

    @property
    def is_image_set(self) -> bool:
        return self.features is not None

    def set_image(self, image: np.ndarray, image_format: str = "RGB") -> None:
        """Encode ``image``, an ``[H, W, 3]`` uint8 array (RGB unless ``image_format="BGR"``)."""
        image = self._checked_image(image, image_format)
        tensor, input_size = self.model_input(image)
        self.reset_image()
        emb, interm = self.encode_image(tensor[None])
        # Kept in the compute dtype; the decoder's autocast handles bf16 inputs.
        self.features, self.interm_features = emb, interm
        self.original_size = (int(image.shape[0]), int(image.shape[1]))
        self.input_size = input_size

    @staticmethod
    def _checked_image(image: np.ndarray, image_format: str) -> np.ndarray:
        """The RGB view of an ``[H, W, 3]`` uint8 image; ValueError for anything else."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 image, got {image.shape} {image.dtype}")
        if image_format not in ("RGB", "BGR"):
            raise ValueError(f"image_format must be RGB or BGR, got {image_format!r}")
        return image[..., ::-1] if image_format == "BGR" else image

    def model_input(self, image: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
        """``(H, W, 3)`` uint8 RGB -> the normalised, padded ``[3, S, S]`` float32 encoder
        input on the device and the input size ``(h, w)`` before padding."""
        tensor = self.input_image(image)
        if self.resize_mode == "sam2":  # normalised as SAM2Transforms: 0..1 units
            normalised = (tensor - self.model.pixel_mean) / self.model.pixel_std
        else:
            normalised = self.model.preprocess(tensor.float())
        return normalised, (int(tensor.shape[1]), int(tensor.shape[2]))

    def input_image(self, image: np.ndarray) -> torch.Tensor:
        """``(H, W, 3)`` uint8 RGB -> the resized ``[3, h, w]`` model input on the device,
        before normalisation and padding: uint8, or for ``"sam2"`` float32 in 0..1."""
        image = as_rgb(image)
        if self.resize_mode == "square":
            tensor = square_image(image, self.image_size)
        elif self.resize_mode == "sam2":
            tensor = sam2_image(image, self.image_size)
        else:
            tensor = torch.from_numpy(self.transform.apply_image(np.ascontiguousarray(image)))
            tensor = tensor.permute(2, 0, 1).contiguous()
        return tensor.to(self.device)

    def apply_coords(self, coords: np.ndarray) -> np.ndarray:
        """``[..., 2]`` (x, y) original pixels -> the 1024-input frame."""
        if self.resize_mode == "square":
            h, w = self.original_size
            return coords * np.array([self.image_size / w, self.image_size / h])
        if self.resize_mode == "sam2":
            return sam2_coords(coords, self.original_size, self.image_size)
        return self.transform.apply_coords(coords, self.original_size)

    def apply_boxes(self, boxes: np.ndarray) -> np.ndarray:
        """``[N, 4]`` XYXY original pixels -> the 1024-input frame."""
        return self.apply_coords(boxes.reshape(-1, 2, 2)).reshape(-1, 4)

    def to_original_size(self, low_res: torch.Tensor) -> torch.Tensor:
        """``[B, 1, 256, 256]`` logits -> ``[B, 1, H, W]`` at the original size (bilinear)."""
        if self.resize_mode == "longest_side":
            return self.model.postprocess_masks(low_res, self.input_size, self.original_size)
        return upsample(low_res, self.original_size)

    def _clamp_low_res(self, low_res: torch.Tensor) -> torch.Tensor:
        """The returned low-res logits, clamped where the model's own predictor clamps
        them (SAM 2: +-32, after the masks were upsampled from the unclamped logits)."""
        limit = getattr(self.model, "low_res_logit_clamp", None)
        return low_res if limit is None else low_res.clamp(-limit, limit)

    def _require_image(self) -> None:
        if self._batch is not None:
            raise RuntimeError("the predictor holds a batch: use predict_batch(), or set_image()")
        if not self.is_image_set:
            raise RuntimeError("call set_image() before predicting")

    def _decode(self, *, multimask_output: bool, mask_type: MaskType, return_logits: bool, **p):
        """Decode prompt tensors in the input frame; return original-size outputs."""
        with torch.inference_mode(), self._autocast():
            low_res, iou = self.model.decode(
                self.features,
                self.interm_features,
                multimask_output=multimask_output,
                mask_type=mask_type,
                **p,
            )
        with torch.inference_mode():
            low_res, iou = low_res.float(), iou.float()
            masks = self.to_original_size(low_res)
            low_res = self._clamp_low_res(low_res)
        masks = masks[:, 0]
        if not return_logits:
            masks = masks > self.model.mask_threshold
        return masks, iou[:, 0], low_res

    def predict_torch(
        self,
        point_coords: torch.Tensor | None = None,
        point_labels: torch.Tensor | None = None,
        boxes: torch.Tensor | None = None,
        mask_input: torch.Tensor | None = None,
        multimask_output: bool = True,
        return_logits: bool = False,
        hq_token_only: bool = False,
        *,
        mask_type: MaskType | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batched prompts already in the 1024-input frame (as ``SamPredictor.predict_torch``,
        with its argument order and defaults).

        Arguments: point_coords ``[B, N, 2]`` (x, y), point_labels ``[B, N]``, boxes
        ``[B, 4]`` XYXY, mask_input ``[B, 1, 256, 256]`` logits.

        Returns: masks ``[B, H, W]`` (bool, or float logits with ``return_logits``) at the
        original size, scores ``[B]`` (predicted IoU of SAM's chosen token) and
        low-res logits ``[B, 1, 256, 256]``.
        """
        self._require_image()
        if mask_type is None:
            mask_type = "hq" if hq_token_only else "sum"
        return self._decode(
            multimask_output=multimask_output,
            mask_type=mask_type,
            return_logits=return_logits,
            point_coords=point_coords,
            point_labels=point_labels,
            boxes=boxes,
            mask_inputs=mask_input,
        )

    def predict(
        self,
        point_coords: np.ndarray | None = None,
        point_labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        mask_input: np.ndarray | None = None,
        multimask_output: bool = True,
        return_logits: bool = False,
        hq_token_only: bool = False,
        *,
        mask_type: MaskType | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One prompt set in original image pixels (as ``SamPredictor.predict``, with its
        argument order and defaults; ``mask_type`` overrides ``hq_token_only``).

        Arguments: point_coords ``[N, 2]`` (x, y), point_labels ``[N]`` (1 = foreground),
        box ``[4]`` XYXY, mask_input ``[1, 256, 256]`` logits.

        Returns: masks ``[1, H, W]``, scores ``[1]``, low-res logits ``[1, 256, 256]``.
        """
        self._require_image()
        pts = lbl = bx = msk = None
        if point_coords is not None:
            if point_labels is None:
                raise ValueError("point_labels must be given with point_coords")
            coords = np.asarray(point_coords, float).reshape(-1, 2)
            coords = self.apply_coords(coords)
            pts = torch.as_tensor(coords, dtype=torch.float, device=self.device)[None]
            labels = np.asarray(point_labels).reshape(-1)
            lbl = torch.as_tensor(labels, dtype=torch.int, device=self.device)[None]
        if box is not None:
            b = self.apply_boxes(np.asarray(box, float).reshape(1, 4))
            bx = torch.as_tensor(b, dtype=torch.float, device=self.device)
        if mask_input is not None:
            msk = torch.as_tensor(mask_input, dtype=torch.float, device=self.device)[None]
        masks, scores, low_res = self.predict_torch(
            pts,
            lbl,
            bx,
            msk,
            multimask_output=multimask_output,
            hq_token_only=hq_token_only,
            mask_type=mask_type,
            return_logits=return_logits,
        )
        return masks.cpu().numpy(), scores.cpu().numpy(), low_res[:, 0].cpu().numpy()
