"""Encodings are values: the frozen image encoder's output of an image, cached by key.

In every HQ-SAM line the image encoder is frozen and costs 90-99 % of scoring an image
(ViT-L/H, Hiera-L), so training validation (the same images every epoch) and
multi-checkpoint evaluation (the same images, the same encoder) encode each image once.

Key (:class:`EncodingKey`): the encoder digest (:func:`encoder_digest`: sha256 over the
encoder-side tensors' names, dtypes, shapes and bytes), the protocol's input geometry
(name and input size ``S``), the image's sha256 and the numerics (device type and
autocast dtype, which change the encoder's output bits). The image part is the sha256 of
the image file's bytes where the caller has it (build records carry ``sha256``), else
:func:`tensor_digest` of the model input itself (shape, dtype and bytes of the normalised
``[1, 3, S, S]`` tensor: exactly what the encoder sees).

Features are opaque to the cache: a tensor or a tuple/list/dict of tensors (HQ-SAM:
``(embedding [1, 256, 64, 64], early ViT feature [1, 64, 64, C])``). Stored copies live
on the CPU; a hit returns CPU tensors, bit-identical to what was computed.

Storage (:class:`EncodingCache`): in memory while the entries fit ``memory_bytes``; the
rest on disk in ``dir`` (when given) up to ``disk_bytes``, the oldest files evicted
first. Disk files are written atomically, start with the sha256 of their payload (checked
before anything is unpickled) and are read with ``torch.load(weights_only=True)``; a
corrupt or truncated file is recomputed and replaced with a log line, never trusted. The
folder carries hqseg's ownership marker: a non-empty folder without the marker of an
encoding cache is refused, never emptied.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hqseg.errors import HqsegError
from hqseg.utils.atomic import write_bytes, write_text
from hqseg.utils.outdir import MARKER, is_empty, read_marker

CACHE_COMMAND = "encoding cache"
"""The ``command`` of an encoding cache folder's ownership marker."""
DEFAULT_MEMORY_BYTES = 2 << 30
DEFAULT_DISK_BYTES = 64 << 30
_SUFFIX = ".enc"
_HEADER = b"hqseg-encoding 1 "  # + sha256 hex of the payload + b"\n", then torch.save bytes
# Encoder-side state besides ``image_encoder``: what else shapes the encoder's output.
_EXTRA_PREFIXES = ("pixel_mean", "pixel_std", "no_mem_embed", "sam_mask_decoder.conv_s")
_EXTRA_ATTRS = ("early_block_index", "directly_add_no_mem_embed", "image_size")


class EncodingCacheError(HqsegError):
    """An encoding cache folder that is not hqseg's, or a key that cannot be made."""


@dataclass(frozen=True)
class EncodingKey:
    """What one cached encoding is of.

    Attributes:
        encoder: :func:`encoder_digest` of the model (hex).
        geometry: the protocol's name (``"square"``, ``"longest_side"``).
        size: the square input side ``S`` (1024).
        image: sha256 hex of the image bytes, or :func:`tensor_digest` of the model input.
        numerics: ``"<device type>/<autocast dtype or float32>"``, e.g. ``"cuda/bfloat16"``.
    """

    encoder: str
    geometry: str
    size: int
    image: str
    numerics: str = "cpu/float32"

    def name(self) -> str:
        """The entry's file stem: sha256 hex of all the fields."""
        text = json.dumps([self.encoder, self.geometry, self.size, self.image, self.numerics])
        return hashlib.sha256(text.encode()).hexdigest()


def _hash_tensor(h: Any, name: str, tensor: torch.Tensor) -> None:
    t = tensor.detach().to("cpu").contiguous()
    h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
    if t.numel():
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())


def tensor_digest(tensor: torch.Tensor) -> str:
    """sha256 hex over a tensor's dtype, shape and bytes (the image key of a model input)."""
    h = hashlib.sha256()
    _hash_tensor(h, "", tensor)
    return h.hexdigest()


def tensors_digest(named: Iterable[tuple[str, torch.Tensor]]) -> str:
    """sha256 hex over named tensors (names, dtypes, shapes, bytes), in name order."""
    h = hashlib.sha256()
    for name, tensor in sorted(named, key=lambda item: item[0]):
        _hash_tensor(h, name, tensor)
    return h.hexdigest()


def _unwrap(model: Any) -> Any:
    """The ``nn.Module`` behind a predictor (``predictor.model``) or the model itself."""
    return model if hasattr(model, "image_encoder") else getattr(model, "model", model)


