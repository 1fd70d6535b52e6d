"""The embedded sample (`hqseg sample` -> download --from -> `hqseg build`), built once."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def build_folder(built) -> Path:
    """The official-preset build of the embedded sample: default/train + hq_eval splits."""
    return built("official", "drop")[1]
