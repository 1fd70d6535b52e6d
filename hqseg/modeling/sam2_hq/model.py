"""HQ-SAM 2: Meta's ``SAM2Base`` (SAM 2.1, unchanged) with the HQ mask decoder, behind
the same ``encode`` / ``decode`` / ``decode_all`` interface as :class:`hqseg.modeling.HQSam`.

So training (``hqseg.training``), :class:`hqseg.modeling.HQSamPredictor` and the
evaluators use it unchanged:

* images: ``[B, 3, 1024, 1024]``, raw pixels 0..255 through :meth:`preprocess`
  (``SAM2Transforms``' normalisation: x / 255, then ImageNet mean/std, numerically
  SAM's ``pixel_mean`` / ``pixel_std``);
* features: ``(image_embed [B, 256, 64, 64], high_res [B, 48, 256, 256])``; ``high_res``
  packs SAM 2's ``feat_s0 [B, 32, 256, 256]`` and ``feat_s1 [B, 64, 128, 128]`` into one
  tensor (see :func:`pack_high_res`) so that callers can index, move and cast it like
  HQ-SAM's early ViT feature;
* prompts: points ``(x, y)`` and XYXY boxes in the 1024 frame, mask inputs
  ``[B, 1, 256, 256]`` logits; boxes go to SAM 2's prompt encoder as two corner points
  (labels 2, 3) before any clicks, as ``SAM2ImagePredictor`` does;
* logits ``[B, .., 256, 256]``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from sam2.modeling.sam.mask_decoder import MaskDecoder
from sam2.modeling.sam2_base import SAM2Base

from hqseg.modeling.protocol import HQModelBase
from hqseg.modeling.sam2_hq.mask_decoder import HQ_INDEX, HQSam2MaskDecoder

PIXEL_MEAN = (0.485, 0.456, 0.406)
PIXEL_STD = (0.229, 0.224, 0.225)
"""ImageNet mean / std of pixels scaled to 0..1, applied as ``SAM2Transforms`` does
(x / 255, then normalise), so inputs match SAM 2's bit for bit."""
BOX_CORNER_LABELS = (2, 3)
LOW_RES_LOGIT_CLAMP = 32.0
"""SAM 2's image predictor clamps the low-res logits it returns to +-32."""


def pack_high_res(feat_s0: torch.Tensor, feat_s1: torch.Tensor) -> torch.Tensor:
    """``[B, 32, 256, 256]`` + ``[B, 64, 128, 128]`` -> ``[B, 48, 256, 256]`` (lossless:
    ``feat_s1`` is pixel-shuffled, a pure permutation)."""
    return torch.cat([feat_s0, F.pixel_shuffle(feat_s1, 2)], dim=1)


