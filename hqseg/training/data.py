"""The training dataset over a ``hqseg build`` folder, and a resumable distributed sampler.

Every sample's randomness (flip, jitter, prompt) comes from its own generator
seeded with ``(seed, epoch, index)``: the result does not depend on worker count,
rank or whether the run was resumed, which makes kill-and-resume exact.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from hqseg.errors import DatasetError
from hqseg.training.augment import large_scale_jitter
from hqseg.training.config import TrainConfig
from hqseg.training.prompts import sample_prompt


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` in ``epoch``."""
    return np.random.default_rng([seed, epoch, index])


class HQTrainDataset(Dataset):
    """Augmented samples with one prompt each, indexed by ``(epoch, index)`` pairs.

    Each item is a dict:
        image [3, 1024, 1024] uint8 raw pixels; target [1, 1024, 1024] uint8 grey mask
        (the loss divides by 255);
        kind (prompt type index); box [4] XYXY; points [N, 2] (x, y); point_labels [N];
        mask_prompt [1, 256, 256]; index.
    """

    def __init__(self, records, *, config: TrainConfig) -> None:
        self.records = records
        self.config = config

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        from hqseg.data.records import decode_image, decode_mask

        epoch, index = key
        cfg = self.config
        record = self.records[int(index)]
        try:
            image = decode_image(record["image"])
            mask = decode_mask(record["mask"])
        except Exception as exc:  # corrupt bytes in a shard
            raise DatasetError(f"record {record.get('id', index)!r}: cannot decode: {exc}") from exc
        if image.shape[:2] != mask.shape:
            raise DatasetError(
                f"record {record.get('id', index)!r}: image {image.shape[:2]} and mask "
                f"{mask.shape} sizes differ"
            )
        rng = sample_rng(cfg.seed, epoch, int(index))
        aug = large_scale_jitter(
            image,
            mask,
            rng,
            scale_min=cfg.scale_min,
            scale_max=cfg.scale_max,
            flip_prob=cfg.flip_prob,
        )
        prompt = sample_prompt(
            aug.mask.float() / 255.0,
            rng,
            types=tuple(cfg.prompt_types),
            num_points=cfg.prompt_points,
            box_noise_scale=cfg.box_noise_scale,
        )
        return {
            "image": aug.image,
            "target": aug.mask,
            "kind": torch.tensor(prompt.kind),
            "box": prompt.box,
            "points": prompt.points,
            "point_labels": prompt.point_labels,
            "mask_prompt": prompt.mask.to(torch.uint8),  # {0, 255}
            "index": torch.tensor(int(index)),
        }


class ResumableSampler(DistributedSampler):
    """DistributedSampler that yields ``(epoch, index)`` and can skip a consumed prefix.

    ``set_epoch(epoch, skip=k)`` makes the next iteration start after the first
    ``k`` samples of this rank's share of ``epoch`` (used on resume).
    """

    def __init__(self, dataset, *, num_replicas: int, rank: int, seed: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:  # type: ignore[override]
        super().set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = list(super().__iter__())[self.skip :]
        return iter([(self.epoch, i) for i in indices])


def open_train_records(config: TrainConfig):
    """The training split as a ``datasets.Dataset``, limited if asked; clear errors if absent."""
    from pathlib import Path

    from hqseg.data.records import load_split

    folder = Path(config.data)
    if not folder.exists():
        raise DatasetError(f"dataset folder {folder} does not exist; run `hqseg build` first")
    records = load_split(folder, config.train_config, config.train_split)
    missing = {"image", "mask"} - set(records.column_names)
    if missing:
        raise DatasetError(
            f"{folder}: split {config.train_split!r} lacks columns {sorted(missing)}"
        )
    if len(records) == 0:
        raise DatasetError(f"{folder}: split {config.train_split!r} is empty")
    if config.limit_train_samples:
        records = records.select(range(min(config.limit_train_samples, len(records))))
    return records
