"""HQ-SAM 2's mask decoder: ``sam2``'s ``MaskDecoder`` plus the HQ output token.

Conventions (B = prompt sets, D = 256 transformer dim):

* image embedding ``[B or 1, D, 64, 64]``; high-resolution features
  ``feat_s0 [B or 1, D/8, 256, 256]`` and ``feat_s1 [B or 1, D/4, 128, 128]`` (already
  projected by the decoder's ``conv_s0`` / ``conv_s1`` in ``SAM2Base.forward_image``);
* output tokens ``[obj_score, iou, mask x4, hf]`` (SAM 2.1 predicts object scores);
* every mask logit is ``[.., 256, 256]``; index 0 = SAM's single-mask token,
  1..3 = multimask tokens, 4 = the HQ token.

The HQ token reads ``embedding_maskfeature(upscaled)``, where ``upscaled`` is SAM 2's
upscaled embedding (which already fuses ``feat_s0`` / ``feat_s1``); SAM's tokens read
``upscaled`` itself. Nothing of SAM 2 changes.
"""

from __future__ import annotations

import torch
from sam2.modeling.sam.mask_decoder import MaskDecoder
from sam2.modeling.sam2_utils import MLP, LayerNorm2d
from torch import nn

from hqseg.modeling.sam2_hq.configs import HQ_MODULE_NAMES

HQ_INDEX = 4
"""Index of the HQ mask among the five decoder masks."""