def encoder_state(model: Any) -> dict[str, torch.Tensor]:
    """The tensors the encoder's output depends on, by name: the ``image_encoder``'s state
    dict, the input normalisation (``pixel_mean``/``pixel_std``) and, for HQ-SAM 2, SAM
    2's ``no_mem_embed`` and the high-res convolutions ``sam_mask_decoder.conv_s0/s1``."""
    module = _unwrap(model)
    if not hasattr(module, "image_encoder"):
        raise EncodingCacheError(f"{type(module).__name__} has no image_encoder to digest")
    state = {f"image_encoder.{k}": v for k, v in module.image_encoder.state_dict().items()}
    for name, value in module.state_dict().items():
        if name.startswith(_EXTRA_PREFIXES):
            state[name] = value
    return state


def encoder_parameters(model: Any) -> list[torch.nn.Parameter]:
    """The parameters among :func:`encoder_state` (for the frozen check)."""
    module = _unwrap(model)
    names = set(encoder_state(module))
    return [p for n, p in module.named_parameters() if n in names]


def encoder_frozen(model: Any) -> bool:
    """True when no encoder parameter requires a gradient (training cannot change it)."""
    return not any(p.requires_grad for p in encoder_parameters(model))


def encoder_digest(model: Any) -> str:
    """sha256 hex over the encoder-side state (:func:`encoder_state`: names, dtypes,
    shapes, bytes, in name order) and the model class and settings that shape the
    encoding (``early_block_index`` and the like). Two encoders that differ in one
    weight get different digests. Cost: one pass over the encoder's bytes (~1 s for ViT-L)."""
    module = _unwrap(model)
    h = hashlib.sha256(type(module).__qualname__.encode())
    for attr in _EXTRA_ATTRS:
        h.update(f"\0{attr}={getattr(module, attr, None)!r}".encode())
    for name, tensor in sorted(encoder_state(module).items()):
        _hash_tensor(h, name, tensor)
    return h.hexdigest()


def _tensors(features: Any) -> Iterable[torch.Tensor]:
    if torch.is_tensor(features):
        yield features
    elif isinstance(features, dict):
        for value in features.values():
            yield from _tensors(value)
    elif isinstance(features, list | tuple):
        for value in features:
            yield from _tensors(value)
    else:
        raise EncodingCacheError(f"cannot cache features of type {type(features).__name__}")


