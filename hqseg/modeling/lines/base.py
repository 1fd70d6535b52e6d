"""``ModelLine``: everything hqseg knows about one model line, in one object.

A line (HQ-SAM on segment_anything's ViT, Light HQ-SAM on TinyViT, HQ-SAM 2 on Meta's
SAM 2.1) owns: building its models; its HQ parameter names (the prefixes are formed
here once, from the line's decoder prefix and HQ module names); recognising its
checkpoints from their shapes and checking a file against a model type; loading base
and HQ checkpoints and HQ-parameters-only files; saving its official layout; its ONNX
decoder graph; and its predictor. Callers reach a line through
:func:`hqseg.modeling.model_types.line_for` or ``model.line``, never by its name.

Adding a line: one module beside this one with a ``ModelLine`` subclass and its
instance, one entry in :data:`hqseg.modeling.lines.LINES`, and its model types in
:mod:`hqseg.modeling.model_types`.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import torch
from torch import nn

from hqseg.errors import CheckpointError
from hqseg.modeling.checkpoint import (
    Checkpoint,
    LoadReport,
    key_mismatch,
    save_state_dict,
)
from hqseg.modeling.model_types import LINE_INFO, MODEL_TYPES, types_of_line


class ModelLine:
    """One model line (see module doc). Instances are stateless singletons, shared by
    every model they build (``model.line``)."""

    name: ClassVar[str]
    """The line's key in :data:`hqseg.modeling.model_types.LINE_INFO` (``ModelType.line``)."""
    decoder_prefix: ClassVar[str]
    """State-dict prefix of the mask decoder that carries the HQ modules."""
    hq_module_names: ClassVar[tuple[str, ...]]
    """The HQ modules of that decoder."""
    resize_mode: ClassVar[str] = "longest_side"
    """Geometry of the authors' interactive predictor for this line, the default of
    :class:`hqseg.modeling.HQSamPredictor` (see :mod:`hqseg.modeling.input_frames`)."""
    pixel_unit: ClassVar[float] = 1.0
    """Factor from the model's ``pixel_mean`` / ``pixel_std`` units to 0..255."""
    transformers_names: ClassVar[bool] = False
    """Whether transformers' ``SamHQModel`` has this line (``--format transformers``)."""

    @property
    def title(self) -> str:
        """The line's name in prose: ``HQ-SAM``, ``Light HQ-SAM``, ``HQ-SAM 2``."""
        return LINE_INFO[self.name].title

    @property
    def hq_prefixes(self) -> tuple[str, ...]:
        """State-dict prefixes of the HQ modules, e.g. ``("mask_decoder.hf_token.", ...)``."""
        return tuple(f"{self.decoder_prefix}{m}." for m in self.hq_module_names)

    @property
    def model_types(self) -> tuple[str, ...]:
        """The line's model types, official ones first."""
        return types_of_line(self.name)

    def __repr__(self) -> str:
        return f"<model line {self.name} ({self.title})>"

    def __deepcopy__(self, memo: dict) -> ModelLine:
        return self  # a copied model keeps its line (the object is stateless)

    def __reduce__(self) -> tuple:
        return (_line_named, (self.name,))

    # ------------------------------------------------------------------ building
    def build(self, model_type: str, *, hq: bool = True) -> nn.Module:
        """A random-weight model of ``model_type`` in train mode, with ``line`` and
        ``model_type`` set; ``hq=False`` gives the plain base model (its own decoder)."""
        model = self._build(model_type, hq=hq)
        model.line = self
        model.model_type = model_type
        return model

    def _build(self, model_type: str, *, hq: bool) -> nn.Module:
        raise NotImplementedError

    def load(
        self, model_type: str, *, checkpoint: Checkpoint | None = None, freeze_sam: bool = True
    ) -> nn.Module:
        """Build ``model_type`` in eval mode and load ``checkpoint`` (an HQ or a base
        checkpoint, checked against ``model_type`` before building); ``model.load_report``
        says what was loaded. ``freeze_sam``: leave only the HQ parameters trainable."""
        if checkpoint is not None:
            self.check_type(checkpoint.state_dict, model_type, path=str(checkpoint))
        model = self.build(model_type)
        if checkpoint is None:
            model.load_report = LoadReport(kind="none", hq_initialised_fresh=True)
        else:
            model.load_report = self.load_state(model, checkpoint.state_dict, path=str(checkpoint))
        model.freeze_sam(freeze_sam)
        return model.eval()

    def official_file_name(self, model_type: str) -> str:
        """The authors' file name of ``model_type``'s HQ checkpoint (test types: one in
        the same style)."""
        return MODEL_TYPES[model_type].hq_checkpoint or self._test_file_name(model_type)

    def _test_file_name(self, model_type: str) -> str:
        return f"sam_hq_{model_type}.pth"

    # ------------------------------------------------------------------ checkpoints
    def infer_type(self, state_dict: dict[str, torch.Tensor]) -> str | None:
        """The model type of this line whose shapes ``state_dict`` has, else None."""
        raise NotImplementedError

    def describe(self, state_dict: dict[str, torch.Tensor]) -> str | None:
        """What image encoder of this line's family ``state_dict`` holds (for messages),
        or None when it holds none."""
        raise NotImplementedError

    def known_shapes(self) -> list[str]:
        """``"type: encoder shape"`` of every model type of the line (for messages)."""
        return []

    def check_type(
        self, state_dict: dict[str, torch.Tensor], model_type: str, *, path: str = "checkpoint"
    ) -> None:
        """Raise CheckpointError unless ``state_dict`` is a checkpoint of ``model_type``."""
        from hqseg.modeling.lines import describe_encoder, infer_model_type

        found = infer_model_type(state_dict, path=path)
        if found != model_type:
            raise CheckpointError(
                f"{path}: checkpoint is {found} ({describe_encoder(state_dict)}) "
                f"but model type {model_type} was requested"
            )

    def load_state(
        self, model: nn.Module, state_dict: dict[str, torch.Tensor], *, path: str = "checkpoint"
    ) -> LoadReport:
        """Load an HQ (strictly) or a base checkpoint's state dict into ``model``."""
        raise NotImplementedError

    def official_state_dict(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The flat state dict of the official layout (base keys + HQ keys), on CPU."""
        return {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}

    def official_layout(self, model: nn.Module) -> dict[str, Any]:
        """What an official checkpoint file holds (default: the flat state dict)."""
        return self.official_state_dict(model)

    def save_official(self, model: nn.Module, path: str | os.PathLike) -> None:
        """Write ``model`` as the authors' checkpoint of this line (atomic)."""
        save_state_dict(self.official_layout(model), path)

    # ------------------------------------------------------------------ HQ parameters
    def _hq_entries(self, model: nn.Module) -> dict[str, torch.Tensor]:
        entries = model.state_dict(keep_vars=True).items()
        return {k: v for k, v in entries if k.startswith(self.hq_prefixes)}

    def hq_state_dict(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The HQ entries of ``model``'s state dict (full names), detached CPU copies."""
        return {k: v.detach().cpu().clone() for k, v in self._hq_entries(model).items()}

    def load_hq_state(
        self, model: nn.Module, state: dict[str, torch.Tensor], *, source: str
    ) -> None:
        """Copy ``state`` (full names) into the HQ parameters; its keys and shapes must be
        exactly the model's (else CheckpointError naming ``source``)."""
        own = self._hq_entries(model)
        mismatch = key_mismatch(own, state)
        if mismatch:
            raise CheckpointError(
                f"{source}: not an HQ-parameters file of {getattr(model, 'model_type', '?')} "
                f"({self.title}): {mismatch}"
            )
        with torch.no_grad():
            for name, value in state.items():
                own[name].copy_(value)

    def load_hq_weights(
        self, model: nn.Module, state: dict[str, torch.Tensor], *, source: str
    ) -> None:
        """:meth:`load_hq_state` of an HQ-parameters-only file, whose names may lack the
        decoder prefix (``hf_token.weight`` for ``mask_decoder.hf_token.weight``)."""
        if not any(k.startswith(self.decoder_prefix) for k in state):
            state = {f"{self.decoder_prefix}{k}": v for k, v in state.items()}
        self.load_hq_state(model, state, source=source)

    # ------------------------------------------------------------------ ONNX, predictor
    def onnx_decoder(self, model: nn.Module, *, multimask_output: bool = False) -> nn.Module:
        """The prompt-encoder + decoder graph of ``model`` to export (an
        :class:`hqseg.modeling.onnx_export.OnnxDecoder`), in eval mode."""
        raise NotImplementedError

    def predictor(self, model: nn.Module, **options: Any) -> Any:
        """The predictor of ``model`` (:class:`hqseg.modeling.HQSamPredictor`; ``options``
        are its keyword arguments: device, dtype, resize_mode, ...)."""
        from hqseg.modeling.predictor import HQSamPredictor

        return HQSamPredictor(model, **options)


def _line_named(name: str) -> ModelLine:
    from hqseg.modeling.lines import LINES

    return LINES[name]


__all__ = ["ModelLine"]
