"""ONNX graph of HQ-SAM 2's prompt encoder + HQ mask decoder (SAM 2.1's image encoder
runs elsewhere).

The HQ-SAM 2 line (:mod:`hqseg.modeling.lines.hq_sam2`) exports its models with
:class:`HQSam2OnnxDecoder`. The image-feature inputs carry the names and shapes of the common SAM 2
ONNX image-encoder exports, so an unchanged SAM 2.1 encoder graph of the same size
feeds it (D = 256 for every SAM 2.1 size):

inputs (batch 1, float32)
  ``image_embed``       ``[1, D, 64, 64]``      the image embedding WITH SAM 2's
                                                ``no_mem_embed`` added (single-image
                                                mode; ``HQSam2.encode``'s 1st output);
  ``high_res_feats_0``  ``[1, D/8, 256, 256]``  ``feat_s0``, after the decoder's
                                                ``conv_s0``;
  ``high_res_feats_1``  ``[1, D/4, 128, 128]``  ``feat_s1``, after ``conv_s1``. From
                                                hqseg's packed ``[1, 48, 256, 256]``
                                                feature: ``unpack_high_res(packed, 32)``;
  ``point_coords``      ``[1, N, 2]``           (x, y) in the 1024-input frame, N >= 1
                                                dynamic; a box is two corner points
                                                put first;
  ``point_labels``      ``[1, N]``              1 foreground, 0 background, 2 / 3 box
                                                top-left / bottom-right corner;
  ``mask_input``        ``[1, 1, 256, 256]``    a previous low-res logit mask;
  ``has_mask_input``    ``[1]``                 1 to use ``mask_input``, else 0.

The graph appends SAM 2's padding point (label -1) itself, always, as SAM 2's prompt
encoder does for ``SAM2ImagePredictor`` (which passes boxes as corner points): do NOT
add one (unlike SAM's ONNX convention).

outputs: ``masks_hq``, ``masks_sum`` ``[1, 1, 256, 256]`` and ``iou_predictions``
``[1, 1]`` (dimensions named as :data:`~hqseg.modeling.onnx_export.OUTPUT_DIMS` says),
as :meth:`HQSam2.decode` with ``hq_token_only`` True / False (see
:mod:`hqseg.modeling.onnx_export`). Without ``multimask_output``, SAM's part is
SAM 2's single-mask answer (token 0, or the best multimask token when token 0 is
unstable). The logits are not clamped; ``SAM2ImagePredictor`` clamps the low-res
logits it returns (and that callers feed back as ``mask_input``) to +-32.
"""

from __future__ import annotations

import torch

from hqseg.modeling.onnx_export import OnnxDecoder


class HQSam2OnnxDecoder(OnnxDecoder):
    """The graph of HQ-SAM 2 (line ``sam2``); see the module docstring."""

    feature_inputs = ("image_embed", "high_res_feats_0", "high_res_feats_1")

    @property
    def prompt_encoder(self) -> torch.nn.Module:
        return self.model.sam_prompt_encoder

    def feature_examples(self) -> tuple[torch.Tensor, ...]:
        d = self.model.sam_mask_decoder.transformer_dim
        return (
            torch.randn(1, d, 64, 64),
            torch.randn(1, d // 8, 256, 256),
            torch.randn(1, d // 4, 128, 128),
        )

    def forward(
        self,
        image_embed: torch.Tensor,
        high_res_feats_0: torch.Tensor,
        high_res_feats_1: torch.Tensor,
        point_coords: torch.Tensor,
        point_labels: torch.Tensor,
        mask_input: torch.Tensor,
        has_mask_input: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # SAM 2's padding point: (0, 0), label -1 (its position encoding is unused).
        pad = torch.zeros_like(point_coords[:, :1])
        coords = torch.cat([point_coords, pad], dim=1)
        labels = torch.cat([point_labels, torch.full_like(point_labels[:, :1], -1.0)], dim=1)
        masks, iou = self.model.decode_embedded(
            image_embed,
            [high_res_feats_0, high_res_feats_1],
            self._embed_points(coords, labels),
            self._embed_mask(mask_input, has_mask_input),
        )
        return self._outputs(masks, iou)
