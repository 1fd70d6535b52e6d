"""``train(config)``: the training loop, single process or under torchrun.

Order of work per optimiser step: ``grad_accum`` micro-batches (encode without
gradients, decode HQ logits, point-sampled loss, backward), gradient average
across ranks, Adam step, logging; checkpoints every ``checkpoint_every`` steps and
at each epoch end; StepLR steps at epoch ends; validation at each epoch end.
"""

from __future__ import annotations

import math
import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from hqseg.errors import CheckpointError
from hqseg.training import checkpoint as ckpt
from hqseg.training import distributed as dist_utils
from hqseg.training import model_api
from hqseg.training.config import ConfigError, TrainConfig
from hqseg.training.data import HQTrainDataset, ResumableSampler, open_train_records
from hqseg.training.monitor import Monitor, NullMonitor, plot_curves
from hqseg.training.step import batch_loss, loss_generator
from hqseg.training.validation import open_val_splits, validate
from hqseg.utils.atomic import atomic_file, write_json

KILL_ENV = "HQSEG_TRAIN_KILL_AFTER_STEP"
"""Fault injection for tests: SIGKILL every rank right after the checkpoint of this step."""
DUMP_ENV = "HQSEG_TRAIN_DUMP_RANK_WEIGHTS"
"""Test aid: every rank writes its final HQ weights to ``<out>/rank<r>_hq.pth``."""


@dataclass
class TrainResult:
    """What a run did. ``losses`` are (step, mean loss over ranks) of this invocation."""

    run_dir: Path
    steps: int
    losses: list[tuple[int, float]] = field(default_factory=list)
    val_before: dict[str, float] | None = None
    val_after: dict[str, float] | None = None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train(config: TrainConfig, *, resume: str | None = None, progress: bool = True) -> TrainResult:
    """Train the HQ parameters of ``config.model_type`` as the recipe says; see module doc.

    Args:
        resume: a training checkpoint path, ``"auto"`` (the run's last.pt if any) or None.
        progress: show a tqdm bar on rank 0.
    """
    device = dist_utils.pick_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
    info = dist_utils.init_distributed(device)
    try:
        return _Trainer(config, info, device).run(resume, progress)
    finally:
        dist_utils.shutdown(info)