def unpack_high_res(packed: torch.Tensor, s0_channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of :func:`pack_high_res`: ``(feat_s0, feat_s1)``."""
    return packed[:, :s0_channels], F.pixel_unshuffle(packed[:, s0_channels:], 2)


class HQSam2(HQModelBase, SAM2Base):
    """SAM 2.1 with the HQ mask decoder; built from a SAM 2.1 config (see
    :func:`hqseg.modeling.sam2_hq.build_hq_sam2`). The state dict has SAM 2.1's keys
    plus the 13 HQ keys under ``sam_mask_decoder.``."""

    mask_threshold = 0.0
    low_res_logit_clamp = LOW_RES_LOGIT_CLAMP

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD).view(-1, 1, 1), False)
        # HQSamPredictor reads the input size here (segment_anything's ImageEncoderViT
        # has it); SAM 2 keeps it on the model.
        self.image_encoder.img_size = self.image_size
        self.load_report: Any = None

    def _build_sam_heads(self) -> None:
        """SAM 2's heads, with the mask decoder rebuilt as :class:`HQSam2MaskDecoder`
        from the same arguments."""
        super()._build_sam_heads()
        plain = self.sam_mask_decoder
        self.sam_mask_decoder = HQSam2MaskDecoder(
            num_multimask_outputs=plain.num_multimask_outputs,
            transformer=plain.transformer,
            transformer_dim=plain.transformer_dim,
            iou_head_depth=plain.iou_prediction_head.num_layers,
            iou_head_hidden_dim=plain.iou_prediction_head.layers[0].out_features,
            use_high_res_features=self.use_high_res_features_in_sam,
            iou_prediction_use_sigmoid=self.iou_prediction_use_sigmoid,
            pred_obj_scores=self.pred_obj_scores,
            pred_obj_scores_mlp=self.pred_obj_scores_mlp,
            use_multimask_token_for_obj_ptr=self.use_multimask_token_for_obj_ptr,
            **(self.sam_mask_decoder_extra_args or {}),
        )

    @property
    def mask_decoder(self) -> HQSam2MaskDecoder:
        """``sam_mask_decoder`` under HQSam's name (the training loop switches it to
        train mode); a property, so the state dict keeps SAM 2's key names only."""
        return self.sam_mask_decoder

    # ------------------------------------------------------------------ parameters
    # hq_parameter_names, hq_parameters, freeze_sam and decode: see HQModelBase

    # ------------------------------------------------------------------ images
    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Raw pixels ``[.., 3, h, w]`` (0..255, h, w <= 1024) -> normalised, padded
        bottom-right to ``[.., 3, 1024, 1024]``."""
        x = (x / 255.0 - self.pixel_mean) / self.pixel_std
        h, w = x.shape[-2:]
        return F.pad(x, (0, self.image_size - w, 0, self.image_size - h))

    def postprocess_masks(
        self,
        masks: torch.Tensor,
        input_size: tuple[int, ...],
        original_size: tuple[int, ...],
    ) -> torch.Tensor:
        """``[B, C, 256, 256]`` -> ``[B, C, H, W]``: upsample to the input frame, remove the
        padding, resize to the original size (bilinear), as ``Sam.postprocess_masks``."""
        masks = F.interpolate(
            masks, (self.image_size, self.image_size), mode="bilinear", align_corners=False
        )
        masks = masks[..., : input_size[0], : input_size[1]]
        return F.interpolate(masks, tuple(original_size), mode="bilinear", align_corners=False)

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode preprocessed images ``[B, 3, 1024, 1024]``.

        Returns image_embed ``[B, 256, 64, 64]`` (with SAM 2's ``no_mem_embed`` added, as
        for a single image) and the packed high-res features ``[B, 48, 256, 256]``.
        """
        backbone_out = self.forward_image(images)
        _, feats, _, sizes = self._prepare_backbone_features(backbone_out)
        if self.directly_add_no_mem_embed:
            feats[-1] = feats[-1] + self.no_mem_embed
        b = images.shape[0]
        maps = [
            f.permute(1, 2, 0).reshape(b, -1, h, w) for f, (h, w) in zip(feats, sizes, strict=True)
        ]
        return maps[-1], pack_high_res(maps[0], maps[1])

    # ------------------------------------------------------------------ prompts / decoding
    def embed_prompts(
        self,
        *,
        point_coords: torch.Tensor | None = None,
        point_labels: torch.Tensor | None = None,
        boxes: torch.Tensor | None = None,
        mask_inputs: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM 2's prompt encoder on hqseg's prompts: sparse ``[B, N, 256]``, dense
        ``[B, 256, 64, 64]``. A box becomes two corner points (labels 2, 3) put before
        the clicks, as in ``SAM2ImagePredictor``."""
        if (point_coords is None) != (point_labels is None):
            raise ValueError("point_coords and point_labels must be given together")
        points = None if point_coords is None else (point_coords, point_labels)
        if boxes is not None:
            corners = boxes.reshape(-1, 2, 2)
            labels = torch.tensor([BOX_CORNER_LABELS], dtype=torch.int, device=boxes.device)
            labels = labels.repeat(corners.shape[0], 1)
            if points is not None:
                corners = torch.cat([corners, points[0]], dim=1)
                labels = torch.cat([labels, points[1].to(labels.dtype)], dim=1)
            points = (corners, labels)
        return self.sam_prompt_encoder(points=points, boxes=None, masks=mask_inputs)

    def _decoder_inputs(self, image_embeddings, high_res, sparse):
        repeat = image_embeddings.shape[0] != sparse.shape[0]
        if repeat and image_embeddings.shape[0] != 1:
            raise ValueError(
                f"{image_embeddings.shape[0]} images for {sparse.shape[0]} prompt sets"
            )
        s0_channels = self.sam_mask_decoder.transformer_dim // 8
        return repeat, list(unpack_high_res(high_res, s0_channels))

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
        """Every token's logits ``[B, 5, 256, 256]`` and SAM's iou_predictions ``[B, 4]``
        from ONE pass of the HQ decoder.

        ``interm_embeddings`` is the packed high-res feature from :meth:`encode`. Index 0
        is SAM 2's single-mask answer (token 0, or in eval mode its stability fallback
        to the best multimask token, with that token's IoU), 1..3 the multimask tokens,
        4 the HQ token; so :func:`hqseg.modeling.select_masks` applies unchanged.
        The HQ token takes part in the transformer's attention, so tokens 0..3 here are
        not plain SAM 2.1's masks: that baseline is :meth:`decode_plain`.
        """
        sparse, dense = self.embed_prompts(
            point_coords=point_coords,
            point_labels=point_labels,
            boxes=boxes,
            mask_inputs=mask_inputs,
        )
        repeat, high_res = self._decoder_inputs(image_embeddings, interm_embeddings, sparse)
        return self.decode_embedded(image_embeddings, high_res, sparse, dense, repeat_image=repeat)

    def decode_embedded(
        self,
        image_embeddings: torch.Tensor,
        high_res_features: list[torch.Tensor],
        sparse: torch.Tensor,
        dense: torch.Tensor,
        *,
        repeat_image: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`decode_all` from embedded prompts (sparse ``[B, N, 256]``, dense
        ``[B, 256, 64, 64]``) and the unpacked ``[feat_s0, feat_s1]``; the ONNX graph
        (:mod:`hqseg.modeling.sam2_hq.onnx`) shares it."""
        decoder = self.sam_mask_decoder
        masks, iou, _, _ = decoder.predict_all_masks(
            image_embeddings,
            self.sam_prompt_encoder.get_dense_pe(),
            sparse,
            dense,
            repeat_image=repeat_image,
            high_res_features=high_res_features,
        )
        single, single_iou = decoder.sam_single_mask(masks[:, :HQ_INDEX], iou)
        masks = torch.cat([single, masks[:, 1:]], dim=1)
        iou = torch.cat([single_iou, iou[:, 1:]], dim=1)
        return masks, iou

    def decode_plain(
        self,
        image_embeddings: torch.Tensor,
        interm_embeddings: torch.Tensor,
        *,
        point_coords: torch.Tensor | None = None,
        point_labels: torch.Tensor | None = None,
        boxes: torch.Tensor | None = None,
        mask_inputs: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Plain SAM 2.1 (its own decoder pass, without the HQ token) on the same
        encoding: logits ``[B, 4, 256, 256]`` and IoUs ``[B, 4]``, index 0 the single-mask
        answer as in :meth:`decode_all`."""
        sparse, dense = self.embed_prompts(
            point_coords=point_coords,
            point_labels=point_labels,
            boxes=boxes,
            mask_inputs=mask_inputs,
        )
        repeat, high_res = self._decoder_inputs(image_embeddings, interm_embeddings, sparse)
        decoder = self.sam_mask_decoder
        masks, iou, _, _ = MaskDecoder.predict_masks(
            decoder,
            image_embeddings=image_embeddings,
            image_pe=self.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            repeat_image=repeat,
            high_res_features=high_res,
        )
        single, single_iou = decoder.sam_single_mask(masks, iou)
        return torch.cat([single, masks[:, 1:]], dim=1), torch.cat([single_iou, iou[:, 1:]], dim=1)

    def decode_sam(self, image_embeddings, interm_embeddings, **prompts):
        """The SAM 2.1 baseline of the common model interface: :meth:`decode_plain`."""
        return self.decode_plain(image_embeddings, interm_embeddings, **prompts)

    def decode_official(
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
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The authors' ``SAM2ImagePredictor._predict`` outputs for one image: low-res
        logits ``[B, 1 or 3, 256, 256]`` clamped to +-32 and IoUs ``[B, 1 or 3]``."""
        sparse, dense = self.embed_prompts(
            point_coords=point_coords,
            point_labels=point_labels,
            boxes=boxes,
            mask_inputs=mask_inputs,
        )
        repeat, high_res = self._decoder_inputs(image_embeddings, interm_embeddings, sparse)
        masks, iou, _, _ = self.sam_mask_decoder(
            image_embeddings,
            self.sam_prompt_encoder.get_dense_pe(),
            sparse,
            dense,
            multimask_output=multimask_output,
            repeat_image=repeat,
            high_res_features=high_res,
            hq_token_only=hq_token_only,
        )
        clamp = self.low_res_logit_clamp
        return masks.clamp(-clamp, clamp), iou
