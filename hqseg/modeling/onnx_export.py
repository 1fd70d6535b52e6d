"""ONNX export of the prompt encoder + HQ mask decoder (the image encoder runs elsewhere).

The graph follows segment_anything's ONNX conventions (its ``scripts/export_onnx_model.py``)
for prompts, so existing SAM ONNX front ends need only the extra feature input:

inputs (batch 1, float32 unless said otherwise)
  ``image_embeddings``   ``[1, 256, 64, 64]``  the image encoder's output;
  ``interm_embeddings``  ``[1, 64, 64, C]``    the early feature (``HQSam.encode``'s 2nd output);
  ``point_coords``       ``[1, N, 2]``         (x, y) in the 1024-input frame (after
                                               ``ResizeLongestSide``), N dynamic;
  ``point_labels``       ``[1, N]``            1 foreground, 0 background, 2 / 3 box top-left /
                                               bottom-right corner, -1 padding point (add one
                                               at (0, 0) when there is no box, as SAM does);
  ``mask_input``         ``[1, 1, 256, 256]``  a previous low-res logit mask;
  ``has_mask_input``     ``[1]``               1 to use ``mask_input``, else 0.

outputs
  ``masks_hq``        ``[1, 1, 256, 256]``  low-res logits of the HQ token alone
                                            (``hq_token_only=True``);
  ``masks_sum``       ``[1, 1, 256, 256]``  SAM + HQ logits (``hq_token_only=False``);
  ``iou_predictions`` ``[1, 1]``            the chosen SAM token's predicted IoU.

(their dimensions are named ``batch``, ``num_masks``, ``height``, ``width``: :data:`OUTPUT_DIMS`)

The low-res logits are in the padded 1024 frame, upscale them as ``Sam.postprocess_masks``.
``multimask_output`` is fixed at export time. Each model line picks its
:class:`OnnxDecoder` subclass (``ModelLine.onnx_decoder``): HQ-SAM 2's
(:mod:`hqseg.modeling.sam2_hq.onnx`) takes SAM 2's image embedding and two
high-resolution features instead of the early feature, and adds SAM 2's padding point
itself.
"""

from __future__ import annotations

import os
import warnings
from typing import ClassVar

import torch
from torch import nn

from hqseg.modeling.hq_mask_decoder import select_masks
from hqseg.utils.atomic import atomic_file

OPSET = 17

OUTPUT_DIMS: dict[str, dict[int, str]] = {
    "masks_hq": {0: "batch", 1: "num_masks", 2: "height", 3: "width"},
    "masks_sum": {0: "batch", 1: "num_masks", 2: "height", 3: "width"},
    "iou_predictions": {0: "batch", 1: "num_masks"},
}
"""Names of the output dimensions (1, 1, 256, 256 and 1, 1 when run); without them the
tracer names them after graph nodes (``Slicemasks_hq_dim_1``)."""


