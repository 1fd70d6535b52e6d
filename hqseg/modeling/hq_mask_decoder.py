"""The HQ-SAM mask decoder: segment_anything's ``MaskDecoder`` plus the HQ output token.

Conventions (B = number of prompt sets, C = ViT width, D = transformer dim = 256):

* image embeddings ``[B or 1, D, 64, 64]`` (the encoder's final output);
* early ViT feature ``[B or 1, 64, 64, C]``, channels-last, taken after the first
  global-attention block of the ViT;
* all mask logits are ``[.., 256, 256]`` (4x the embedding size).

The decoder emits five masks per prompt set: SAM's four (index 0 = single-mask
token, 1..3 = multimask tokens) and the HQ mask (index 4). :func:`select_masks`
applies HQ-SAM's selection rules.
"""

from __future__ import annotations

from typing import Literal

import torch
from segment_anything.modeling.common import LayerNorm2d
from segment_anything.modeling.mask_decoder import MLP, MaskDecoder
from torch import nn

MaskType = Literal["sum", "hq", "sam"]
MASK_TYPES: tuple[str, ...] = ("hq", "sam", "sum")
"""The :data:`MaskType` values. ``"hq"``: HQ token alone; ``"sum"``: SAM + HQ logits
(HQ-SAM's COCO output); ``"sam"``: plain SAM's own decoder (no HQ token), the SAM baseline."""

HQ_MODULE_NAMES = (
    "hf_token",
    "hf_mlp",
    "compress_vit_feat",
    "embedding_encoder",
    "embedding_maskfeature",
)


