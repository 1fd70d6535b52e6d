"""The HQ-SAM 2 line (``sam2``): the HQ token on Meta's SAM 2.1 (``sam2.1_hiera_*``,
``test_hiera``; the model is :class:`hqseg.modeling.sam2_hq.HQSam2`).

Checkpoints are ``{"model": state_dict}`` as SAM 2's: ``sam2.1_hiera_*.pt`` (plain
SAM 2.1) and the authors' ``sam2.1_hq_hiera_*.pt`` (plus 13 HQ keys under
``sam_mask_decoder.``). Loading is by key set: every model key present -> HQ, loaded
strictly; exactly the HQ keys missing -> plain SAM 2.1, HQ parameters fresh; anything
else -> one :class:`CheckpointError` that says what the file is. ``sam2`` (and hydra)
are imported only to build or export.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hqseg.errors import CheckpointError
from hqseg.modeling.checkpoint import LoadReport, key_mismatch
from hqseg.modeling.lines.base import ModelLine
from hqseg.modeling.sam2_hq.configs import HQ_MODULE_NAMES, TRUNK_SIGNATURES

_POS_EMBED = "image_encoder.trunk.pos_embed"


class HQSam2Line(ModelLine):
    """HQ-SAM 2 (see module doc)."""

    name = "sam2"
    resize_mode = "sam2"  # SAM2Transforms: 1024x1024 float resize
    pixel_unit = 255.0  # SAM 2 normalises pixels / 255
    decoder_prefix = "sam_mask_decoder."
    hq_module_names = HQ_MODULE_NAMES

    def _build(self, model_type: str, *, hq: bool) -> nn.Module:
        from hqseg.modeling.sam2_hq.build import build_sam2_architecture

        return build_sam2_architecture(model_type, hq=hq)

    def _test_file_name(self, model_type: str) -> str:
        return f"sam2.1_hq_{model_type}.pt"

    def official_layout(self, model: nn.Module) -> dict[str, Any]:
        """The authors' ``{"model": state_dict}`` (SAM 2.1 keys + the 13 HQ keys)."""
        return {"model": self.official_state_dict(model)}

    # ------------------------------------------------------------------ checkpoints
    def infer_type(self, state_dict: dict[str, torch.Tensor]) -> str | None:
        """The SAM 2.1 model type whose Hiera trunk (width, blocks) matches, else None."""
        pos = state_dict.get(_POS_EMBED)
        if pos is None or pos.ndim != 4:
            return None
        trunk_blocks = "image_encoder.trunk.blocks."
        blocks = {k.split(".")[3] for k in state_dict if k.startswith(trunk_blocks)}
        return TRUNK_SIGNATURES.get((int(pos.shape[1]), len(blocks)))

    def describe(self, state_dict: dict[str, torch.Tensor]) -> str | None:
        """``"SAM 2.1 [HQ] <type>"`` or ``"SAM 2[ HQ] (Hiera width W)"``; None without a
        Hiera trunk."""
        pos = state_dict.get(_POS_EMBED)
        if pos is None or pos.ndim != 4:
            return None
        size = self.infer_type(state_dict)
        hq = " HQ" if any(k.startswith(self.hq_prefixes) for k in state_dict) else ""
        return f"SAM 2.1{hq} {size}" if size else f"SAM 2{hq} (Hiera width {pos.shape[1]})"

    def known_shapes(self) -> list[str]:
        return [f"{n}: Hiera {w}x{b}" for (w, b), n in TRUNK_SIGNATURES.items()]

    def _looks_like(self, state_dict: dict[str, torch.Tensor]) -> str:
        found = self.describe(state_dict)
        if found is not None:
            return found
        if any(k.startswith("image_encoder.patch_embed.") for k in state_dict):
            return "SAM / HQ-SAM (ViT)"
        return "unknown"

    def check_type(
        self, state_dict: dict[str, torch.Tensor], model_type: str, *, path: str = "checkpoint"
    ) -> None:
        """A cheap look before building: a SAM 2 file of another size fails fast; other
        files are checked key by key when loaded (:meth:`load_state`)."""
        looks_like = self._looks_like(state_dict)
        if looks_like.startswith("SAM 2") and not looks_like.endswith(f" {model_type}"):
            raise CheckpointError(f"{path}: looks like {looks_like}, not a {model_type} checkpoint")

    def load_state(
        self, model: nn.Module, state_dict: dict[str, torch.Tensor], *, path: str = "checkpoint"
    ) -> LoadReport:
        """Load an HQ-SAM 2 or plain SAM 2.1 state dict into ``model`` (see module doc)."""
        want = model.state_dict()
        hq_keys = [k for k in want if k.startswith(self.hq_prefixes)]
        mismatch = key_mismatch(want, state_dict)
        if mismatch.unexpected or mismatch.wrong_shape or mismatch.missing not in ([], hq_keys):
            missing, unexpected = sorted(mismatch.missing), sorted(mismatch.unexpected)
            wrong = sorted(k.split(" ")[0] for k in mismatch.wrong_shape)
            detail = (
                f"{len(missing)} missing (e.g. {missing[:2]}), "
                f"{len(unexpected)} unexpected (e.g. {unexpected[:2]}), "
                f"{len(wrong)} of another shape (e.g. {wrong[:2]})"
            )
            raise CheckpointError(
                f"{path}: looks like {self._looks_like(state_dict)}, not a "
                f"{model.model_type} checkpoint ({detail})"
            )
        has_hq = not mismatch.missing
        result = model.load_state_dict(state_dict, strict=has_hq)
        return LoadReport(
            kind="hq" if has_hq else "sam",
            hq_initialised_fresh=not has_hq,
            path=str(path),
            model_type=model.model_type,
            missing_keys=sorted(result.missing_keys),
        )

    # ------------------------------------------------------------------ ONNX
    def onnx_decoder(self, model: nn.Module, *, multimask_output: bool = False) -> nn.Module:
        from hqseg.modeling.sam2_hq.onnx import HQSam2OnnxDecoder

        return HQSam2OnnxDecoder(model.eval(), multimask_output=multimask_output).eval()


HQ_SAM2 = HQSam2Line()
"""The HQ-SAM 2 line object."""
