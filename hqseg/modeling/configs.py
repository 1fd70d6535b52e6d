"""Image-encoder configurations of the supported model types.

Every configuration takes a 1024x1024 input and gives a 64x64x256 embedding, so the
prompt encoder and mask decoder always have SAM's real shapes; only the ViT differs.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_SIZE = 1024
PATCH_SIZE = 16
PROMPT_EMBED_DIM = 256


@dataclass(frozen=True)
class EncoderConfig:
    """A segment_anything ``ImageEncoderViT`` configuration.

    ``embed_dim`` is the ViT width C, which is also the channel count of the early
    feature fed to the HQ decoder (the output of block ``global_attn_indexes[0]``).
    """

    embed_dim: int
    depth: int
    num_heads: int
    global_attn_indexes: tuple[int, ...]
    window_size: int = 14

    @property
    def early_block(self) -> int:
        """Index of the first global-attention block, whose output is the early feature."""
        return self.global_attn_indexes[0]


ENCODER_CONFIGS: dict[str, EncoderConfig] = {
    "vit_b": EncoderConfig(
        embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11)
    ),
    "vit_l": EncoderConfig(
        embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23)
    ),
    "vit_h": EncoderConfig(
        embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=(7, 15, 23, 31)
    ),
    # Small ViT for tests and the embedded pipeline; not an official model. One global
    # block only: each global block costs ~0.2 s on 2 CPU cores at the 64x64 grid.
    "tiny": EncoderConfig(embed_dim=64, depth=4, num_heads=2, global_attn_indexes=(1,)),
}

MODEL_TYPES = tuple(ENCODER_CONFIGS)
