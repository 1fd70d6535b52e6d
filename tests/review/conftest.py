"""Review-page fixtures; the synthetic audit table lives in review_data.py (on the path)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # review_data

from review_data import Audit, write_audit  # noqa: E402


@pytest.fixture(scope="module")
def audit(built, tmp_path_factory) -> Audit:
    _, build = built("official", "drop")
    folder = tmp_path_factory.mktemp("audit")
    return write_audit(build, folder / "audit.csv", model=True)
