"""HQ-SAM: segment_anything's ``Sam`` with the HQ mask decoder and the early image feature.

Two image encoders are supported: segment_anything's ``ImageEncoderViT`` (line ``vit``)
and MobileSAM's ``TinyViT`` as the authors ship it (line ``tinyvit``, Light HQ-SAM).
"""

from __future__ import annotations

from typing import Any

import torch
from segment_anything.modeling import PromptEncoder, Sam
from torch import nn

from hqseg.modeling.hq_mask_decoder import HQMaskDecoder
from hqseg.modeling.protocol import HQModelBase


class HQSam(HQModelBase, Sam):
    """SAM with HQ-SAM's decoder.

    The early feature ``[B, 64, 64, C]`` (channels-last) is, for a ViT, the output of the
    first global-attention block, captured with a forward hook during :meth:`encode` (the
    encoder is segment_anything's, unchanged); for a TinyViT, the output of stage
    ``layers[1]``, which the authors' ``TinyViT.forward`` returns beside the embedding.

    Coordinates are in the 1024-input frame (after ``ResizeLongestSide``): points
    ``(x, y)``, boxes XYXY.
    """

    def __init__(
        self,
        *,
        image_encoder: nn.Module,
        prompt_encoder: PromptEncoder,
        mask_decoder: HQMaskDecoder,
        pixel_mean: tuple[float, float, float] = (123.675, 116.28, 103.53),
        pixel_std: tuple[float, float, float] = (58.395, 57.12, 57.375),
    ) -> None:
        super().__init__(
            image_encoder=image_encoder,
            prompt_encoder=prompt_encoder,
            mask_decoder=mask_decoder,
            pixel_mean=list(pixel_mean),
            pixel_std=list(pixel_std),
        )
        self.early_block_index: int | None = None  # ViT only; TinyViT returns the feature
        if hasattr(image_encoder, "blocks"):
            global_blocks = [
                i for i, blk in enumerate(image_encoder.blocks) if blk.window_size == 0
            ]
            if not global_blocks:
                raise ValueError("the image encoder has no global-attention block")
            self.early_block_index = global_blocks[0]
        self.load_report: Any = None

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """``nn.Module.load_state_dict``, then refresh TinyViT's attention-bias cache.

        TinyViT caches its attention biases when switched to eval mode (FACTS 2b), so
        weights loaded into an eval-mode model would otherwise use stale biases.
        """
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self.image_encoder.train(self.image_encoder.training)
        return result

    # ------------------------------------------------------------------ parameters
    # hq_parameter_names, hq_parameters, freeze_sam and decode: see HQModelBase

    # ------------------------------------------------------------------ encode / decode
    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode preprocessed images.

        Arguments:
          images: ``[B, 3, 1024, 1024]`` normalised and padded (see ``preprocess``).

        Returns:
          image_embeddings ``[B, 256, 64, 64]`` and interm_embeddings ``[B, 64, 64, C]``
          (the early ViT feature, channels-last).
        """
        if self.early_block_index is None:
            image_embeddings, interm = self.image_encoder(images)
            return image_embeddings, interm[0]
        captured: list[torch.Tensor] = []
        block = self.image_encoder.blocks[self.early_block_index]
        handle = block.register_forward_hook(lambda _m, _i, out: captured.append(out))
        try:
            image_embeddings = self.image_encoder(images)
        finally:
            handle.remove()
        return image_embeddings, captured[0]

    def _prompts(self, point_coords, point_labels, boxes, mask_inputs):
        if (point_coords is None) != (point_labels is None):
            raise ValueError("point_coords and point_labels must be given together")
        points = None if point_coords is None else (point_coords, point_labels)
        return self.prompt_encoder(points=points, boxes=boxes, masks=mask_inputs)

    def decode_sam(
        self,
        image_embeddings: torch.Tensor,
        interm_embeddings: torch.Tensor | None = None,
        *,
        point_coords: torch.Tensor | None = None,
        point_labels: torch.Tensor | None = None,
        boxes: torch.Tensor | None = None,
        mask_inputs: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Plain SAM (no HQ token, no HQ parameter) on ``[1, 256, 64, 64]`` embeddings:
        SAM's four mask logits ``[B, 4, 256, 256]`` and iou_predictions ``[B, 4]``.

        ``interm_embeddings`` is accepted for the common model interface and unused: SAM's
        own decoder never sees the early ViT feature (HQ-SAM 2's baseline does use its
        high-resolution features)."""
        sparse, dense = self._prompts(point_coords, point_labels, boxes, mask_inputs)
        return self.mask_decoder.predict_sam_masks(
            image_embeddings, self.prompt_encoder.get_dense_pe(), sparse, dense
        )

    def decode_all(
        self,
        image_embeddings: torch.Tensor,
        interm_embeddings: torch.Tensor,
        *,
        point_coords: torch.Tensor | None = None,
        point_labels: torch.Tensor | None = None,
        boxes: torch.Tensor | None = None,
        mask_inputs: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`decode` but return every token's logits ``[B, 5, 256, 256]``
        (SAM tokens 0..3, HQ token 4) and SAM's iou_predictions ``[B, 4]``."""
        sparse, dense = self._prompts(point_coords, point_labels, boxes, mask_inputs)
        return self.mask_decoder.predict_all_masks(
            image_embeddings,
            self.prompt_encoder.get_dense_pe(),
            sparse,
            dense,
            interm_embeddings,
        )

    def forward(
        self,
        batched_input: list[dict[str, Any]],
        multimask_output: bool,
        hq_token_only: bool = False,
    ) -> list[dict[str, torch.Tensor]]:
        """End-to-end prediction, as segment_anything's ``Sam.forward``.

        Each input dict has ``image`` ``[3, H, W]`` (already resized with
        ``ResizeLongestSide``), ``original_size`` (H, W) and optional prompts
        ``point_coords`` ``[B, N, 2]``, ``point_labels`` ``[B, N]``, ``boxes`` ``[B, 4]``,
        ``mask_inputs`` ``[B, 1, 256, 256]`` in the input frame. Each output dict has
        ``masks`` ``[B, 1, H, W]`` bool at the original size, ``iou_predictions``
        ``[B, 1]`` and ``low_res_logits`` ``[B, 1, 256, 256]``.
        """
        images = torch.stack([self.preprocess(x["image"]) for x in batched_input], dim=0)
        image_embeddings, interm_embeddings = self.encode(images)
        outputs = []
        for i, record in enumerate(batched_input):
            low_res, iou = self.decode(
                image_embeddings[i : i + 1],
                interm_embeddings[i : i + 1],
                point_coords=record.get("point_coords"),
                point_labels=record.get("point_labels"),
                boxes=record.get("boxes"),
                mask_inputs=record.get("mask_inputs"),
                multimask_output=multimask_output,
                hq_token_only=hq_token_only,
            )
            masks = self.postprocess_masks(
                low_res,
                input_size=record["image"].shape[-2:],
                original_size=record["original_size"],
            )
            outputs.append(
                {
                    "masks": masks > self.mask_threshold,
                    "iou_predictions": iou,
                    "low_res_logits": low_res,
                }
            )
        return outputs
