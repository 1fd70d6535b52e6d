"""The one reader of params.yaml (and of any ``--params`` / ``--custom-from`` file).

Every reader (``hqseg train --params``, ``hqseg build --custom-from``, ``pipelines/``)
goes through :func:`read_params` or :func:`read_section`, so the same file gives the
same values and the same one-line errors everywhere (:class:`ParamsError`):

* a missing file:       ``params file P does not exist``
* malformed YAML:       ``P: not valid YAML: <problem>``
* not a mapping:        ``P: must be a mapping of sections``
* a missing section:    ``P: no 'NAME' section``
* a section of another shape: ``P: section 'NAME' must be a mapping``
* unknown keys:         ``P: unknown <what> ['lerning_rate' (did you mean 'lr'?)]; known: [...]``

Numbers are read as DVC does: PyYAML follows YAML 1.1, whose floats need a dot
(``1.0e-4``), so ``lr: 1e-4`` would be the string ``"1e-4"``; DVC (ruamel, YAML 1.2)
and every user read it as 0.0001. The loader adds YAML 1.2's exponent form to PyYAML's
safe loader, so every reader sees the numbers that DVC interpolates into the stages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from hqseg.errors import HqsegError
from hqseg.utils.suggest import unknown_names

PARAMS_FILE = Path("params.yaml")
"""The pipeline's parameters, relative to the repository root (DVC's working folder)."""


class ParamsError(HqsegError):
    """A params file cannot be used: missing, malformed, or without the wanted section."""


class _Loader(yaml.SafeLoader):
    """The safe loader plus YAML 1.2 exponent floats that YAML 1.1 reads as strings
    (``1e-4``, ``-2E+3``, ``1.0e3``, ``.5e3``: 1.1 needs a dot and a signed exponent)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)


def read_params(path: str | os.PathLike = PARAMS_FILE) -> dict[str, Any]:
    """The whole params file as a mapping (an empty file is ``{}``).

    Raises:
        ParamsError: a missing or unreadable file, malformed YAML, or a document that
            is not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} does not exist")
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe
    except (OSError, UnicodeDecodeError) as exc:
        raise ParamsError(f"{path}: cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())  # YAML errors span several lines
        raise ParamsError(f"{path}: not valid YAML: {problem}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ParamsError(f"{path}: must be a mapping of sections")
    return doc


def read_section(
    name: str,
    path: str | os.PathLike = PARAMS_FILE,
    *,
    known: Iterable[str] | None = None,
    what: str = "key(s)",
) -> dict[str, Any]:
    """``params[name]``, a mapping; with ``known``, keys outside it are refused.

    Args:
        what: how the error names the section's keys (``"training setting(s)"``).

    Raises:
        ParamsError: as :func:`read_params`, a missing section, a section that is not a
            mapping, or (with ``known``) unknown keys.
    """
    doc = read_params(path)
    if name not in doc:
        raise ParamsError(f"{path}: no {name!r} section")
    values = doc[name]
    if not isinstance(values, dict):
        raise ParamsError(f"{path}: section {name!r} must be a mapping")
    if known is not None:
        problem = unknown_keys(values, known, what)
        if problem:
            raise ParamsError(f"{path}: {problem}")
    return values


def unknown_keys(values: Iterable[str], known: Iterable[str], what: str = "key(s)") -> str:
    """``"unknown key(s) ['lerning_rate' (did you mean 'lr'?)]; known: [...]"``, or ``""``
    when every key of ``values`` is known (the one wording for every reader)."""
    known = sorted(known)
    unknown = sorted(set(values) - set(known))
    if not unknown:
        return ""
    return f"unknown {what} {unknown_names(unknown, known)}; known: {known}"


__all__ = ["PARAMS_FILE", "ParamsError", "read_params", "read_section", "unknown_keys"]