def _upsample_x4(in_dim: int, mid_dim: int, out_dim: int) -> nn.Sequential:
    """Two stride-2 transposed convolutions: ``[B, in, h, w] -> [B, out, 4h, 4w]``."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_dim, mid_dim, kernel_size=2, stride=2),
        LayerNorm2d(mid_dim),
        nn.GELU(),
        nn.ConvTranspose2d(mid_dim, out_dim, kernel_size=2, stride=2),
    )


class HQMaskDecoder(MaskDecoder):
    """SAM's mask decoder with HQ-SAM's high-quality output token and global-local fusion.

    All of SAM's parameters keep their names, so a SAM state dict loads into the
    ``MaskDecoder`` part unchanged; the HQ parameters are the modules listed in
    :data:`HQ_MODULE_NAMES` (the 25 extra ``mask_decoder.*`` checkpoint keys).
    """

    def __init__(
        self,
        *,
        transformer_dim: int,
        transformer: nn.Module,
        vit_dim: int,
        num_multimask_outputs: int = 3,
        activation: type[nn.Module] = nn.GELU,
        iou_head_depth: int = 3,
        iou_head_hidden_dim: int = 256,
    ) -> None:
        """
        Arguments:
          transformer_dim: channel dimension D of the two-way transformer (256 in SAM).
          transformer: segment_anything's ``TwoWayTransformer``.
          vit_dim: channel width C of the early ViT feature (768 / 1024 / 1280 for B / L / H).
          num_multimask_outputs, activation, iou_head_depth, iou_head_hidden_dim: as in
            segment_anything's ``MaskDecoder``.
        """
        super().__init__(
            transformer_dim=transformer_dim,
            transformer=transformer,
            num_multimask_outputs=num_multimask_outputs,
            activation=activation,
            iou_head_depth=iou_head_depth,
            iou_head_hidden_dim=iou_head_hidden_dim,
        )
        d = transformer_dim
        self.vit_dim = vit_dim
        self.hf_token = nn.Embedding(1, d)
        self.hf_mlp = MLP(d, d, d // 8, 3)
        # Global-local fusion: early ViT feature and final embedding, both to [B, D/8, 256, 256].
        self.compress_vit_feat = _upsample_x4(vit_dim, d, d // 8)
        self.embedding_encoder = _upsample_x4(d, d // 4, d // 8)
        self.embedding_maskfeature = nn.Sequential(
            nn.Conv2d(d // 8, d // 4, kernel_size=3, padding=1),
            LayerNorm2d(d // 4),
            nn.GELU(),
            nn.Conv2d(d // 4, d // 8, kernel_size=3, padding=1),
        )

    def hq_features(
        self, image_embeddings: torch.Tensor, interm_embeddings: torch.Tensor
    ) -> torch.Tensor:
        """Fuse ``[B, D, 64, 64]`` embeddings and ``[B, 64, 64, C]`` early features into
        the HQ feature ``[B, D/8, 256, 256]``."""
        vit_features = interm_embeddings.permute(0, 3, 1, 2)
        return self.embedding_encoder(image_embeddings) + self.compress_vit_feat(vit_features)

    def predict_all_masks(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        interm_embeddings: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the decoder for all tokens.

        Arguments:
          image_embeddings: ``[B or 1, D, 64, 64]``; a batch of 1 is shared by all B prompts.
          image_pe: ``[1, D, 64, 64]`` dense positional encoding.
          sparse_prompt_embeddings: ``[B, N, D]`` point/box embeddings.
          dense_prompt_embeddings: ``[B, D, 64, 64]`` mask-input (or no-mask) embeddings.
          interm_embeddings: ``[B or 1, 64, 64, C]`` early ViT feature, same batch as
            ``image_embeddings``.

        Returns:
          masks ``[B, 5, 256, 256]`` logits (SAM tokens 0..3, then the HQ token) and
          iou_predictions ``[B, 4]`` (SAM tokens only; the HQ token has no IoU head).
        """
        b = sparse_prompt_embeddings.shape[0]
        if image_embeddings.shape[0] not in (1, b):
            raise ValueError(
                f"image batch {image_embeddings.shape[0]} must be 1 or the prompt batch {b}"
            )
        hq_features = self.hq_features(image_embeddings, interm_embeddings)

        output_tokens = torch.cat(
            [self.iou_token.weight, self.mask_tokens.weight, self.hf_token.weight], dim=0
        )
        output_tokens = output_tokens.unsqueeze(0).expand(b, -1, -1)
        tokens = torch.cat((output_tokens, sparse_prompt_embeddings), dim=1)

        src = image_embeddings.expand(b, -1, -1, -1) + dense_prompt_embeddings
        pos_src = image_pe.expand(b, -1, -1, -1)
        _, c, h, w = src.shape
        hs, src = self.transformer(src, pos_src, tokens)
        iou_token_out = hs[:, 0, :]
        mask_tokens_out = hs[:, 1 : 2 + self.num_mask_tokens, :]

        upscaled_sam = self.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
        upscaled_hq = self.embedding_maskfeature(upscaled_sam) + hq_features.expand(b, -1, -1, -1)

        hyper_sam = torch.stack(
            [mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)],
            dim=1,
        )
        hyper_hq = self.hf_mlp(mask_tokens_out[:, -1, :]).unsqueeze(1)
        _, c, h, w = upscaled_sam.shape
        masks_sam = (hyper_sam @ upscaled_sam.reshape(b, c, h * w)).reshape(b, -1, h, w)
        masks_hq = (hyper_hq @ upscaled_hq.reshape(b, c, h * w)).reshape(b, 1, h, w)
        iou_pred = self.iou_prediction_head(iou_token_out)
        return torch.cat([masks_sam, masks_hq], dim=1), iou_pred

    def predict_sam_masks(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Plain SAM's decoder on the same (frozen) SAM weights: the SAM baseline.

        segment_anything's own ``MaskDecoder.predict_masks``: the token sequence holds no
        HQ token, so the result does not depend on any HQ parameter.

        Arguments: ``image_embeddings`` ``[1, D, 64, 64]`` (shared by all B prompt sets),
        ``image_pe`` ``[1, D, 64, 64]``, sparse ``[B, N, D]``, dense ``[B, D, 64, 64]``.

        Returns:
          masks ``[B, 4, 256, 256]`` (SAM tokens 0..3) and iou_predictions ``[B, 4]``.
        """
        if image_embeddings.shape[0] != 1:
            raise ValueError("predict_sam_masks takes one image embedding ([1, D, 64, 64])")
        return MaskDecoder.predict_masks(
            self, image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings
        )

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        multimask_output: bool,
        hq_token_only: bool = False,
        interm_embeddings: torch.Tensor | list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Predict one mask per prompt set, with HQ-SAM's selection rules.

        Same arguments as :meth:`predict_all_masks`; ``interm_embeddings`` may also be a
        list whose first element is the early feature (the official package's form).

        Returns:
          masks ``[B, 1, 256, 256]`` logits and iou_predictions ``[B, 1]``; see
          :func:`select_masks`.
        """
        if interm_embeddings is None:
            raise ValueError("HQMaskDecoder needs interm_embeddings (the early ViT feature)")
        if isinstance(interm_embeddings, (list, tuple)):
            interm_embeddings = interm_embeddings[0]
        masks, iou_pred = self.predict_all_masks(
            image_embeddings,
            image_pe,
            sparse_prompt_embeddings,
            dense_prompt_embeddings,
            interm_embeddings,
        )
        return select_masks(
            masks,
            iou_pred,
            multimask_output=multimask_output,
            mask_type="hq" if hq_token_only else "sum",
        )


def select_masks(
    masks: torch.Tensor,
    iou_predictions: torch.Tensor,
    *,
    multimask_output: bool,
    mask_type: MaskType = "sum",
) -> tuple[torch.Tensor, torch.Tensor]:
    """HQ-SAM's mask selection.

    Arguments:
      masks: ``[B, 5, H, W]`` logits from :meth:`HQMaskDecoder.predict_all_masks`.
      iou_predictions: ``[B, 4]``.
      multimask_output: pick SAM's mask as the best of tokens 1..3 by predicted IoU;
        otherwise SAM's mask is token 0.
      mask_type: ``"sum"`` = SAM logits + HQ logits (``hq_token_only=False``),
        ``"hq"`` = HQ logits alone (``hq_token_only=True``), ``"sam"`` = SAM's mask token
        as read inside the HQ decoder (NOT the SAM baseline: the HQ token shares the
        attention; the baseline is :meth:`HQMaskDecoder.predict_sam_masks`).

    Returns:
      masks ``[B, 1, H, W]`` and iou_predictions ``[B, 1]`` (the chosen SAM token's IoU,
      whatever ``mask_type``, as in the official package).
    """
    if multimask_output:
        iou, idx = iou_predictions[:, 1:4].max(dim=1)
        rows = torch.arange(masks.shape[0], device=masks.device)
        sam = masks[rows, idx + 1].unsqueeze(1)
        iou = iou.unsqueeze(1)
    else:
        sam = masks[:, 0:1]
        iou = iou_predictions[:, 0:1]
    hq = masks[:, 4:5]
    if mask_type == "hq":
        return hq, iou
    if mask_type == "sam":
        return sam, iou
    if mask_type == "sum":
        return sam + hq, iou
    raise ValueError(f"mask_type must be 'sum', 'hq' or 'sam', got {mask_type!r}")


def select_sam_mask(
    masks: torch.Tensor, iou_predictions: torch.Tensor, *, multimask_output: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """SAM's single-mask choice on plain SAM's ``[B, 4, H, W]`` logits and ``[B, 4]`` IoUs:
    token 0, or with ``multimask_output`` the best of tokens 1..3 by predicted IoU.
    Returns ``[B, 1, H, W]`` and ``[B, 1]``."""
    if not multimask_output:
        return masks[:, 0:1], iou_predictions[:, 0:1]
    iou, idx = iou_predictions[:, 1:4].max(dim=1)
    rows = torch.arange(masks.shape[0], device=masks.device)
    return masks[rows, idx + 1].unsqueeze(1), iou.unsqueeze(1)
