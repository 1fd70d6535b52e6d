"""The Light HQ-SAM line (``tinyvit``): HQ-SAM's decoder on MobileSAM's TinyViT
(``vit_tiny``, ``test_tinyvit``), with HQ-SAM's checkpoint layout and ONNX graph."""

from __future__ import annotations

import torch
from torch import nn

from hqseg.modeling.configs import TINYVIT_CONFIGS
from hqseg.modeling.lines.hq_sam import SegmentAnythingLine


class LightHQSamLine(SegmentAnythingLine):
    """Light HQ-SAM: ``HQSam`` on the authors' TinyViT."""

    name = "tinyvit"

    def _encoder(self, model_type: str) -> tuple[nn.Module, int]:
        from hqseg.modeling.build import tinyvit_encoder

        return tinyvit_encoder(model_type)

    def infer_type(self, state_dict: dict[str, torch.Tensor]) -> str | None:
        signature = _tinyvit_signature(state_dict)
        for name, cfg in TINYVIT_CONFIGS.items():
            if signature == (cfg.embed_dims, cfg.depths):
                return name
        return None

    def describe(self, state_dict: dict[str, torch.Tensor]) -> str | None:
        signature = _tinyvit_signature(state_dict)
        if signature is None:
            return None
        dims, depths = signature
        return f"TinyViT with stage widths {list(dims)} and depths {list(depths)}"

    def known_shapes(self) -> list[str]:
        return [f"{n}: TinyViT {list(c.embed_dims)}" for n, c in TINYVIT_CONFIGS.items()]


def _tinyvit_signature(state_dict: dict[str, torch.Tensor]) -> tuple[tuple, tuple] | None:
    """(embed_dims, depths) of a TinyViT encoder, or None if it is not one.

    The stage widths come from the patch-merging convolutions between stages.
    """
    layer = "image_encoder.layers.{}."
    merges = [state_dict.get(layer.format(i) + "downsample.conv1.c.weight") for i in range(3)]
    if any(m is None for m in merges):
        return None
    dims = (int(merges[0].shape[1]), *(int(m.shape[0]) for m in merges))
    depths = tuple(
        len({k.split(".")[4] for k in state_dict if k.startswith(layer.format(i) + "blocks.")})
        for i in range(4)
    )
    return dims, depths


LIGHT_HQ_SAM = LightHQSamLine()
"""The Light HQ-SAM line object."""
