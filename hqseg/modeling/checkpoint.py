"""Checkpoint I/O: reading SAM / HQ-SAM checkpoints safely, and writing the official layout.

The official ``sam_hq_vit_*.pth`` layout (``vit_b/l/h`` and ``vit_tiny``) is a flat state
dict: the base model's keys plus the 25 HQ keys under ``mask_decoder.``. A plain SAM or
MobileSAM checkpoint has the base keys only. This module and its siblings
:mod:`~hqseg.modeling.transformers_keys`, :mod:`~hqseg.modeling.onnx_export` and
:mod:`~hqseg.modeling.export` hold every file format; the builder knows none. Files are
read with ``torch.load(weights_only=True)``; every problem becomes a
:class:`~hqseg.errors.CheckpointError` naming the file and the problem.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from hqseg.errors import CheckpointError
from hqseg.modeling.configs import ENCODER_CONFIGS, TINYVIT_CONFIGS
from hqseg.modeling.hq_mask_decoder import HQ_MODULE_NAMES
from hqseg.utils.atomic import WriteError, atomic_file

SAM_PREFIXES = ("image_encoder.", "prompt_encoder.", "mask_decoder.")
HQ_PREFIXES = tuple(f"mask_decoder.{m}." for m in HQ_MODULE_NAMES)
_SHOWN = 5
_IGNORED_KEYS = ("pixel_mean", "pixel_std")


@dataclass
class LoadReport:
    """What :func:`load_checkpoint` did.

    kind: ``"hq"`` (official HQ-SAM checkpoint, every key used), ``"sam"`` (plain SAM
    checkpoint; HQ parameters freshly initialised) or ``"none"`` (no checkpoint).
    """

    kind: Literal["hq", "sam", "none"]
    hq_initialised_fresh: bool
    path: str | None = None
    model_type: str | None = None
    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)  # ignored: pixel_mean / _std

    def __str__(self) -> str:
        if self.kind == "none":
            return "no checkpoint: all parameters randomly initialised"
        if self.kind == "hq":
            return f"HQ-SAM checkpoint {self.path} ({self.model_type}): all keys loaded"
        return (
            f"SAM checkpoint {self.path} ({self.model_type}): SAM weights loaded, "
            f"{len(self.missing_keys)} HQ parameters initialised fresh"
        )


def _short(keys: list[str]) -> str:
    more = f", ... ({len(keys)} in all)" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def safe_torch_load(path: str | os.PathLike) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU, with a one-line error.

    Raises:
        CheckpointError: the file is truncated, corrupt, not a torch file, or holds
            Python objects other than tensors (named in the message).
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a hostile or broken file can fail anywhere in unpickling
        text = str(exc)
        found = re.search(r"GLOBAL ([\w.]+)|Unsupported class ([\w.]+)", text)
        if found:  # torch's own text suggests loading unsafely: never repeat it, only the name
            raise CheckpointError(
                f"{path}: refused to load: it holds code or Python objects that are not "
                f"tensors (it references {next(g for g in found.groups() if g)}); a "
                "checkpoint must hold tensors only. Get the weights from a trusted source"
            ) from exc
        detail = text.split("WeightsUnpickler error:")[-1].strip().splitlines()
        detail = detail[0] if detail and detail[0] else type(exc).__name__
        if "weights_only" in detail or "Weights only" in detail:
            detail = "unpickling failed"
        raise CheckpointError(
            f"{path}: not a readable torch checkpoint (truncated, corrupt or not a torch "
            f"file): {type(exc).__name__}: {detail}"
        ) from exc


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a flat ``{name: tensor}`` state dict with ``weights_only=True``.

    A ``{"model": ...}`` or ``{"state_dict": ...}`` wrapper and a DDP ``module.``
    prefix are removed.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    obj = safe_torch_load(path)
    if isinstance(obj, dict) and str(obj.get("format", "")).startswith("hqseg-train-checkpoint"):
        raise CheckpointError(
            f"{path}: a training checkpoint (for `hqseg train --resume`), not model weights; "
            "use the run's sam_hq_<type>.pth"
        )
    if isinstance(obj, dict):
        for wrapper in ("model", "state_dict"):
            if isinstance(obj.get(wrapper), dict):
                obj = obj[wrapper]
                break
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: expected a state dict, got {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        shown = _short([repr(k) if not isinstance(k, str) else k for k in bad])
        raise CheckpointError(f"{path}: not a state dict: non-tensor entries {shown}")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return obj


def _vit_signature(state_dict: dict[str, torch.Tensor]) -> tuple[int, int] | None:
    """(width, depth) of a segment_anything ViT encoder, or None if there is none."""
    patch = state_dict.get("image_encoder.patch_embed.proj.weight")
    if patch is None:
        return None
    blocks = {int(k.split(".")[2]) for k in state_dict if k.startswith("image_encoder.blocks.")}
    return int(patch.shape[0]), len(blocks)


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


def describe_encoder(state_dict: dict[str, torch.Tensor]) -> str:
    """A short description of the image encoder in ``state_dict`` (for error messages)."""
    vit = _vit_signature(state_dict)
    if vit is not None:
        return f"ViT of width {vit[0]} and depth {vit[1]}"
    tiny = _tinyvit_signature(state_dict)
    if tiny is not None:
        return f"TinyViT with stage widths {list(tiny[0])} and depths {list(tiny[1])}"
    return "unknown image encoder"


def infer_model_type(state_dict: dict[str, torch.Tensor], *, path: str = "checkpoint") -> str:
    """The model type whose image encoder matches ``state_dict``'s shapes.

    Knows the ``vit`` and ``tinyvit`` lines; other lines add theirs with
    :func:`register_type_inference`. Raises CheckpointError for foreign state dicts
    (naming what they look like).
    """
    keys = list(state_dict)
    for infer in _INFERENCES:
        found = infer(state_dict)
        if found is not None:
            return found
    if any(k.startswith("vision_encoder.") for k in keys):
        raise CheckpointError(
            f"{path}: this is a transformers SamModel/SamHQModel state dict; convert it "
            "with hqseg.modeling.from_transformers_state_dict first"
        )
    if any(k.startswith("sam_mask_decoder.") for k in keys):
        raise CheckpointError(
            f"{path}: this is a SAM 2 checkpoint; use a sam2.1_hiera_* model type "
            "(the HQ-SAM 2 line is not installed here)"
        )
    if not any(k.startswith(SAM_PREFIXES) for k in keys):
        if "hf_token.weight" in state_dict or "iou_token.weight" in state_dict:
            raise CheckpointError(
                f"{path}: this is a mask-decoder-only checkpoint (as sam-hq's train.py saves); "
                "it has no image encoder. Merge it with the SAM checkpoint it was trained on"
            )
        raise CheckpointError(
            f"{path}: foreign state dict: none of the SAM keys ({', '.join(SAM_PREFIXES)}*) "
            f"found; it starts with {_short(keys)}"
        )
    vit, tiny = _vit_signature(state_dict), _tinyvit_signature(state_dict)
    if vit is None and tiny is None:
        if keys and all(k.startswith(HQ_PREFIXES) for k in keys):
            raise CheckpointError(
                f"{path}: holds only the HQ parameters (e.g. a run's hq_only.pth); pass "
                "the run's sam_hq_<type>.pth, or merge it with `hqseg export SAM_CHECKPOINT "
                "--hq-weights` first"
            )
        raise CheckpointError(
            f"{path}: no image encoder found (neither image_encoder.patch_embed.proj.weight "
            "of a ViT nor the image_encoder.layers.* of a TinyViT)"
        )
    for name, cfg in ENCODER_CONFIGS.items():
        if vit == (cfg.embed_dim, cfg.depth):
            return name
    for name, tcfg in TINYVIT_CONFIGS.items():
        if tiny == (tcfg.embed_dims, tcfg.depths):
            return name
    known = [f"{n}: ViT {c.embed_dim}x{c.depth}" for n, c in ENCODER_CONFIGS.items()]
    known += [f"{n}: TinyViT {list(c.embed_dims)}" for n, c in TINYVIT_CONFIGS.items()]
    raise CheckpointError(
        f"{path}: {describe_encoder(state_dict)} matches no known model type ({', '.join(known)})"
    )


_INFERENCES: list = []


def register_type_inference(infer) -> None:
    """Add ``infer(state_dict) -> model type | None`` for another line's checkpoints
    (tried before the built-in ``vit`` / ``tinyvit`` rules)."""
    _INFERENCES.append(infer)


def check_model_type(
    state_dict: dict[str, torch.Tensor], model_type: str, *, path: str = "checkpoint"
) -> None:
    """Raise CheckpointError unless ``state_dict`` is a checkpoint of ``model_type``."""
    found_type = infer_model_type(state_dict, path=path)
    if found_type != model_type:
        raise CheckpointError(
            f"{path}: checkpoint is {found_type} ({describe_encoder(state_dict)}) "
            f"but model type {model_type} was requested"
        )


def load_checkpoint(
    model: nn.Module, path: str | os.PathLike, *, model_type: str | None = None
) -> LoadReport:
    """Load an HQ-SAM or plain SAM checkpoint file into ``model`` (an ``HQSam``).

    See :func:`apply_state_dict`; ``model_type``, if given, is checked first.
    """
    sd = read_state_dict(path)
    if model_type is not None:
        check_model_type(sd, model_type, path=str(path))
    return apply_state_dict(model, sd, path=str(path))


def apply_state_dict(
    model: nn.Module, sd: dict[str, torch.Tensor], *, path: str = "checkpoint"
) -> LoadReport:
    """Load a flat HQ-SAM or SAM state dict into ``model``.

    HQ checkpoints are loaded strictly (every key used, none missing). SAM checkpoints
    must provide every SAM key; the HQ parameters keep their current (fresh) values.
    A checkpoint with only some HQ keys, of another model type, or with mismatching
    shapes is refused with a CheckpointError.
    """
    found_type = infer_model_type(sd, path=path)
    # Sam's normalisation buffers are not persistent; some exports carry them anyway.
    ignored = [k for k in _IGNORED_KEYS if k in sd]
    sd = {k: v for k, v in sd.items() if k not in _IGNORED_KEYS}
    own = model.state_dict()
    hq_keys = [k for k in own if k.startswith(HQ_PREFIXES)]
    hq_present = [k for k in hq_keys if k in sd]
    if hq_present and len(hq_present) != len(hq_keys):
        absent = [k for k in hq_keys if k not in sd]
        raise CheckpointError(f"{path}: partial HQ-SAM checkpoint: missing {_short(absent)}")
    kind = "hq" if hq_present else "sam"
    expected = [k for k in own if kind == "hq" or k not in hq_keys]
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in own]
    if missing or unexpected:
        parts = [f"missing {_short(missing)}"] if missing else []
        parts += [f"unexpected {_short(unexpected)}"] if unexpected else []
        raise CheckpointError(f"{path}: keys do not match {found_type}: {'; '.join(parts)}")
    wrong = [
        f"{k} {tuple(sd[k].shape)} != {tuple(own[k].shape)}"
        for k in expected
        if sd[k].shape != own[k].shape
    ]
    if wrong:
        raise CheckpointError(f"{path}: shape mismatch: {_short(wrong)}")
    model.load_state_dict(sd, strict=kind == "hq")
    return LoadReport(
        kind=kind,
        hq_initialised_fresh=kind == "sam",
        path=path,
        model_type=found_type,
        missing_keys=[k for k in own if k not in sd],
        unexpected_keys=ignored,
    )


def hq_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The 25 HQ entries of ``model.state_dict()`` (full ``mask_decoder.*`` names)."""
    return {k: v for k, v in model.state_dict().items() if k.startswith(HQ_PREFIXES)}


