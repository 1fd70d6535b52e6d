"""``HQModel``: the interface every model line's model offers, and ``HQModelBase``, its
shared part.

Training (:mod:`hqseg.training.step`, :mod:`hqseg.training.model_api`), the predictor
(:class:`hqseg.modeling.HQSamPredictor`) and the evaluation protocols use a model only
through :class:`HQModel`. Conventions, for every line:

* images: ``[B, 3, 1024, 1024]`` raw pixels 0..255, through :meth:`HQModel.preprocess`;
* features: :meth:`HQModel.encode` gives ``(image_embeddings [B, 256, 64, 64], interm)``;
  ``interm`` is the line's second feature (HQ-SAM: the early ViT feature
  ``[B, 64, 64, C]``; HQ-SAM 2: the packed high-res features ``[B, 48, 256, 256]``);
* prompts: points ``(x, y)`` ``[B, N, 2]`` with labels ``[B, N]`` and XYXY boxes
  ``[B, 4]`` in the 1024-input frame; mask inputs ``[B, 1, 256, 256]`` logits;
* logits ``[B, .., 256, 256]`` in the padded 1024 frame; ``decode_all`` returns five tokens
  (SAM's 0..3, HQ 4) with SAM's four IoUs, ``decode_sam`` the base model's four.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch
from torch import nn

from hqseg.modeling.hq_mask_decoder import MaskType, select_masks, select_sam_mask

if TYPE_CHECKING:
    from hqseg.modeling.lines.base import ModelLine


@runtime_checkable
class HQModel(Protocol):
    """What training, the predictor and evaluation call on a model (see module doc)."""

    line: ModelLine
    model_type: str
    mask_threshold: float
    pixel_mean: torch.Tensor  # [3, 1, 1]
    pixel_std: torch.Tensor  # [3, 1, 1]
    image_encoder: nn.Module  # ``image_encoder.img_size``: the square input size (1024)
    mask_decoder: nn.Module  # switched to train mode by training
    load_report: Any  # a LoadReport once weights are loaded

    def preprocess(self, x: torch.Tensor) -> torch.Tensor: ...
    def postprocess_masks(
        self, masks: torch.Tensor, input_size: tuple[int, ...], original_size: tuple[int, ...]
    ) -> torch.Tensor: ...
    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...
    def decode_all(
        self, image_embeddings: torch.Tensor, interm_embeddings: torch.Tensor, **prompts: Any
    ) -> tuple[torch.Tensor, torch.Tensor]: ...
    def decode_sam(
        self, image_embeddings: torch.Tensor, interm_embeddings: torch.Tensor, **prompts: Any
    ) -> tuple[torch.Tensor, torch.Tensor]: ...
    def decode(
        self, image_embeddings: torch.Tensor, interm_embeddings: torch.Tensor, **options: Any
    ) -> tuple[torch.Tensor, torch.Tensor]: ...
    def hq_parameter_names(self) -> list[str]: ...
    def hq_parameters(self) -> Iterator[nn.Parameter]: ...
    def freeze_sam(self, frozen: bool = True) -> None: ...


class HQModelBase:
    """Mixin of every line's model class (before the ``nn.Module`` base): the HQ
    parameters (those under the line's ``hq_prefixes``), freezing the rest, and the
    mask choice of :meth:`decode` over the class's ``decode_all`` / ``decode_sam``.

    ``line`` and ``model_type`` are set by :meth:`ModelLine.build`.
    """

    line: ModelLine
    model_type: str

    @property
    def hq_prefixes(self) -> tuple[str, ...]:
        """State-dict prefixes of the HQ modules (the line's)."""
        return self.line.hq_prefixes

    def hq_parameter_names(self) -> list[str]:
        """Names of the HQ parameters (the keys the line adds to its base checkpoint)."""
        return [n for n, _ in self.named_parameters() if n.startswith(self.hq_prefixes)]

    def hq_parameters(self) -> Iterator[nn.Parameter]:
        """The HQ parameters, the only ones training optimises."""
        names = set(self.hq_parameter_names())
        return (p for n, p in self.named_parameters() if n in names)

    def freeze_sam(self, frozen: bool = True) -> None:
        """Make the base model's parameters untrainable (``frozen``) or trainable; the HQ
        parameters stay trainable."""
        names = set(self.hq_parameter_names())
        for n, p in self.named_parameters():
            p.requires_grad_(n in names or not frozen)

    def decode(
        self,
        image_embeddings: torch.Tensor,
        interm_embeddings: torch.Tensor,
        *,
        point_coords: torch.Tensor | None = None,
        point_labels: torch.Tensor | None = None,
        boxes: torch.Tensor | None = None,
        mask_inputs: torch.Tensor | None = None,
        multimask_output: bool = False,
        hq_token_only: bool = False,
        mask_type: MaskType | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One mask per prompt set: low_res_logits ``[B, 1, 256, 256]`` and
        iou_predictions ``[B, 1]`` (prompts as in the module doc).

        Arguments:
          multimask_output: choose SAM's mask as the best of tokens 1..3 by predicted IoU.
          hq_token_only: return the HQ logits alone instead of SAM + HQ.
          mask_type: overrides ``hq_token_only``: ``"sum"``, ``"hq"`` or ``"sam"`` (the
            base model's own decoder pass, :meth:`decode_sam`, without the HQ token).
        """
        prompts = {
            "point_coords": point_coords,
            "point_labels": point_labels,
            "boxes": boxes,
            "mask_inputs": mask_inputs,
        }
        if mask_type == "sam":
            masks, iou = self.decode_sam(image_embeddings, interm_embeddings, **prompts)
            return select_sam_mask(masks, iou, multimask_output=multimask_output)
        masks, iou = self.decode_all(image_embeddings, interm_embeddings, **prompts)
        if mask_type is None:
            mask_type = "hq" if hq_token_only else "sum"
        return select_masks(masks, iou, multimask_output=multimask_output, mask_type=mask_type)
