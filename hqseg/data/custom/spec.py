"""Parse a custom-source spec string: ``KIND:LOCATION[?key=value&key=value...]``.

Kinds and their LOCATION:

* ``folder:PATH``: the whole rest is the path (colons allowed, there is no later field);
* ``coco:ANNOTATIONS.json[:IMAGES_DIR]``: the annotations file ends at the first
  ``.json`` followed by ``:`` or the end; IMAGES_DIR defaults to the JSON's ``images``
  sub-folder if present, else its folder;
* ``hf:NAME_OR_PATH[:CONFIG][:SPLIT]``: a Hub name (``org/name``) or a local folder;
  CONFIG and SPLIT cannot contain ``:``.

Colons: a Windows drive letter right after the kind (``folder:C:\\data``,
``hf:D:/sets/x``) belongs to the path. For ``coco`` and ``hf`` any other colon
separates fields, so a path that itself holds a colon must be given with the
``path=`` option instead (``hf:?path=/odd:name/set&split=val``).

Options follow the first ``?`` (``?`` cannot appear in a path; it may appear in an
option value, e.g. a glob). Every kind takes ``name`` (the source name; default
derived from the location, see :func:`derive_name`), ``licence`` (``license`` is
accepted too) and ``train`` (comma-separated splits that join the training
composition; default ``train``). Kind-specific keys are listed in :data:`KIND_OPTIONS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

from hqseg.errors import DatasetError

KINDS = ("folder", "coco", "hf")
COMMON_OPTIONS = ("name", "licence", "train", "path")
#: Options each kind accepts besides :data:`COMMON_OPTIONS`.
KIND_OPTIONS: dict[str, tuple[str, ...]] = {
    "folder": ("images", "masks", "mask_suffix", "splits", "mask_type", "ignore"),
    "coco": ("images_dir", "min_area", "split"),
    "hf": ("config", "split", "image", "mask", "id", "mask_type", "ignore"),
}
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class SpecError(DatasetError):
    """A custom-source spec string that cannot be understood (one clear line)."""


@dataclass(frozen=True)
class SourceSpec:
    """A parsed spec.

    Attributes:
        kind: ``folder``, ``coco`` or ``hf``.
        location: folder path, annotations file, or Hub name / local dataset folder.
        extra: ``coco``: the images folder (or ""); ``hf``: (config, split) as given.
        options: ``key -> value`` strings from the ``?`` part.
        text: the spec as written (for cards and error messages).
    """

    kind: str
    location: str
    options: dict[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()
    text: str = ""

    @property
    def name(self) -> str:
        return self.options.get("name") or derive_name(self)

    @property
    def licence(self) -> str:
        return self.options.get("licence", "")

    @property
    def train_splits(self) -> tuple[str, ...]:
        value = self.options.get("train", "train")
        return tuple(s.strip() for s in value.split(",") if s.strip())


def _split_drive(rest: str) -> tuple[str, str]:
    """(drive prefix such as ``C:``, remainder) when ``rest`` starts with a drive letter."""
    if _DRIVE.match(rest):
        return rest[:2], rest[2:]
    return "", rest


def _options(text: str, spec: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, text.split("&")):
        key, eq, value = part.partition("=")
        key = key.strip().lower().replace("-", "_")
        if key == "license":
            key = "licence"
        if not eq or not key:
            raise SpecError(f"{spec!r}: option {part!r} is not key=value")
        if key in out:
            raise SpecError(f"{spec!r}: option {key!r} given twice")
        out[key] = value.strip()
    return out


def parse_spec(text: str) -> SourceSpec:
    """Parse ``text`` (see the module docstring).

    Raises:
        SpecError: unknown kind, empty location, unknown option, bad source name.
    """
    spec = text.strip()
    kind, colon, rest = spec.partition(":")
    kind = kind.strip().lower()
    if not colon or kind not in KINDS:
        raise SpecError(
            f"{text!r}: a custom source is KIND:LOCATION with KIND one of "
            f"{', '.join(KINDS)} (e.g. folder:/data/mine, coco:ann.json:images, hf:org/name)"
        )
    rest, _, query = rest.partition("?")
    options = _options(query, text)
    allowed = COMMON_OPTIONS + KIND_OPTIONS[kind]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise SpecError(
            f"{text!r}: unknown option(s) {', '.join(unknown)} for {kind}: "
            f"sources; known: {', '.join(allowed)}"
        )
    extra: tuple[str, ...] = ()
    if "path" in options:
        if rest:
            raise SpecError(f"{text!r}: give the location either before '?' or as path=, not both")
        location = options.pop("path")
        if kind == "coco":
            extra = (options.get("images_dir", ""),)
        elif kind == "hf":
            extra = (options.get("config", ""), options.get("split", ""))
    elif kind == "folder":
        location = rest
    elif kind == "coco":
        drive, tail = _split_drive(rest)
        found = re.search(r"\.json(?=:|$)", tail, flags=re.IGNORECASE)
        if found is None:
            raise SpecError(f"{text!r}: coco: needs an annotations file ending in .json")
        location = drive + tail[: found.end()]
        images = tail[found.end() + 1 :]
        extra = (options.get("images_dir", images),)
    else:
        drive, tail = _split_drive(rest)
        parts = tail.split(":")
        if len(parts) > 3:
            raise SpecError(
                f"{text!r}: hf: takes NAME_OR_PATH[:CONFIG][:SPLIT]; "
                "a path holding ':' must be given as ?path=..."
            )
        location = drive + parts[0]
        parts += [""] * (3 - len(parts))
        extra = (options.get("config", parts[1]), options.get("split", parts[2]))
    if not location.strip():
        raise SpecError(f"{text!r}: no location after {kind}:")
    result = SourceSpec(kind, location.strip(), options, extra, spec)
    check_name(result.name, text)
    if not result.train_splits and "train" in options and options["train"] not in ("", "none"):
        raise SpecError(f"{text!r}: train= names no split")
    return result


def check_name(name: str, text: str) -> None:
    """Raise :class:`SpecError` unless ``name`` is a valid source name (it becomes a
    folder name under the output root, so it can never hold ``/``, ``.`` or ``..``)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SpecError(
            f"{text!r}: source name {name!r} must be lower-case letters, digits and _, "
            "starting with a letter, at most 48 characters (set it with ?name=... or --name)"
        )


def derive_name(spec: SourceSpec) -> str:
    """The default source name: the folder name (``folder``), the JSON file's stem
    (``coco``) or the last part of the Hub name or path (``hf``), lower-cased, with
    every run of other characters turned into ``_`` (``My Data-2`` -> ``my_data_2``),
    and ``c_`` put in front of a name that would not start with a letter."""
    location = spec.location.rstrip("/\\")
    path = PureWindowsPath(location) if _DRIVE.match(location) else PurePosixPath(location)
    base = path.stem if spec.kind == "coco" else path.name
    name = re.sub(r"[^a-z0-9]+", "_", base.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"c_{name}".rstrip("_")
    return name[:48]