class OnnxDecoder(nn.Module):
    """Base of the exported prompt-encoder + decoder graphs of every line.

    A subclass sets :attr:`feature_inputs` (its image-feature input names) and
    implements :meth:`feature_examples` and :meth:`forward`; prompts and outputs are
    shared by all lines.
    """

    prompt_inputs: ClassVar[tuple[str, ...]] = (
        "point_coords",
        "point_labels",
        "mask_input",
        "has_mask_input",
    )
    feature_inputs: ClassVar[tuple[str, ...]] = ()
    output_names: ClassVar[tuple[str, ...]] = ("masks_hq", "masks_sum", "iou_predictions")

    def __init__(self, model: nn.Module, *, multimask_output: bool = False) -> None:
        super().__init__()
        self.model = model
        self.multimask_output = multimask_output

    @property
    def prompt_encoder(self) -> nn.Module:
        """The model's SAM-style prompt encoder (``pe_layer``, ``point_embeddings``, ...)."""
        return self.model.prompt_encoder

    def _embed_points(self, coords: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """SAM's point embedding written with arithmetic masks (traceable for any N)."""
        pe = self.prompt_encoder
        size = float(pe.input_image_size[0])
        emb = pe.pe_layer._pe_encoding((coords + 0.5) / size)
        labels = labels.unsqueeze(-1)
        emb = emb * (labels != -1) + pe.not_a_point_embed.weight * (labels == -1)
        for i, point_embedding in enumerate(pe.point_embeddings):
            emb = emb + point_embedding.weight * (labels == i)
        return emb

    def _embed_mask(self, mask: torch.Tensor, has_mask: torch.Tensor) -> torch.Tensor:
        """``mask_downscaling(mask)`` when ``has_mask`` is 1, else ``no_mask_embed``."""
        pe = self.prompt_encoder
        no_mask = pe.no_mask_embed.weight.reshape(1, -1, 1, 1)
        return has_mask * pe.mask_downscaling(mask) + (1 - has_mask) * no_mask

    def _outputs(
        self, masks: torch.Tensor, iou_predictions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``masks_hq``, ``masks_sum``, ``iou_predictions`` from every token's logits
        ``[1, 5, 256, 256]`` and IoUs ``[1, 4]`` (:func:`select_masks`)."""
        mm = self.multimask_output
        masks_hq, iou = select_masks(masks, iou_predictions, multimask_output=mm, mask_type="hq")
        masks_sum, _ = select_masks(masks, iou_predictions, multimask_output=mm, mask_type="sum")
        return masks_hq, masks_sum, iou

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.feature_inputs + self.prompt_inputs

    def feature_examples(self) -> tuple[torch.Tensor, ...]:
        """Example tensors for :attr:`feature_inputs` (shapes of this model)."""
        raise NotImplementedError

    def examples(self, num_points: int = 3) -> tuple[torch.Tensor, ...]:
        """Example inputs, in :attr:`input_names` order."""
        gen = torch.Generator().manual_seed(0)
        coords = torch.randint(0, 1024, (1, num_points, 2), generator=gen).float()
        labels = torch.tensor([[1.0, 0.0, -1.0][i % 3] for i in range(num_points)])[None]
        mask = torch.zeros(1, 1, 256, 256)
        return (*self.feature_examples(), coords, labels, mask, torch.ones(1))


class HQSamOnnxDecoder(OnnxDecoder):
    """The graph of HQ-SAM and Light HQ-SAM (lines ``vit`` and ``tinyvit``)."""

    feature_inputs = ("image_embeddings", "interm_embeddings")

    def feature_examples(self) -> tuple[torch.Tensor, ...]:
        vit_dim = self.model.mask_decoder.vit_dim
        return torch.randn(1, 256, 64, 64), torch.randn(1, 64, 64, vit_dim)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        interm_embeddings: torch.Tensor,
        point_coords: torch.Tensor,
        point_labels: torch.Tensor,
        mask_input: torch.Tensor,
        has_mask_input: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        masks, iou = self.model.mask_decoder.predict_all_masks(
            image_embeddings,
            self.model.prompt_encoder.get_dense_pe(),
            self._embed_points(point_coords, point_labels),
            self._embed_mask(mask_input, has_mask_input),
            interm_embeddings,
        )
        return self._outputs(masks, iou)


def onnx_decoder(model: nn.Module, *, multimask_output: bool = False) -> OnnxDecoder:
    """The :class:`OnnxDecoder` wrapper of ``model``'s line, in eval mode."""
    from hqseg.modeling.lines import line_of_model

    return line_of_model(model).onnx_decoder(model, multimask_output=multimask_output)


def export_onnx(
    model: nn.Module, path: str | os.PathLike, *, multimask_output: bool = False
) -> OnnxDecoder:
    """Write ``model``'s prompt encoder + HQ mask decoder to ``path`` (atomic).

    The number of points is a dynamic axis; batch is 1 (one prompt set per call).
    Returns the wrapper that was exported.
    """
    wrapper = onnx_decoder(model, multimask_output=multimask_output)
    dynamic = {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}
    dynamic.update(OUTPUT_DIMS)
    with torch.no_grad(), warnings.catch_warnings(), atomic_file(path, "wb") as fh:
        # The TorchScript exporter's deprecation notice and tracer notes on shape checks
        # that are constant at batch 1; the graph is checked against torch in the tests.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        # Its note on negative gather indices: ours are argmax results, never negative.
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            wrapper,
            wrapper.examples(),
            fh,
            input_names=list(wrapper.input_names),
            output_names=list(wrapper.output_names),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return wrapper
