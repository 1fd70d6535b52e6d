"""Read params.yaml as DVC does: ``1e-4`` is a number, not a string.

PyYAML follows YAML 1.1, whose floats need a dot (``1.0e-4``), so ``lr: 1e-4`` would
be the string ``"1e-4"``; DVC (ruamel, YAML 1.2) and every user read it as 0.0001.
:func:`load` adds YAML 1.2's exponent form to PyYAML's safe loader, so every reader
of params.yaml (``hqseg train --params``, the ``custom:`` list, ``pipelines/``) sees
the numbers that DVC interpolates into the stage commands.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """The safe loader plus YAML 1.2 exponent floats that YAML 1.1 reads as strings
    (``1e-4``, ``-2E+3``, ``1.0e3``, ``.5e3``: 1.1 needs a dot and a signed exponent)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)


def load(text: str) -> Any:
    """Parse YAML ``text`` safely (like ``yaml.safe_load``), with YAML 1.2 exponent floats.

    Raises:
        yaml.YAMLError: the text is not valid YAML.
    """
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


__all__ = ["load"]
