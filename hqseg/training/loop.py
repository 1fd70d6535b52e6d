"""``train(config)``: the training loop, single process or under torchrun.

Order of work per optimiser step: ``grad_accum`` micro-batches (encode without
gradients, decode HQ logits, point-sampled loss, backward, one image at a time),
gradient average across ranks, a finiteness check, Adam step, logging;
checkpoints every ``checkpoint_every`` steps and at each epoch end; StepLR steps
and validation at epoch ends (every ``val_every``-th and the last), both *before* that
epoch's checkpoint, so the checkpoint holds the validation row (a kill during
validation replays it).

Every logged row lives in the run's :class:`History`, which is saved inside each
checkpoint; the metric files, the curve and summary.json are derived from it, and
the final export is idempotent: rerunning ``--resume auto`` after a kill at any
point ends with the outputs of an uninterrupted run.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from hqseg.errors import CheckpointError, HqsegError
from hqseg.metrics.headline import nested, train_headline
from hqseg.training import distributed as dist_utils
from hqseg.training import model_api
from hqseg.training import run_state as ckpt
from hqseg.training.config import TrainConfig
from hqseg.training.data import HQTrainDataset, ResumableSampler, open_train_records
from hqseg.training.history import History, finite_or_null
from hqseg.training.monitor import Monitor, NullMonitor, plot_curves
from hqseg.training.run_folder import check_run_folder, claim_run_folder
from hqseg.training.runtime import default_workers, seed_everything, set_thread_count
from hqseg.training.step import backward_micro_batch, loss_generator
from hqseg.training.validation import open_val_splits, validate, validation_encodings
from hqseg.utils.atomic import atomic_file, write_json
from hqseg.utils.faults import KILL_AFTER_STEP as KILL_ENV
from hqseg.utils.faults import KILL_AT as KILL_AT_ENV
from hqseg.utils.faults import kill_point
from hqseg.utils.memory import return_freed_memory

DUMP_ENV = "HQSEG_TRAIN_DUMP_RANK_WEIGHTS"
"""Test aid: every rank writes its final HQ weights to ``<out>/rank<r>_hq.pth``."""
PROGRESS_EVERY_STEPS = 10
"""Without a terminal, a progress line every this many steps (and at least every 30 s)."""


class TrainingDivergedError(HqsegError):
    """The loss, a gradient or a weight became NaN or infinite."""


@dataclass
class TrainResult:
    """What a run did. ``losses`` are (step, mean loss over ranks) of this invocation."""

    run_dir: Path
    steps: int
    losses: list[tuple[int, float]] = field(default_factory=list)
    val_before: dict[str, float] | None = None
    val_after: dict[str, float] | None = None


@dataclass(frozen=True)
class _EpochSpan:
    """One epoch's bounds: its index, batches already done (resume), batches per epoch
    on this rank, and the run's total optimiser steps."""

    epoch: int
    skip: int
    batches: int
    total: int


def train(config: TrainConfig, *, resume: str | None = None, progress: bool = True) -> TrainResult:
    """Train the HQ parameters of ``config.model_type`` as the recipe says; see module doc.

    Args:
        resume: a training checkpoint path, ``"auto"`` (the run's last.pt if any) or None.
        progress: a bar on a terminal (rank 0); False: log lines only. Without a
            terminal, lines are printed every 10 steps or 30 s either way.

    Raises:
        TrainingDivergedError: a non-finite loss, gradient or weight (the last
            checkpoint, always finite, is kept).
        OutputDirError: ``config.out`` holds files ``train`` did not write, is
            ``.`` or ``/``, or another run is writing it (a lock).
    """
    set_thread_count()
    return_freed_memory()  # see hqseg.utils.memory: ~0.4 GB less per process on CPU
    device = dist_utils.pick_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
    info = dist_utils.init_distributed(device)
    try:
        check_run_folder(config.run_dir)  # refused before the data and model are loaded
        trainer = _Trainer(config, info, device)
        with claim_run_folder(config.run_dir, info):
            return trainer.run(resume, progress)
    finally:
        dist_utils.shutdown(info)


