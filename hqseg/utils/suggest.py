"""'Did you mean' hints for misspelt names (settings, params.yaml keys)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``" (did you mean 'lr'?)"`` for the closest known name, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_names(unknown: Iterable[str], known: Iterable[str]) -> str:
    """``"['lr_rate' (did you mean 'lr'?), 'foo']"``: each unknown name with its hint."""
    known = sorted(known)
    return "[" + ", ".join(f"{u!r}{did_you_mean(u, known)}" for u in sorted(unknown)) + "]"