def map_tensors(features: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """``features`` (a tensor, or a tuple/list/dict of them, nested) with ``fn`` applied to
    every tensor; the structure and its types are kept."""
    if torch.is_tensor(features):
        return fn(features)
    if isinstance(features, dict):
        return {k: map_tensors(v, fn) for k, v in features.items()}
    if isinstance(features, list | tuple):
        return type(features)(map_tensors(v, fn) for v in features)
    raise EncodingCacheError(f"cannot cache features of type {type(features).__name__}")


def nbytes(features: Any) -> int:
    """Bytes held by the tensors of ``features``."""
    return sum(t.numel() * t.element_size() for t in _tensors(features))


class EncodingCache:
    """Encodings by :class:`EncodingKey`, in memory and (optionally) on disk.

    Args:
        dir: the cache folder (created with hqseg's marker), or None for memory only.
        memory_bytes: budget of entries kept in memory (entries that do not fit go to
            disk, or are not kept without ``dir``); 0 keeps none in memory.
        disk_bytes: size limit of the folder's entries; the oldest files are evicted.
        log: where the log lines go (a corrupt file replaced, an eviction); stderr.
        fixed_encoders: the caller's promise that the encoders this cache sees do not
            change while it lives (training validation, whose encoder is frozen): each
            model's :func:`encoder_digest` is then computed once, not at every run over
            the images (~1 s at ViT-L). False: computed by every :meth:`digest` call.

    Raises:
        EncodingCacheError: ``dir`` exists and is not empty, and is not an encoding cache.
    """

    def __init__(
        self,
        dir: str | os.PathLike | None = None,  # noqa: A002
        *,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        disk_bytes: int = DEFAULT_DISK_BYTES,
        log: Callable[[str], None] | None = None,
        fixed_encoders: bool = False,
    ) -> None:
        self.dir = None if dir is None else Path(dir)
        self._digests: weakref.WeakKeyDictionary | None = (
            weakref.WeakKeyDictionary() if fixed_encoders else None
        )
        self.memory_bytes, self.disk_bytes = int(memory_bytes), int(disk_bytes)
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._memory: dict[str, Any] = {}
        self._memory_used = 0
        self.hits = self.misses = 0
        if self.dir is not None:
            _claim(self.dir)

    # ------------------------------------------------------------------ lookup
    def digest(self, model: Any) -> str:
        """:func:`encoder_digest` of ``model``, once per model with ``fixed_encoders``."""
        if self._digests is None:
            return encoder_digest(model)
        module = _unwrap(model)
        if module not in self._digests:
            self._digests[module] = encoder_digest(module)
        return self._digests[module]

    def get_or_compute(self, key: EncodingKey, compute: Callable[[], Any]) -> Any:
        """The encoding of ``key``: cached (CPU tensors) or ``compute()``'s result, whose
        CPU copy is then kept (memory first, else disk)."""
        name = key.name()
        found = self._memory.get(name)
        if found is None and self.dir is not None:
            found = self._read(name, key)
            if found is not None:
                self._keep_in_memory(name, found)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        features = compute()
        stored = map_tensors(features, lambda t: t.detach().to("cpu", copy=True))
        if not self._keep_in_memory(name, stored) and self.dir is not None:
            self._write(name, key, stored)
        return features

    def __len__(self) -> int:
        return len(self._memory) + (len(self._files()) if self.dir is not None else 0)

    def clear_memory(self) -> None:
        """Drop the in-memory entries (the disk entries stay)."""
        self._memory.clear()
        self._memory_used = 0

    def _keep_in_memory(self, name: str, features: Any) -> bool:
        size = nbytes(features)
        if self._memory_used + size > self.memory_bytes:
            return False
        self._memory[name] = features
        self._memory_used += size
        return True

    # ------------------------------------------------------------------ disk
    def _path(self, name: str) -> Path:
        assert self.dir is not None
        return self.dir / f"{name}{_SUFFIX}"

    def _files(self) -> list[Path]:
        assert self.dir is not None
        return [p for p in self.dir.glob(f"*{_SUFFIX}") if p.is_file()]

    def _read(self, name: str, key: EncodingKey) -> Any | None:
        path = self._path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        problem = _check(data)
        if problem is None:
            try:
                entry = torch.load(io.BytesIO(data[len(_HEADER) + 65 :]), weights_only=True)
            except Exception as exc:  # noqa: BLE001 -- any unreadable payload is recomputed
                problem = f"unreadable ({type(exc).__name__})"
            else:
                if entry.get("key") != _key_fields(key):
                    problem = "holds another key"
                else:
                    return entry["features"]
        self.log(f"encoding cache: {path} is {problem}; recomputing and replacing it")
        return None

    def _write(self, name: str, key: EncodingKey, features: Any) -> None:
        buffer = io.BytesIO()
        torch.save({"key": _key_fields(key), "features": features}, buffer)
        payload = buffer.getvalue()
        digest = hashlib.sha256(payload).hexdigest().encode()
        write_bytes(self._path(name), _HEADER + digest + b"\n" + payload)
        self._evict()

    def _evict(self) -> None:
        files = []
        for path in self._files():
            try:
                stat = path.stat()
            except FileNotFoundError:  # another process evicted it
                continue
            files.append((stat.st_mtime_ns, path.name, stat.st_size, path))
        total = sum(f[2] for f in files)
        for _, _, size, path in sorted(files):
            if total <= self.disk_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            self.log(f"encoding cache: evicted {path.name} (over {self.disk_bytes} bytes)")


def _key_fields(key: EncodingKey) -> list:
    return [key.encoder, key.geometry, key.size, key.image, key.numerics]


def _check(data: bytes) -> str | None:
    """Why a cache file's bytes cannot be trusted, or None (header and payload checksum)."""
    head = len(_HEADER) + 65
    if not data.startswith(_HEADER) or len(data) < head or data[head - 1 : head] != b"\n":
        return "not an encoding file or truncated"
    if hashlib.sha256(data[head:]).hexdigest().encode() != data[len(_HEADER) : head - 1]:
        return "corrupt or truncated (checksum mismatch)"
    return None


def _claim(path: Path) -> None:
    """Create ``path`` as an encoding cache, or accept one; refuse anything else."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise EncodingCacheError(f"encoding cache {path}: exists and is not a folder")
    if path.is_dir() and not is_empty(path):
        found = read_marker(path)
        if found is None or found.get("command") != CACHE_COMMAND:
            raise EncodingCacheError(
                f"encoding cache {path}: holds files and is not an hqseg encoding cache "
                f"(no {MARKER} of one); it is never emptied: name another folder"
            )
        return
    marker = {"command": CACHE_COMMAND, "run_id": "", "files": {}}
    write_text(path / MARKER, json.dumps(marker, indent=2) + "\n")


__all__ = [
    "CACHE_COMMAND",
    "EncodingCache",
    "EncodingCacheError",
    "EncodingKey",
    "encoder_digest",
    "encoder_frozen",
    "encoder_state",
    "map_tensors",
    "tensor_digest",
]