class _Trainer:
    def __init__(self, config: TrainConfig, info: dist_utils.DistInfo, device: torch.device):
        self.cfg, self.info, self.device = config, info, device
        self.run_dir = config.run_dir
        with dist_utils.main_process_first(info):  # rank 0 fills the datasets cache
            self.records = open_train_records(config)  # fails early on a bad data folder
            self.val_splits = open_val_splits(config) if config.validate else {}
        seed_everything(config.seed)  # identical HQ init on every rank
        self.model = model_api.build_model(config.model_type, config.checkpoint).to(device)
        self.model.image_encoder.eval()  # frozen: no dropout/BN updates, no autograd
        self.names_params = model_api.hq_named_parameters(self.model)
        self.params = [p for _, p in self.names_params]
        dist_utils.broadcast_parameters(self.params, info)
        seed_everything(config.seed + info.rank)  # per-rank randomness from here on
        self.optimizer = torch.optim.Adam(self.params, lr=config.lr, weight_decay=0.0)
        self.scheduler = torch.optim.lr_scheduler.StepLR(
            self.optimizer, step_size=config.lr_drop_epoch, gamma=config.lr_gamma
        )
        self.history = History()
        self.last_checkpoint: Path | None = None
        self.position = ckpt.Position()  # of the last checkpoint written or resumed
        self.validated: set[int] = set()  # steps validated in this invocation (every rank)
        # Rank 0 alone validates; the frozen encoder's outputs are computed once per run.
        self.val_encodings = (
            validation_encodings(self.model) if self.val_splits and info.is_main else None
        )
        if config.compile:
            self.model.image_encoder.compile()
            self.model.mask_decoder.compile()

    # ------------------------------------------------------------------ set-up
    def _resume(self, resume: str | None) -> ckpt.Position:
        path = ckpt.resolve_resume(resume, self.run_dir)
        if path is None:
            return ckpt.Position()
        payload = ckpt.load_run_state(path)
        saved_type = payload["config"].get("model_type")
        if saved_type != self.cfg.model_type:
            raise CheckpointError(
                f"{path}: trained with model type {saved_type!r}, this run uses "
                f"{self.cfg.model_type!r}"
            )
        model_api.load_hq_state(self.model, payload["hq"], source=str(path))
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.history = History.from_state(payload.get("history"))
        self.last_checkpoint = path
        position = self.position = ckpt.position_of(payload)
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
        workers = default_workers(self.cfg.num_workers, self.device)
        return DataLoader(
            dataset,
            batch_size=self.cfg.batch_size,
            sampler=sampler,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=workers > 0,
            prefetch_factor=2 if workers > 0 else None,
            drop_last=False,
        )

    # ------------------------------------------------------------------ main
    def run(self, resume: str | None, progress: bool) -> TrainResult:
        cfg, info = self.cfg, self.info
        if info.is_main:  # the run folder is ours now: say what runs
            print(model_api.startup_text(self, cfg), flush=True)
        position = self._resume(resume)
        monitor = Monitor(self.run_dir) if info.is_main else NullMonitor()
        monitor.sync(self.history)  # the files hold exactly the checkpointed rows
        result = TrainResult(self.run_dir, position.step)
        if position.step == 0 and not self.history.has(0, "val/"):
            self._validate(monitor, 0)
        sampler = ResumableSampler(
            self.records, num_replicas=info.world_size, rank=info.rank, seed=cfg.seed
        )
        batches_per_epoch = math.ceil(len(sampler) / cfg.batch_size)
        total = cfg.epochs * math.ceil(batches_per_epoch / cfg.grad_accum)
        if cfg.max_steps:
            total = min(total, cfg.max_steps)
        bar = _progress(total, position.step, bar=progress, enabled=info.is_main)
        step = position.step
        loader = self._loader(sampler)
        try:
            for epoch in range(position.epoch, cfg.epochs):
                if step >= total:
                    break
                skip = position.batches_done if epoch == position.epoch else 0
                sampler.set_epoch(epoch, skip=skip * cfg.batch_size)
                span = _EpochSpan(epoch, skip, batches_per_epoch, total)
                step, micro, finished = self._train_epoch(loader, span, step, monitor, bar, result)
                if finished:
                    self.scheduler.step()
                    if (epoch + 1) % cfg.val_every == 0 or step >= total:
                        self._validate(monitor, step)
                    self._save(monitor, ckpt.Position(epoch + 1, 0, step))
                    continue
                self._validate(monitor, step)  # stopped by max_steps mid-epoch
                self._save(monitor, ckpt.Position(epoch, micro, step))
                break
        finally:
            bar.close()
        if self.val_splits and not (step in self.validated or self.history.has(step, "val/")):
            # resumed after the last training step, before its validation was saved
            # (every rank decides alike: the resumed history is the same on all ranks)
            self._validate(monitor, step)
            self._save(monitor, self.position)
        result.steps = step
        self._finish(result)
        return result

    def _train_epoch(
        self, loader, span: _EpochSpan, step: int, monitor, bar, result: TrainResult
    ) -> tuple[int, int, bool]:
        """Train over the rest of one epoch (from batch ``span.skip``).

        Returns ``(step, micro-batches done in the epoch, finished)``; ``finished`` is
        False when ``span.total`` steps were reached before the epoch's end.
        """
        cfg, info = self.cfg, self.info
        micro, acc_loss, acc_n, t0 = span.skip, 0.0, 0, time.perf_counter()
        self.model.mask_decoder.train()
        for batch in loader:
            gen = loss_generator(self.device, cfg.seed, info.rank, step, micro)
            parts = backward_micro_batch(self.model, batch, config=cfg, device=self.device,
                                         generator=gen, scale=1.0 / cfg.grad_accum)  # fmt: skip
            acc_loss += float(parts.total)
            acc_n += 1
            micro += 1
            del batch, parts
            if micro % cfg.grad_accum and micro < span.batches:
                continue
            dist_utils.average_gradients(self.params, info)
            loss = dist_utils.all_reduce_mean(acc_loss / acc_n, info, self.device)
            self._check_finite(step + 1, loss)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self._check_finite(step + 1, loss, after_update=True)
            step += 1
            elapsed = time.perf_counter() - t0
            rate = acc_n * cfg.batch_size * info.world_size / max(elapsed, 1e-9)
            result.losses.append((step, loss))
            if step % cfg.log_every == 0 or step == span.total:
                values = {"train/loss": loss, "train/lr": self._lr(),
                          "train/images_per_s": rate, "train/epoch": span.epoch}  # fmt: skip
                self._log(monitor, step, values)
            bar.set_postfix(loss=f"{loss:.4f}", img_s=f"{rate:.2f}", epoch=span.epoch)
            bar.update(1)
            acc_loss, acc_n, t0 = 0.0, 0, time.perf_counter()
            if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                self._save(monitor, ckpt.Position(span.epoch, micro, step))
            if step >= span.total:
                return step, micro, False
        return step, micro, True

    # ------------------------------------------------------------------ helpers
    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _log(self, monitor, step: int, values: dict[str, float]) -> None:
        self.history.log(step, values)
        monitor.log(step, values)

    def _check_finite(self, step: int, loss: float, *, after_update: bool = False) -> None:
        """Stop on NaN/inf, on every rank alike (loss and gradients are already averaged).

        Before the update: the loss and the gradients; after it: the weights.
        """
        if after_update:
            bad = [n for n, p in self.names_params if not torch.isfinite(p).all()]
            problem = f"weights {bad[:3]} became non-finite in the update" if bad else ""
        elif not math.isfinite(loss):
            problem = f"the loss is {loss}"
        else:
            bad = [
                n
                for n, p in self.names_params
                if p.grad is not None and not torch.isfinite(p.grad).all()
            ]
            problem = f"gradients of {bad[:3]} are non-finite" if bad else ""
        if not problem:
            return
        kept = (
            f"the last checkpoint (step {self.position.step}, finite) is kept: "
            f"{self.last_checkpoint}"
            if self.last_checkpoint
            else "no checkpoint was written"
        )
        raise TrainingDivergedError(
            f"training diverged at step {step}: {problem} (lr {self._lr():g}); {kept}; "
            "lower --lr and start again"
        )

    def _save(self, monitor, position: ckpt.Position) -> None:
        self.position = position
        if self.info.is_main:
            self.last_checkpoint = ckpt.save_run_state(
                self.run_dir,
                hq_state=model_api.hq_state_dict(self.model),
                optimizer=self.optimizer,
                scheduler=self.scheduler,
                position=position,
                config=self.cfg.to_dict(),
                history=self.history.state(),
            )
            monitor.sync(self.history)
        else:
            self.last_checkpoint = self.run_dir / "checkpoints" / "last.pt"
        dist_utils.barrier(self.info)
        kill_point(KILL_ENV, str(position.step))

    def _validate(self, monitor, step: int) -> None:
        """Score the held-out splits on rank 0 and log ``val/*`` at ``step``."""
        if not self.val_splits:
            return
        if self.info.is_main:
            bf16 = self.cfg.amp == "bf16"
            values = validate(self.model, self.val_splits, bf16=bf16, encodings=self.val_encodings)
            if step > 0:
                kill_point(KILL_AT_ENV, "validation")
            self._log(monitor, step, {f"val/{k}": v for k, v in values.items()})
            self.model.mask_decoder.train()
        self.validated.add(step)
        dist_utils.barrier(self.info)

    def _finish(self, result: TrainResult) -> None:
        """Exports and summary, all derived from the checkpointed state: idempotent."""
        if os.environ.get(DUMP_ENV):
            with atomic_file(self.run_dir / f"rank{self.info.rank}_hq.pth") as fh:
                torch.save(model_api.hq_state_dict(self.model), fh)
        history = self.history
        result.val_before = history.at(0, "val/")
        last_val = history.last_step("val/")
        result.val_after = history.at(last_val, "val/") if last_val else None
        if not self.info.is_main:
            return
        with atomic_file(self.run_dir / "hq_only.pth") as fh:
            torch.save(model_api.hq_state_dict(self.model), fh)
        kill_point(KILL_AT_ENV, "export")
        model_api.export_official(self.model, self.run_dir / f"sam_hq_{self.cfg.model_type}.pth")
        plot_curves(history, self.run_dir / "training_curves.png")
        losses = history.series("train/loss")
        summary, notes = finite_or_null(
            {
                "steps": result.steps,
                "val_before": nested(result.val_before),
                "val_after": nested(result.val_after),
                "final_loss": losses[-1][1] if losses else None,
            }
        )
        if notes:
            summary["notes"] = notes
        write_json(self.run_dir / "summary.json", summary)
        write_json(self.run_dir / "headline.json", train_headline(summary))
        stale = self.run_dir / "val_before.json"  # written by earlier versions
        if stale.is_file():
            stale.unlink()
        if result.val_before and result.val_after:
            b, a = result.val_before, result.val_after
            print(
                f"held-out mIoU {b['mIoU']:.2f} -> {a['mIoU']:.2f}, "
                f"mBIoU {b['mBIoU']:.2f} -> {a['mBIoU']:.2f} (before -> after training)"
            )


def _progress(total: int, initial: int, *, bar: bool, enabled: bool):
    from hqseg.utils.progress import progress_bar

    return progress_bar(
        total=total,
        initial=initial,
        desc="train",
        unit="steps",
        bar=bar,
        enabled=enabled,
        every_n=PROGRESS_EVERY_STEPS,
        first=True,
    )