def official_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The official ``sam_hq_vit_*.pth`` layout: flat SAM keys + the 25 HQ keys, on CPU."""
    return {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}


def check_finite(state_dict: dict[str, torch.Tensor], what: str) -> None:
    """Refuse weights holding NaN or inf (an export would spread them silently).

    Raises:
        CheckpointError: naming the first tensors that are not finite.
    """
    bad = [k for k, v in state_dict.items() if v.is_floating_point() and not v.isfinite().all()]
    if bad:
        raise CheckpointError(f"{what}: weights hold NaN or inf values in {_short(bad)}")


def save_state_dict(state_dict: dict[str, torch.Tensor], path: str | os.PathLike) -> None:
    """Atomically ``torch.save`` a flat state dict.

    Raises:
        WriteError: the file could not be written (a full disk: torch reports it as a
            ``RuntimeError``, which is turned into one line here).
    """
    try:
        with atomic_file(path, "wb") as fh:
            torch.save(state_dict, fh)
    except RuntimeError as exc:  # PytorchStreamWriter: "file write failed" and the like
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WriteError(f"cannot write {path} (disk full?): {first}") from exc


def save_official_checkpoint(model: nn.Module, path: str | os.PathLike) -> None:
    """Write ``model`` as an official-format ``sam_hq_vit_*.pth`` (atomic)."""
    save_state_dict(official_state_dict(model), path)


def load_hq_weights(model: nn.Module, path: str | os.PathLike) -> None:
    """Load a file holding exactly the 25 HQ entries (as :func:`hq_state_dict` gives,
    with or without the ``mask_decoder.`` prefix) into ``model``; SAM stays as it is."""
    sd = read_state_dict(path)
    if not any(k.startswith("mask_decoder.") for k in sd):
        sd = {f"mask_decoder.{k}": v for k, v in sd.items()}
    want = hq_state_dict(model)
    missing = [k for k in want if k not in sd]
    unexpected = [k for k in sd if k not in want]
    if missing or unexpected:
        parts = [f"missing {_short(missing)}"] if missing else []
        parts += [f"unexpected {_short(unexpected)}"] if unexpected else []
        raise CheckpointError(f"{path}: not an HQ-parameters file: {'; '.join(parts)}")
    wrong = [
        f"{k} {tuple(sd[k].shape)} != {tuple(v.shape)}"
        for k, v in want.items()
        if sd[k].shape != v.shape
    ]
    if wrong:
        raise CheckpointError(f"{path}: shape mismatch: {_short(wrong)}")
    model.load_state_dict(sd, strict=False)
