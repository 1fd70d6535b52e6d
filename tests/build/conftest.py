"""Build-test helpers on the import path; the sample fixtures live in tests/conftest.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # build_helpers
