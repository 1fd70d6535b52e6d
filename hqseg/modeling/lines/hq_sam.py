"""The HQ-SAM line (``vit``): HQ-SAM on segment_anything's ViT (``vit_b/l/h``, ``test_vit``).

Its official ``sam_hq_vit_*.pth`` layout is a flat state dict: the base model's keys
plus the 25 HQ keys under ``mask_decoder.``; a plain SAM checkpoint has the base keys
only. :class:`SegmentAnythingLine` holds what HQ-SAM shares with Light HQ-SAM (the same
``HQSam`` model and layout); the lines differ in their image encoder.
"""

from __future__ import annotations

import torch
from torch import nn

from hqseg.errors import CheckpointError
from hqseg.modeling.checkpoint import LoadReport, key_mismatch, short
from hqseg.modeling.configs import ENCODER_CONFIGS
from hqseg.modeling.hq_mask_decoder import HQ_MODULE_NAMES
from hqseg.modeling.lines.base import ModelLine

_IGNORED_KEYS = ("pixel_mean", "pixel_std")
"""Sam's normalisation buffers are not persistent; some exports carry them anyway."""


class SegmentAnythingLine(ModelLine):
    """A line on segment_anything's ``Sam`` (``HQSam``): flat checkpoints, 25 HQ keys
    under ``mask_decoder.``, the HQ-SAM ONNX graph."""

    decoder_prefix = "mask_decoder."
    hq_module_names = HQ_MODULE_NAMES

    def _encoder(self, model_type: str) -> tuple[nn.Module, int]:
        """The image encoder of ``model_type`` and its early feature's channels."""
        raise NotImplementedError

    def _build(self, model_type: str, *, hq: bool) -> nn.Module:
        from hqseg.modeling.build import sam_like

        return sam_like(*self._encoder(model_type), hq=hq)

    def load_state(
        self, model: nn.Module, state_dict: dict[str, torch.Tensor], *, path: str = "checkpoint"
    ) -> LoadReport:
        """Load a flat HQ-SAM or SAM state dict into ``model`` (an ``HQSam``).

        HQ checkpoints are loaded strictly (every key used, none missing). Base
        checkpoints must provide every base key; the HQ parameters keep their current
        (fresh) values. A checkpoint with only some HQ keys, of another model type, or
        with mismatching shapes is refused with a CheckpointError.
        """
        from hqseg.modeling.lines import infer_model_type

        found_type = infer_model_type(state_dict, path=path)
        ignored = [k for k in _IGNORED_KEYS if k in state_dict]
        sd = {k: v for k, v in state_dict.items() if k not in _IGNORED_KEYS}
        own = model.state_dict()
        hq_keys = [k for k in own if k.startswith(self.hq_prefixes)]
        hq_present = [k for k in hq_keys if k in sd]
        if hq_present and len(hq_present) != len(hq_keys):
            absent = [k for k in hq_keys if k not in sd]
            raise CheckpointError(f"{path}: partial HQ-SAM checkpoint: missing {short(absent)}")
        kind = "hq" if hq_present else "sam"
        expected = {k: v for k, v in own.items() if kind == "hq" or k not in hq_keys}
        mismatch = key_mismatch(expected, sd)
        if mismatch.missing or mismatch.unexpected:
            raise CheckpointError(f"{path}: keys do not match {found_type}: {mismatch.keys_text()}")
        if mismatch.wrong_shape:
            raise CheckpointError(f"{path}: shape mismatch: {short(mismatch.wrong_shape)}")
        model.load_state_dict(sd, strict=kind == "hq")
        return LoadReport(
            kind=kind,
            hq_initialised_fresh=kind == "sam",
            path=path,
            model_type=found_type,
            missing_keys=[k for k in own if k not in sd],
            unexpected_keys=ignored,
        )

    def onnx_decoder(self, model: nn.Module, *, multimask_output: bool = False) -> nn.Module:
        from hqseg.modeling.onnx_export import HQSamOnnxDecoder

        return HQSamOnnxDecoder(model.eval(), multimask_output=multimask_output).eval()


class HQSamLine(SegmentAnythingLine):
    """HQ-SAM: ``HQSam`` on segment_anything's ``ImageEncoderViT``."""

    name = "vit"
    transformers_names = True

    def _encoder(self, model_type: str) -> tuple[nn.Module, int]:
        from hqseg.modeling.build import vit_encoder

        return vit_encoder(model_type)

    def infer_type(self, state_dict: dict[str, torch.Tensor]) -> str | None:
        signature = _vit_signature(state_dict)
        for name, cfg in ENCODER_CONFIGS.items():
            if signature == (cfg.embed_dim, cfg.depth):
                return name
        return None

    def describe(self, state_dict: dict[str, torch.Tensor]) -> str | None:
        signature = _vit_signature(state_dict)
        if signature is None:
            return None
        return f"ViT of width {signature[0]} and depth {signature[1]}"

    def known_shapes(self) -> list[str]:
        return [f"{n}: ViT {c.embed_dim}x{c.depth}" for n, c in ENCODER_CONFIGS.items()]


def _vit_signature(state_dict: dict[str, torch.Tensor]) -> tuple[int, int] | None:
    """(width, depth) of a segment_anything ViT encoder, or None if there is none."""
    patch = state_dict.get("image_encoder.patch_embed.proj.weight")
    if patch is None:
        return None
    blocks = {int(k.split(".")[2]) for k in state_dict if k.startswith("image_encoder.blocks.")}
    return int(patch.shape[0]), len(blocks)


HQ_SAM = HQSamLine()
"""The HQ-SAM line object."""
