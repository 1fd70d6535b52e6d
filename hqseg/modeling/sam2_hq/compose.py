"""Read a SAM 2.1 YAML config and apply overrides, without Hydra's global state.

``sam2``'s own ``build_sam2`` goes through ``hydra.compose``, which needs the global
Hydra instance that ``import sam2`` initialises. The configs are plain OmegaConf
files with ``_target_`` keys, so reading them with OmegaConf and instantiating with
``hydra.utils.instantiate`` (which needs no global state) gives the same model.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from hqseg.modeling.sam2_hq.configs import (
    DECODER_POSTPROCESSING,
    SAM2_CONFIG_DIR,
    SAM2_CONFIGS,
    SAM2_MODEL_TYPES,
)


def config_path(model_type: str) -> Path:
    """The YAML file of ``model_type`` inside the installed ``sam2`` package."""
    if model_type not in SAM2_CONFIGS:
        raise ValueError(
            f"unknown HQ-SAM 2 model type {model_type!r}; known: {', '.join(SAM2_MODEL_TYPES)}"
        )
    yaml_name, _ = SAM2_CONFIGS[model_type]
    return Path(str(resources.files("sam2").joinpath(SAM2_CONFIG_DIR, yaml_name)))


def load_config(yaml_path: str | Path, overrides: dict[str, Any], *, target: str | None = None):
    """OmegaConf config of ``yaml_path`` with dotted-key ``overrides``, SAM 2's inference
    post-processing (dynamic multimask) and, if given, ``model._target_ = target``;
    interpolations resolved."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(yaml_path)
    for key, value in {**overrides, **DECODER_POSTPROCESSING}.items():
        OmegaConf.update(cfg, key, value, force_add=True)
    if target is not None:
        OmegaConf.update(cfg, "model._target_", target)
    OmegaConf.resolve(cfg)
    return cfg


def model_config(model_type: str, *, target: str):
    """The model config of ``model_type`` with its class set to ``target``."""
    _, overrides = SAM2_CONFIGS.get(model_type, (None, {}))
    return load_config(config_path(model_type), overrides, target=target)
