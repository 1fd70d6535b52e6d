"""The one place training talks to ``hqseg.modeling``: build, encode, decode, HQ state, export.

Keeping this glue in one module means a change in the model API is a change here only.
The model is an :class:`hqseg.modeling.protocol.HQModel` of any line; what differs by
line (HQ key names, the official file layout) its ``model.line`` knows.
"""

from __future__ import annotations

from pathlib import Path

import torch

from hqseg.errors import CheckpointError, HqsegError
from hqseg.modeling.checkpoint import (  # the line-aware HQ state, shared with modeling
    hq_state_dict,
    load_hq_state,
    save_official_checkpoint,
)

__all__ = [
    "build_model",
    "decode_hq",
    "encode",
    "export_official",
    "hq_named_parameters",
    "hq_state_dict",
    "load_hq_state",
    "startup_text",
]


def build_model(model_type: str, checkpoint: str | None):
    """Build HQ-SAM with SAM frozen; clear errors for a missing or wrong checkpoint."""
    from hqseg.modeling import build_hq_sam

    if checkpoint is not None and not Path(checkpoint).is_file():
        raise CheckpointError(f"SAM checkpoint {checkpoint} does not exist")
    try:
        return build_hq_sam(model_type, checkpoint=checkpoint, freeze_sam=True)
    except ValueError as exc:  # unknown model type
        raise HqsegError(str(exc)) from exc


def startup_text(trainer, config) -> str:
    """The start-up line of a run (hqseg.modeling.startup): model, weights, parameters,
    device and data counts (training records, validation images per split, ranks)."""
    from hqseg.modeling.startup import startup_line

    data: dict = {f"{config.train_config}/{config.train_split}": len(trainer.records)}
    if trainer.val_splits:
        data[config.val_config] = {k: len(v) for k, v in trainer.val_splits.items()}
    if trainer.info.world_size > 1:
        data["ranks"] = trainer.info.world_size
    return startup_line(trainer.model, model_type=config.model_type,
                        checkpoint=config.checkpoint, device=trainer.device, data=data)  # fmt: skip


def hq_named_parameters(model) -> list[tuple[str, torch.nn.Parameter]]:
    """(name, parameter) of the trainable HQ parameters, in a fixed order."""
    names = set(model.hq_parameter_names())
    return [(n, p) for n, p in model.named_parameters() if n in names]


def encode(model, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw-pixel images [B, 3, 1024, 1024] (0..255) -> SAM embeddings.

    Returns (image_embeddings [B, 256, 64, 64], the line's second feature: HQ-SAM's early
    ViT feature [B, 64, 64, C], HQ-SAM 2's packed high-res features [B, 48, 256, 256]).
    """
    return model.encode(model.preprocess(images))


def decode_hq(model, embeddings, interm, *, boxes=None, points=None, point_labels=None, masks=None):
    """HQ-token-only low-res logits [B, 1, 256, 256] for one prompt type over a batch."""
    logits, _ = model.decode(
        embeddings,
        interm,
        point_coords=points,
        point_labels=point_labels,
        boxes=boxes,
        mask_inputs=masks,
        multimask_output=False,
        hq_token_only=True,
    )
    return logits


def export_official(model, path: str | Path) -> None:
    """Write the run's model in its line's official layout (HQ-SAM: the flat
    ``sam_hq_*.pth``, SAM weights + the 25 HQ keys; HQ-SAM 2: the authors'
    ``{"model": ...}``, SAM 2.1 + 13 HQ keys), atomically."""
    save_official_checkpoint(model, path)