class HQSam2MaskDecoder(MaskDecoder):
    """``sam2.modeling.sam.mask_decoder.MaskDecoder`` with the HQ token.

    Takes exactly ``MaskDecoder``'s arguments. SAM 2's parameters keep their names;
    the HQ parameters are the modules in :data:`HQ_MODULE_NAMES`.
    """

    hq_module_names = HQ_MODULE_NAMES

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        d = self.transformer_dim
        self.hf_token = nn.Embedding(1, d)
        self.hf_mlp = MLP(d, d, d // 8, 3)
        self.embedding_maskfeature = nn.Sequential(
            nn.Conv2d(d // 8, d // 4, kernel_size=3, padding=1),
            LayerNorm2d(d // 4),
            nn.GELU(),
            nn.Conv2d(d // 4, d // 8, kernel_size=3, padding=1),
        )

    def _output_tokens(self, batch: int) -> tuple[torch.Tensor, int]:
        """``[batch, T, D]`` output tokens and the index of the IoU token."""
        parts = [self.iou_token.weight, self.mask_tokens.weight, self.hf_token.weight]
        if self.pred_obj_scores:
            parts.insert(0, self.obj_score_token.weight)
        tokens = torch.cat(parts, dim=0)
        return tokens.unsqueeze(0).expand(batch, -1, -1), int(self.pred_obj_scores)

    def _upscale(self, src: torch.Tensor, high_res_features) -> torch.Tensor:
        """SAM 2's output upscaling ``[B, D, 64, 64] -> [B, D/8, 256, 256]``."""
        if not self.use_high_res_features:
            return self.output_upscaling(src)
        dc1, ln1, act1, dc2, act2 = self.output_upscaling
        feat_s0, feat_s1 = high_res_features
        upscaled = act1(ln1(dc1(src) + feat_s1))
        return act2(dc2(upscaled) + feat_s0)

    def predict_all_masks(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        *,
        repeat_image: bool,
        high_res_features: list[torch.Tensor] | tuple[torch.Tensor, ...] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every token's output.

        Returns masks ``[B, 5, 256, 256]`` (SAM 0..3, HQ 4), iou_predictions ``[B, 4]``,
        mask-token outputs ``[B, 5, D]`` and object-score logits ``[B, 1]``.
        """
        tokens, s = self._output_tokens(sparse_prompt_embeddings.shape[0])
        tokens = torch.cat((tokens, sparse_prompt_embeddings), dim=1)
        if repeat_image:
            src = torch.repeat_interleave(image_embeddings, tokens.shape[0], dim=0)
        else:
            if image_embeddings.shape[0] != tokens.shape[0]:
                raise ValueError("image batch and prompt batch differ; use repeat_image")
            src = image_embeddings
        src = src + dense_prompt_embeddings
        pos_src = torch.repeat_interleave(image_pe, tokens.shape[0], dim=0)
        b, c, h, w = src.shape

        hs, src = self.transformer(src, pos_src, tokens)
        iou_token_out = hs[:, s, :]
        n_out = self.num_mask_tokens + 1
        mask_tokens_out = hs[:, s + 1 : s + 1 + n_out, :]

        upscaled = self._upscale(src.transpose(1, 2).reshape(b, c, h, w), high_res_features)
        upscaled_hq = self.embedding_maskfeature(upscaled)
        mlps = [*self.output_hypernetworks_mlps, self.hf_mlp]
        hyper_in = torch.stack([mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(mlps)], 1)
        b, c, h, w = upscaled.shape
        masks_sam = (hyper_in[:, :HQ_INDEX] @ upscaled.view(b, c, h * w)).view(b, -1, h, w)
        masks_hq = (hyper_in[:, HQ_INDEX:] @ upscaled_hq.view(b, c, h * w)).view(b, 1, h, w)
        masks = torch.cat([masks_sam, masks_hq], dim=1)

        iou_pred = self.iou_prediction_head(iou_token_out)
        if self.pred_obj_scores:
            object_score_logits = self.pred_obj_score_head(hs[:, 0, :])
        else:  # SAM 2's default: the object is present (sigmoid(10) ~ 1)
            object_score_logits = 10.0 * iou_pred.new_ones(iou_pred.shape[0], 1)
        return masks, iou_pred, mask_tokens_out, object_score_logits

    def sam_single_mask(
        self, sam_masks: torch.Tensor, iou_pred: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM 2's single-mask answer from its four masks ``[B, 4, H, W]``: token 0, or in
        eval mode with ``dynamic_multimask_via_stability`` the best multimask token
        when token 0 is unstable. Returns ``[B, 1, H, W]`` and ``[B, 1]``."""
        if self.dynamic_multimask_via_stability and not self.training:
            return self._dynamic_multimask_via_stability(sam_masks, iou_pred)
        return sam_masks[:, 0:1], iou_pred[:, 0:1]

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        multimask_output: bool,
        repeat_image: bool,
        high_res_features: list[torch.Tensor] | None = None,
        hq_token_only: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The authors' ``MaskDecoderHQ.forward`` behaviour.

        * multimask: SAM masks 1..3 with their 3 IoUs; the HQ logits are added to each
          (3 masks), or with ``hq_token_only`` the HQ mask alone (1 mask, 3 IoUs);
        * single mask: SAM's :meth:`sam_single_mask`, plus HQ (or HQ alone).

        Returns masks ``[B, 1 or 3, 256, 256]``, iou_predictions ``[B, 1 or 3]``, the
        SAM token for object pointers ``[B, 1 or 3, D]`` and object-score logits.
        """
        masks, iou_pred, tokens_out, obj_logits = self.predict_all_masks(
            image_embeddings,
            image_pe,
            sparse_prompt_embeddings,
            dense_prompt_embeddings,
            repeat_image=repeat_image,
            high_res_features=high_res_features,
        )
        if multimask_output:
            sam, iou_pred = masks[:, 1:HQ_INDEX], iou_pred[:, 1:]
        else:
            sam, iou_pred = self.sam_single_mask(masks[:, :HQ_INDEX], iou_pred)
        hq = masks[:, HQ_INDEX : HQ_INDEX + 1]
        if multimask_output and self.use_multimask_token_for_obj_ptr:
            sam_tokens_out = tokens_out[:, 1:HQ_INDEX]
        else:
            sam_tokens_out = tokens_out[:, 0:1]
        return (hq if hq_token_only else hq + sam), iou_pred, sam_tokens_out, obj_logits