class _Trainer:
    def __init__(self, config: TrainConfig, info: dist_utils.DistInfo, device: torch.device):
        self.cfg, self.info, self.device = config, info, device
        self.run_dir = config.run_dir
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise ConfigError(f"--out {self.run_dir} is a file, not a run folder")
        with dist_utils.main_process_first(info):  # rank 0 fills the datasets cache
            self.records = open_train_records(config)  # fails early on a bad data folder
            self.val_splits = open_val_splits(config) if config.validate else {}
        seed_everything(config.seed)  # identical HQ init on every rank
        self.model = model_api.build_model(config.model_type, config.checkpoint).to(device)
        self.names_params = model_api.hq_named_parameters(self.model)
        self.params = [p for _, p in self.names_params]
        dist_utils.broadcast_parameters(self.params, info)
        seed_everything(config.seed + info.rank)  # per-rank randomness from here on
        self.optimizer = torch.optim.Adam(self.params, lr=config.lr, weight_decay=0.0)
        self.scheduler = torch.optim.lr_scheduler.StepLR(
            self.optimizer, step_size=config.lr_drop_epoch, gamma=config.lr_gamma
        )
        if config.compile:
            self.model.image_encoder.compile()
            self.model.mask_decoder.compile()

    # ------------------------------------------------------------------ set-up
    def _resume(self, resume: str | None) -> ckpt.Position:
        path = ckpt.resolve_resume(resume, self.run_dir)
        if path is None:
            return ckpt.Position()
        payload = ckpt.load_checkpoint(path)
        saved_type = payload["config"].get("model_type")
        if saved_type != self.cfg.model_type:
            raise CheckpointError(
                f"{path}: trained with model type {saved_type!r}, this run uses "
                f"{self.cfg.model_type!r}"
            )
        model_api.load_hq_state(self.model, payload["hq"], source=str(path))
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        position = ckpt.position_of(payload)
        if self.info.is_main:
            ckpt.set_rng_state(payload["rng"])
            changed = {
                k: (v, getattr(self.cfg, k))
                for k, v in payload["config"].items()
                if hasattr(self.cfg, k) and getattr(self.cfg, k) != v
            }
            print(f"resuming from {path} at epoch {position.epoch}, step {position.step}")
            if changed:
                print(f"  settings changed since the checkpoint (saved, now): {changed}")
        else:
            seed_everything(self.cfg.seed + self.info.rank + position.step)
        return position

    def _loader(self, sampler: ResumableSampler) -> DataLoader:
        dataset = HQTrainDataset(self.records, config=self.cfg)
        return DataLoader(
            dataset,
            batch_size=self.cfg.batch_size,
            sampler=sampler,
            num_workers=self.cfg.num_workers,
            pin_memory=self.device.type == "cuda",
            drop_last=False,
        )

    # ------------------------------------------------------------------ main
    def run(self, resume: str | None, progress: bool) -> TrainResult:
        cfg, info = self.cfg, self.info
        position = self._resume(resume)
        monitor = (
            Monitor(self.run_dir, resume_step=position.step if position.step or resume else None)
            if info.is_main
            else NullMonitor()
        )
        result = TrainResult(self.run_dir, position.step)
        result.val_before = self._validate_before(position, monitor)
        sampler = ResumableSampler(
            self.records, num_replicas=info.world_size, rank=info.rank, seed=cfg.seed
        )
        per_rank = len(sampler)
        batches_per_epoch = math.ceil(per_rank / cfg.batch_size)
        steps_per_epoch = math.ceil(batches_per_epoch / cfg.grad_accum)
        total = cfg.epochs * steps_per_epoch
        if cfg.max_steps:
            total = min(total, cfg.max_steps)
        bar = _progress_bar(total, position.step, enabled=progress and info.is_main)
        step, last_val_step = position.step, None
        loader = self._loader(sampler)
        for epoch in range(position.epoch, cfg.epochs):
            if step >= total:
                break
            skip = position.batches_done if epoch == position.epoch else 0
            sampler.set_epoch(epoch, skip=skip * cfg.batch_size)
            micro, acc_loss, acc_n, t0 = skip, 0.0, 0, time.perf_counter()
            self.model.mask_decoder.train()
            for batch in loader:
                gen = loss_generator(self.device, cfg.seed, info.rank, step, micro)
                parts = batch_loss(self.model, batch, config=cfg, device=self.device, generator=gen)
                (parts.total / cfg.grad_accum).backward()
                acc_loss += float(parts.total.detach())
                acc_n += 1
                micro += 1
                if micro % cfg.grad_accum and micro < batches_per_epoch:
                    continue
                dist_utils.average_gradients(self.params, info)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                step += 1
                loss = dist_utils.all_reduce_mean(acc_loss / acc_n, info, self.device)
                elapsed = time.perf_counter() - t0
                rate = acc_n * cfg.batch_size * info.world_size / max(elapsed, 1e-9)
                result.losses.append((step, loss))
                if step % cfg.log_every == 0 or step == total:
                    monitor.log(
                        step,
                        {
                            "train/loss": loss,
                            "train/lr": self._lr(),
                            "train/images_per_s": rate,
                            "train/epoch": epoch,
                        },
                    )
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}", img_s=f"{rate:.2f}", epoch=epoch)
                acc_loss, acc_n, t0 = 0.0, 0, time.perf_counter()
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    self._save(ckpt.Position(epoch, micro, step))
                if step >= total:
                    break
            else:  # epoch finished
                self.scheduler.step()
                self._save(ckpt.Position(epoch + 1, 0, step))
                val = self._validate(monitor, step)
                last_val_step = step
                result.val_after = val or result.val_after
                continue
            self._save(ckpt.Position(epoch, micro, step))  # stopped by max_steps mid-epoch
            break
        bar.close()
        if cfg.validate and last_val_step != step:
            result.val_after = self._validate(monitor, step)
        result.steps = step
        self._finish(monitor, result)
        return result

    # ------------------------------------------------------------------ helpers
    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _save(self, position: ckpt.Position) -> None:
        if self.info.is_main:
            ckpt.save_checkpoint(
                self.run_dir,
                hq_state=model_api.hq_state_dict(self.model),
                optimizer=self.optimizer,
                scheduler=self.scheduler,
                position=position,
                config=self.cfg.to_dict(),
            )
        dist_utils.barrier(self.info)
        if os.environ.get(KILL_ENV) == str(position.step):
            os.kill(os.getpid(), signal.SIGKILL)

    def _validate(self, monitor, step: int) -> dict[str, float] | None:
        if not self.val_splits:
            return None
        values = None
        if self.info.is_main:
            values = validate(self.model, self.val_splits, bf16=self.cfg.amp == "bf16")
            monitor.log(step, {"val/mIoU": values["mIoU"], "val/mBIoU": values["mBIoU"]})
            self.model.mask_decoder.train()
        dist_utils.barrier(self.info)
        return values

    def _validate_before(self, position: ckpt.Position, monitor) -> dict[str, float] | None:
        """Score the untrained HQ head once (step 0); a resumed run reads the saved score."""
        import json

        path = self.run_dir / "val_before.json"
        if not self.val_splits:
            return None
        if position.step > 0:
            return json.loads(path.read_text()) if path.is_file() else None
        values = None
        if self.info.is_main:
            values = validate(self.model, self.val_splits, bf16=self.cfg.amp == "bf16")
            write_json(path, values)
            monitor.log(0, {"val/mIoU": values["mIoU"], "val/mBIoU": values["mBIoU"]})
        dist_utils.barrier(self.info)
        return values

    def _finish(self, monitor, result: TrainResult) -> None:
        if os.environ.get(DUMP_ENV):
            with atomic_file(self.run_dir / f"rank{self.info.rank}_hq.pth") as fh:
                torch.save(model_api.hq_state_dict(self.model), fh)
        if not self.info.is_main:
            return
        with atomic_file(self.run_dir / "hq_only.pth") as fh:
            torch.save(model_api.hq_state_dict(self.model), fh)
        model_api.export_official(self.model, self.run_dir / f"sam_hq_{self.cfg.model_type}.pth")
        monitor.close()
        plot_curves(self.run_dir, self.run_dir / "training_curves.png")
        summary = {
            "steps": result.steps,
            "val_before": result.val_before,
            "val_after": result.val_after,
            "final_loss": result.losses[-1][1] if result.losses else None,
        }
        write_json(self.run_dir / "summary.json", summary)
        if result.val_before and result.val_after:
            b, a = result.val_before, result.val_after
            print(
                f"held-out mIoU {b['mIoU']:.2f} -> {a['mIoU']:.2f}, "
                f"mBIoU {b['mBIoU']:.2f} -> {a['mBIoU']:.2f} (before -> after training)"
            )


def _progress_bar(total: int, initial: int, *, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="train", unit="step", disable=not enabled)
