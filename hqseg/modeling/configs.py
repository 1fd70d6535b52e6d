"""Image-encoder configurations of the model types of the ``vit`` and ``tinyvit`` lines.

Every configuration takes a 1024x1024 input and gives a 64x64x256 embedding, so the
prompt encoder and mask decoder always have SAM's real shapes; only the encoder differs.
The early feature fed to the HQ decoder is ``[B, 64, 64, C]`` with ``C = vit_dim``.
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

    @property
    def vit_dim(self) -> int:
        """Channels of the early feature."""
        return self.embed_dim


@dataclass(frozen=True)
class TinyViTConfig:
    """A MobileSAM ``TinyViT`` configuration (4 stages; stage 0 is convolutional).

    The early feature is the output of stage ``layers[1]``, ``[B, 64*64, embed_dims[2]]``
    viewed as ``[B, 64, 64, embed_dims[2]]``. MobileSAM's patch merging keeps the 64x64
    grid in the last stage only when ``embed_dims[3]`` is 320, 448 or 576, so small test
    configurations keep 320 there.
    """

    embed_dims: tuple[int, int, int, int]
    depths: tuple[int, int, int, int]
    num_heads: tuple[int, int, int, int]
    window_sizes: tuple[int, int, int, int] = (7, 7, 14, 7)

    @property
    def vit_dim(self) -> int:
        """Channels of the early feature (the output width of stage 1)."""
        return self.embed_dims[2]


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
    "test_vit": EncoderConfig(embed_dim=64, depth=4, num_heads=2, global_attn_indexes=(1,)),
}

TINYVIT_CONFIGS: dict[str, TinyViTConfig] = {
    # Light HQ-SAM / MobileSAM (FACTS 2b).
    "vit_tiny": TinyViTConfig(
        embed_dims=(64, 128, 160, 320), depths=(2, 2, 6, 2), num_heads=(2, 4, 5, 10)
    ),
    # Small TinyViT for tests; not an official model.
    "test_tinyvit": TinyViTConfig(
        embed_dims=(16, 32, 48, 320), depths=(1, 1, 1, 1), num_heads=(1, 2, 2, 4)
    ),
}
