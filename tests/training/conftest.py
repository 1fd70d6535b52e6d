"""The embedded sample (`hqseg sample` -> download --from -> `hqseg build`), built once."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def build_folder(built) -> Path:
    """The official-preset build of the embedded sample: default/train + hq_eval splits."""
    return built("official", "drop")[1]


@pytest.fixture(scope="session")
def data(build_folder) -> Path:
    """The build the training-run tests train on (:func:`build_folder`)."""
    return build_folder
