"""Setting up a run: folder, contract, data, model, BatchNorm policy and optimisation state."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from edgevision.contract import InputContract
from edgevision.errors import ConfigError, ModelError
from edgevision.models import build_model, default_contract, load_checkpoint
from edgevision.training import bn, recipe
from edgevision.training.config import TrainConfig
from edgevision.training.data import (
    EvalDataset,
    Splits,
    TrainDataset,
    class_weights,
    make_loader,
)
from edgevision.training.distributed import DistContext
from edgevision.training.loop import StepContext, amp_dtype

logger = logging.getLogger(__name__)


@dataclass
class Session:
    """Everything a running training job holds."""

    config: TrainConfig
    run_dir: Path
    contract: InputContract
    splits: Splits
    model: nn.Module
    ema: recipe.ModelEMA | None
    step: StepContext
    train_loader: DataLoader
    val_loader: DataLoader
    calibration_loader: DataLoader
    dist: DistContext
    bn_frozen: bool
    recalibrate: bool
    start_epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_top1: float = -1.0
    best_epoch: int = -1
    stale_epochs: int = 0

    @property
    def eval_model(self) -> nn.Module:
        """The weights that are evaluated and saved: the EMA when on, else the model."""
        return self.ema.module if self.ema is not None else self.model


def resolve_contract(config: TrainConfig) -> InputContract:
    """The architecture's default contract with the config's explicit values on top."""
    base = default_contract(config.arch)
    overrides = {
        "input_hw": config.input_hw,
        "resize_shorter": config.resize_shorter,
        "resize": config.resize,
        "mean": config.mean,
        "std": config.std,
        "interpolation": config.interpolation,
        "color_order": config.color_order,
    }
    values = {k: v for k, v in overrides.items() if v is not None}
    if "input_hw" in values and "resize_shorter" not in values:
        # Keep the architecture's crop ratio when only the size changes (256/224 by default).
        ratio = base.resize_shorter / min(base.input_hw)
        values["resize_shorter"] = round(min(values["input_hw"]) * ratio)
    try:
        return replace(base, layout="nchw", dtype="float32", normalize_in_graph=False, **values)
    except Exception as err:
        raise ConfigError(f"the input contract flags do not fit together: {err}") from err


def record_contract(config: TrainConfig, contract: InputContract) -> None:
    """Write the resolved contract back into the config (config.json shows what was used)."""
    config.input_hw = tuple(contract.input_hw)
    config.resize_shorter = contract.resize_shorter
    config.resize = contract.resize
    config.mean = tuple(contract.mean)
    config.std = tuple(contract.std)
    config.interpolation = contract.interpolation
    config.color_order = contract.color_order


def new_run_dir(config: TrainConfig) -> Path:
    """A fresh run folder under ``out_dir``; an existing non-empty one is never reused.

    Raises:
        ConfigError: ``--name`` names a folder that already holds files.
    """
    parent = Path(config.out_dir)
    if config.name:
        run_dir = parent / config.name
        if run_dir.exists() and any(run_dir.iterdir()):
            raise ConfigError(
                f"run folder {run_dir} already exists; pick another --name, or continue it "
                f"with --resume {run_dir}"
            )
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = parent / f"run-{stamp}"
        suffix = 1
        while run_dir.exists():
            suffix += 1
            run_dir = parent / f"run-{stamp}-{suffix}"
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def build(config: TrainConfig, num_classes: int) -> nn.Module:
    """The architecture with pretrained weights (file or hub) or a random start."""
    torch.manual_seed(config.seed)  # the fresh classifier head is the same on every run
    if config.weights is None and not config.hub:
        logger.warning("no pretrained weights: training %s from random initialisation", config.arch)
    return build_model(config.arch, num_classes, weights=config.weights, hub=config.hub)


def batchnorm_policy(config: TrainConfig, model: nn.Module) -> tuple[bool, bool]:
    """(keep BN frozen, recalibrate BN statistics before evaluation)."""
    pretrained = config.weights is not None or config.hub
    if config.bn_mode == "frozen":
        frozen = True
    elif config.bn_mode == "train":
        frozen = False
    else:
        frozen = pretrained and bn.has_folded_batchnorm(model)
        if frozen:
            logger.info(
                "BatchNorm in %s is folded (running mean 0, variance 1): keeping BatchNorm frozen "
                "(eval mode) while fine-tuning",
                config.weights or "the pretrained weights",
            )
    recalibrate = not frozen and (
        config.bn_recalibrate == "always"
        or (config.bn_recalibrate == "auto" and bn.has_low_momentum(model))
    )
    if recalibrate:
        logger.info(
            "BatchNorm statistics will be re-estimated on training images before each evaluation"
        )
    return frozen, recalibrate


def make_loaders(
    config: TrainConfig, splits: Splits, contract: InputContract, dist: DistContext, pin: bool
) -> tuple[DataLoader, DataLoader, DataLoader]:
    """(train, validation, BN-calibration) loaders; the batch size is split across processes."""
    per_process = max(1, config.batch_size // dist.world_size)
    train_set = TrainDataset(splits.train, contract, config)
    sampler = DistributedSampler(
        train_set, num_replicas=dist.world_size, rank=dist.rank, shuffle=True, seed=config.seed
    )
    common = {"workers": config.workers, "pin_memory": pin}
    train = make_loader(
        train_set, batch_size=per_process, shuffle=True, seed=config.seed, sampler=sampler, **common
    )
    val = make_loader(
        EvalDataset(splits.val, contract),
        batch_size=config.batch_size,
        shuffle=False,
        seed=config.seed,
        **common,
    )
    calibration = make_loader(
        EvalDataset(splits.train, contract),
        batch_size=config.batch_size,
        shuffle=False,
        seed=config.seed,
        **common,
    )
    return train, val, calibration


def make_mixer(config: TrainConfig, num_classes: int):
    """MixUp and/or CutMix on whole batches (soft targets), or None when both are off."""
    if config.mixup <= 0 and config.cutmix <= 0:
        return None
    from torchvision.transforms import v2

    choices = []
    if config.mixup > 0:
        choices.append(v2.MixUp(alpha=config.mixup, num_classes=num_classes))
    if config.cutmix > 0:
        choices.append(v2.CutMix(alpha=config.cutmix, num_classes=num_classes))
    return v2.RandomChoice(choices)


def make_step(
    config: TrainConfig, model: nn.Module, splits: Splits, device: torch.device, steps: int
) -> StepContext:
    """Optimizer, schedule, loss, precision and scaler for the model."""
    optimizer = recipe.make_optimizer(model, config)
    scheduler = recipe.make_scheduler(optimizer, config, steps)
    weight = class_weights(splits.train).to(device) if config.class_weighting else None
    criterion = nn.CrossEntropyLoss(weight=weight, label_smoothing=config.label_smoothing)
    precision = amp_dtype(device, config.amp)
    scaler = torch.amp.GradScaler("cuda") if precision == torch.float16 else None
    return StepContext(
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        criterion=criterion,
        device=device,
        amp=precision,
        scaler=scaler,
        clip_grad_norm=config.clip_grad_norm,
        channels_last=config.channels_last and device.type == "cuda",
        mix=make_mixer(config, len(splits.classes)),
    )


def restore(session: Session, last: Path) -> None:
    """Continue from ``last.pt``: weights, optimizer, schedule, EMA, scaler and history.

    Raises:
        ModelError: The checkpoint is unreadable or holds no resume state.
    """
    checkpoint = load_checkpoint(last)
    state = checkpoint.training
    if not state:
        raise ModelError(f"{last} holds no training state to resume from")
    session.model.load_state_dict(checkpoint.state_dict)
    session.step.optimizer.load_state_dict(state["optimizer"])
    session.step.scheduler.load_state_dict(state["scheduler"])
    if session.ema is not None and state.get("ema"):
        session.ema.load_state_dict(state["ema"])
    if session.step.scaler is not None and state.get("scaler"):
        session.step.scaler.load_state_dict(state["scaler"])
    if state.get("rng_torch") is not None:
        torch.set_rng_state(state["rng_torch"])
    session.history = list(state["history"])
    session.best_top1 = float(state["best_top1"])
    session.best_epoch = int(state["best_epoch"])
    session.stale_epochs = int(state["stale_epochs"])
    session.start_epoch = checkpoint.epoch + 1
    logger.info("resuming %s after epoch %d", session.run_dir, checkpoint.epoch + 1)


def training_state(session: Session) -> dict[str, Any]:
    """What ``last.pt`` needs for ``--resume`` (all weights_only-loadable types)."""
    return {
        "optimizer": session.step.optimizer.state_dict(),
        "scheduler": session.step.scheduler.state_dict(),
        "ema": session.ema.state_dict() if session.ema is not None else {},
        "scaler": session.step.scaler.state_dict() if session.step.scaler is not None else {},
        "rng_torch": torch.get_rng_state(),
        "history": session.history,
        "best_top1": session.best_top1,
        "best_epoch": session.best_epoch,
        "stale_epochs": session.stale_epochs,
    }
