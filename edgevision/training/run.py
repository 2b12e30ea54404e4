"""``train(config)``: the whole fine-tuning run as a sequence of named steps."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgevision.evaluation import classification_report
from edgevision.fsutil import atomic_write_text
from edgevision.models import Checkpoint, save_checkpoint
from edgevision.training import bn, distributed, plots, recipe
from edgevision.training import session as setup
from edgevision.training.config import TrainConfig
from edgevision.training.data import load_splits
from edgevision.training.distributed import DistContext
from edgevision.training.evaluate import checkpoint_scores
from edgevision.training.history import write_history
from edgevision.training.loop import predict_scores, resolve_device, train_epoch

logger = logging.getLogger(__name__)

BEST = "best.pt"
LAST = "last.pt"


@dataclass
class TrainResult:
    """What a finished run left behind.

    Attributes:
        run_dir: The run folder.
        best_checkpoint: ``best.pt`` (weights of the best validation epoch, no training state).
        last_checkpoint: ``last.pt`` (last completed epoch, with the state ``--resume`` needs).
        best_metrics: Metrics row of the best epoch (``val_top1`` in 0..1, ``epoch``, ...).
        history: One metrics row per completed epoch.
        bn_frozen: Whether BatchNorm was kept in eval mode (folded statistics detected or asked).
    """

    run_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    best_metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    bn_frozen: bool = False


@dataclass
class Callbacks:
    """Hooks the CLI uses to draw a progress bar (the library draws nothing itself)."""

    epoch_start: Callable[[int, int, int], None] | None = None  # epoch, epochs, images
    batch: Callable[[int], None] | None = None  # images just processed
    epoch_end: Callable[[int, dict[str, Any]], None] | None = None


def train(
    config: TrainConfig, *, resume: str | Path | None = None, callbacks: Callbacks | None = None
) -> TrainResult:
    """Fine-tune ``config.arch`` on ``config.data`` and write a run folder.

    Under ``torchrun`` every process calls this; process 0 writes the files.

    Args:
        config: The run's settings (ignored apart from ``epochs``-style limits when resuming:
            a resumed run reads ``config.json`` from its folder, see the CLI).
        resume: A run folder to continue from its ``last.pt``.
        callbacks: Progress hooks.

    Raises:
        DataError, ConfigError, ModelError: Bad data, flags or weights (one clear line each).
    """
    config.validate()
    dist = distributed.from_environment()
    device = distributed.init(dist, resolve_device(config.device))
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        state = _prepare(config, dist, device, Path(resume) if resume else None)
        _run_epochs(state, callbacks or Callbacks())
        distributed.barrier(dist)
        return _finish(state)
    finally:
        distributed.shutdown(dist)


def _prepare(
    config: TrainConfig, dist: DistContext, device: torch.device, resume: Path | None
) -> setup.Session:
    contract = setup.resolve_contract(config)
    setup.record_contract(config, contract)
    splits = load_splits(config)
    model = setup.build(config, len(splits.classes)).to(device)
    run_dir = resume if resume is not None else _agree_run_dir(config, dist)
    bn_frozen, recalibrate = setup.batchnorm_policy(config, model)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        if config.channels_last:
            model = model.to(memory_format=torch.channels_last)
    train_loader, val_loader, calibration = setup.make_loaders(
        config, splits, contract, dist, pin=device.type == "cuda"
    )
    step = setup.make_step(config, model, splits, device, len(train_loader))
    ema = recipe.ModelEMA(model, config.ema_decay) if config.ema_decay > 0 else None
    if ema is not None:
        step.after_step = lambda: ema.update(model)
    session = setup.Session(
        config,
        run_dir,
        contract,
        splits,
        model,
        ema,
        step,
        train_loader,
        val_loader,
        calibration,
        dist,
        bn_frozen,
        recalibrate,
    )
    if resume is not None:
        setup.restore(session, resume / LAST)
    elif dist.is_main:
        config.write(run_dir / "config.json")
    logger.info(
        "training %s on %d images (%d classes), validating on %d; run folder %s",
        config.arch,
        len(splits.train),
        len(splits.classes),
        len(splits.val),
        run_dir,
    )
    return session


def _agree_run_dir(config: TrainConfig, dist: DistContext) -> Path:
    """Process 0 creates the run folder; the others learn its name."""
    names = [str(setup.new_run_dir(config))] if dist.is_main else [""]
    if dist.enabled:
        torch.distributed.broadcast_object_list(names, src=0)
    return Path(names[0])


def _wrap(state: setup.Session, trainable_backbone: bool) -> nn.Module:
    """The module the step runs: DDP over the model when distributed, compiled when asked."""
    recipe.set_backbone_trainable(state.model, trainable_backbone)
    module: nn.Module = state.model
    if state.dist.enabled:
        device_ids = [state.step.device.index] if state.step.device.type == "cuda" else None
        module = nn.parallel.DistributedDataParallel(module, device_ids=device_ids)
    if state.config.compile:
        module = torch.compile(module)
    return module


def _run_epochs(state: setup.Session, callbacks: Callbacks) -> None:
    config = state.config
    wrapped_for: bool | None = None
    for epoch in range(state.start_epoch, config.epochs):
        # Each epoch's randomness depends only on (seed, epoch, rank), so a resumed run repeats
        # exactly the epochs an uninterrupted one would have run.
        torch.manual_seed(config.seed * 100_003 + epoch * 101 + state.dist.rank)
        state.train_loader.sampler.set_epoch(epoch)
        trainable = epoch >= config.freeze_epochs
        if trainable != wrapped_for:
            state.step.model = _wrap(state, trainable)
            wrapped_for = trainable
        if callbacks.epoch_start is not None:
            callbacks.epoch_start(epoch, config.epochs, len(state.train_loader.sampler))

        keep_bn_eval = state.bn_frozen or not trainable
        train_metrics = train_epoch(
            state.step,
            state.train_loader,
            on_batch=callbacks.batch,
            prepare_model=(lambda: bn.freeze_batchnorm(state.model)) if keep_bn_eval else None,
        )
        train_metrics["train_loss"] = distributed.mean_across(
            state.dist, train_metrics["train_loss"]
        )
        row = {"epoch": epoch, **_validate(state), **train_metrics}
        row["lr"] = state.step.optimizer.param_groups[-1]["lr"]
        _record(state, epoch, row)
        if callbacks.epoch_end is not None:
            callbacks.epoch_end(epoch, row)
        if config.patience and state.stale_epochs >= config.patience:
            logger.info("early stop: no better val_top1 for %d epochs", state.stale_epochs)
            break


def _validate(state: setup.Session) -> dict[str, Any]:
    """Recalibrate BN when needed, then score the evaluated weights on the validation set."""
    model = state.eval_model
    if state.recalibrate:
        images = (batch for batch, _ in state.calibration_loader)
        bn.recalibrate_batchnorm(model, images, device=state.step.device)
    scores, targets = predict_scores(
        model,
        state.val_loader,
        device=state.step.device,
        amp=state.step.amp,
        channels_last=state.step.channels_last,
    )
    report = classification_report(scores, targets, list(state.splits.classes))
    return {
        "val_loss": _cross_entropy(scores, targets),
        "val_top1": report.top1,
        "val_top5": report.top5,
    }


def _cross_entropy(scores: np.ndarray, targets: np.ndarray) -> float:
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(targets)), targets].mean())


def _checkpoint(state: setup.Session, model: nn.Module, epoch: int, row: dict, training: dict):
    weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return Checkpoint(
        arch=state.config.arch,
        labels=list(state.splits.classes),
        contract=state.contract,
        state_dict=weights,
        epoch=epoch,
        metrics=dict(row),
        data=state.splits.summary(),
        training=training,
    )


def _record(state: setup.Session, epoch: int, row: dict[str, Any]) -> None:
    """Update best/stale counters and write best.pt, last.pt and the metrics files (process 0)."""
    improved = row["val_top1"] > state.best_top1
    if improved:
        state.best_top1, state.best_epoch, state.stale_epochs = row["val_top1"], epoch, 0
    else:
        state.stale_epochs += 1
    row["best"] = improved
    state.history.append(row)
    if not state.dist.is_main:
        return
    if improved:
        save_checkpoint(state.run_dir / BEST, _checkpoint(state, state.eval_model, epoch, row, {}))
    # last.pt holds the training model (the EMA rides in its state) and everything --resume needs.
    last = _checkpoint(state, state.model, epoch, row, setup.training_state(state))
    save_checkpoint(state.run_dir / LAST, last)
    write_history(state.run_dir, state.history)


def _finish(state: setup.Session) -> TrainResult:
    """Score best.pt once more from disk and write the report files (process 0)."""
    run_dir = state.run_dir
    best_row = next(r for r in state.history if r["epoch"] == state.best_epoch)
    if state.dist.is_main:
        _write_report(state)
    return TrainResult(
        run_dir=run_dir,
        best_checkpoint=run_dir / BEST,
        last_checkpoint=run_dir / LAST,
        best_metrics=dict(best_row),
        history=list(state.history),
        bn_frozen=state.bn_frozen,
    )


def _write_report(state: setup.Session) -> None:
    run_dir, val = state.run_dir, state.splits.val
    scores, labels = checkpoint_scores(
        run_dir / BEST,
        val,
        device=str(state.step.device),
        batch_size=state.config.batch_size,
        workers=state.config.workers,
    )
    targets = np.array([s.label for s in val.samples])
    report = classification_report(
        scores, targets, labels, paths=[str(s.path) for s in val.samples]
    )
    atomic_write_text(run_dir / "report.json", json.dumps(report.to_dict(), indent=2) + "\n")
    plots.plot_curves(state.history, run_dir / "curves.png")
    plots.plot_confusion(report.confusion, labels, run_dir / "confusion.png")
    plots.plot_worst(report.worst, run_dir / "worst.png")
