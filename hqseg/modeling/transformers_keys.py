"""Key names of transformers' ``SamHQModel`` (and ``SamModel``), both directions.

The mapping is a list of regex rules over our (= the official) key names. The
reverse direction inverts the forward mapping of a reference key set, so the two can
never disagree. transformers stores the random-Fourier positional matrix twice
(``shared_image_embedding.*`` and ``prompt_encoder.shared_embedding.*``).
"""

from __future__ import annotations

import re

import torch

from hqseg.errors import CheckpointError
from hqseg.modeling.configs import ENCODER_CONFIGS

_PE_KEY = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"
_HF_PE_KEYS = (
    "shared_image_embedding.positional_embedding",
    "prompt_encoder.shared_embedding.positional_embedding",
)
_SEQ = r"\.(\d)\."


def _mlp(m: re.Match) -> str:
    """SAM's 3-layer MLP ``layers.{0,1,2}`` -> ``proj_in``, ``layers.0``, ``proj_out``."""
    name = {"0": "proj_in", "1": "layers.0", "2": "proj_out"}[m.group(2)]
    return f"{m.group(1)}.{name}."


def _seq(prefix: str, new_prefix: str, names: dict[str, str]):
    """Rule renaming ``prefix.<i>.`` entries of an nn.Sequential to named submodules."""
    return (
        re.compile(rf"^{re.escape(prefix)}{_SEQ}"),
        lambda m: f"{new_prefix}{names[m.group(1)]}.",
    )


_RULES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"^image_encoder\.blocks\."), "vision_encoder.layers."),
    (re.compile(r"^image_encoder\.patch_embed\.proj\."), "vision_encoder.patch_embed.projection."),
    _seq(
        "image_encoder.neck",
        "vision_encoder.neck.",
        {"0": "conv1", "1": "layer_norm1", "2": "conv2", "3": "layer_norm2"},
    ),
    (re.compile(r"^image_encoder\."), "vision_encoder."),
    (re.compile(r"\.norm(\d)\."), r".layer_norm\1."),
    (re.compile(r"\.norm_final_attn\."), ".layer_norm_final_attn."),
    (re.compile(r"^prompt_encoder\.point_embeddings\."), "prompt_encoder.point_embed."),
    _seq(
        "prompt_encoder.mask_downscaling",
        "prompt_encoder.mask_embed.",
        {"0": "conv1", "1": "layer_norm1", "3": "conv2", "4": "layer_norm2", "6": "conv3"},
    ),
    _seq(
        "mask_decoder.output_upscaling",
        "mask_decoder.",
        {"0": "upscale_conv1", "1": "upscale_layer_norm", "3": "upscale_conv2"},
    ),
    (re.compile(r"^mask_decoder\.hf_token\."), "mask_decoder.hq_token."),
    (re.compile(r"^mask_decoder\.hf_mlp\."), "mask_decoder.hq_mask_mlp."),
    (
        re.compile(
            r"(iou_prediction_head|output_hypernetworks_mlps\.\d|hq_mask_mlp)\.layers\.(\d)\."
        ),
        _mlp,
    ),
    _seq(
        "mask_decoder.compress_vit_feat",
        "mask_decoder.",
        {"0": "compress_vit_conv1", "1": "compress_vit_norm", "3": "compress_vit_conv2"},
    ),
    _seq(
        "mask_decoder.embedding_encoder",
        "mask_decoder.",
        {"0": "encoder_conv1", "1": "encoder_norm", "3": "encoder_conv2"},
    ),
    _seq(
        "mask_decoder.embedding_maskfeature",
        "mask_decoder.",
        {"0": "mask_conv1", "1": "mask_norm", "3": "mask_conv2"},
    ),
]


def to_transformers_key(key: str) -> str:
    """Our / the official key name -> transformers' ``SamHQModel`` name."""
    if key == _PE_KEY:
        return _HF_PE_KEYS[0]
    for pattern, repl in _RULES:
        key = pattern.sub(repl, key)
    return key


def to_transformers_state_dict(
    state_dict: dict[str, torch.Tensor] | torch.nn.Module,
) -> dict[str, torch.Tensor]:
    """Rename an HQ-SAM (or SAM) state dict, or a model's, to ``SamHQModel`` key names."""
    if isinstance(state_dict, torch.nn.Module):
        state_dict = state_dict.state_dict()
    out = {to_transformers_key(k): v for k, v in state_dict.items()}
    if _PE_KEY in state_dict:
        out[_HF_PE_KEYS[1]] = state_dict[_PE_KEY]
    if len(out) != len(state_dict) + (_PE_KEY in state_dict):
        raise CheckpointError("key collision while renaming to transformers names")
    return out


def _infer_hf_model_type(hf: dict[str, torch.Tensor]) -> str:
    patch = hf.get("vision_encoder.patch_embed.projection.weight")
    if patch is None:
        raise CheckpointError(
            "not a transformers SamHQModel state dict: "
            "vision_encoder.patch_embed.projection.weight is missing"
        )
    depth = len({k.split(".")[2] for k in hf if k.startswith("vision_encoder.layers.")})
    for name, cfg in ENCODER_CONFIGS.items():
        if (cfg.embed_dim, cfg.depth) == (patch.shape[0], depth):
            return name
    raise CheckpointError(
        f"transformers state dict with a ViT of width {patch.shape[0]} and depth {depth} "
        "matches no known model type"
    )


def from_transformers_state_dict(
    hf_state_dict: dict[str, torch.Tensor], *, model_type: str | None = None
) -> dict[str, torch.Tensor]:
    """Rename a ``SamHQModel`` (or ``SamModel``) state dict to the official key layout.

    The result loads with ``build_hq_sam(model_type, checkpoint=...)`` once saved (or
    with the line's ``load_state``). Keys that have no
    counterpart raise CheckpointError naming them.
    """
    from hqseg.modeling.lines import line_for

    model_type = model_type or _infer_hf_model_type(hf_state_dict)
    with torch.device("meta"):
        reference = line_for(model_type).build(model_type).state_dict()
    inverse = {to_transformers_key(k): k for k in reference}
    out, unknown = {}, []
    for key, value in hf_state_dict.items():
        if key in _HF_PE_KEYS:
            out[_PE_KEY] = value
        elif key in inverse:
            out[inverse[key]] = value
        else:
            unknown.append(key)
    if unknown:
        more = f", ... ({len(unknown)} in all)" if len(unknown) > 5 else ""
        shown = ", ".join(unknown[:5]) + more
        raise CheckpointError(f"transformers keys with no {model_type} counterpart: {shown}")
    return out
