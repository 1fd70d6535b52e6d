"""``HQParameters``: the HQ parameters of a model line, and freezing everything else.

Every line adds its HQ modules to its base model's mask decoder; only those train. A model
class mixes this in and names where they live with :attr:`HQParameters.hq_prefixes`.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch import nn


class HQParameters:
    """Mixin for an ``nn.Module`` whose HQ parameters are those under ``hq_prefixes``."""

    hq_prefixes: tuple[str, ...] = ()
    """State-dict prefixes of the HQ modules, e.g. ``("mask_decoder.hf_token.", ...)``."""

    def hq_parameter_names(self) -> list[str]:
        """Names of the HQ parameters (the keys the line adds to its base checkpoint)."""
        return [n for n, _ in self.named_parameters() if n.startswith(self.hq_prefixes)]

    def hq_parameters(self) -> Iterator[nn.Parameter]:
        """The HQ parameters, the only ones training optimises."""
        names = set(self.hq_parameter_names())
        return (p for n, p in self.named_parameters() if n in names)

    def freeze_sam(self, frozen: bool = True) -> None:
        """Make the base model's parameters untrainable (``frozen``) or trainable; the HQ
        parameters stay trainable."""
        names = set(self.hq_parameter_names())
        for n, p in self.named_parameters():
            p.requires_grad_(n in names or not frozen)
