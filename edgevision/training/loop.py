"""One training epoch and one evaluation pass, device- and precision-aware."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from edgevision.errors import ConfigError, ModelError


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU; an explicit CUDA request without CUDA raises."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name} asked for CUDA but no CUDA GPU is visible; use cpu")
    return device


def amp_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """bf16 on CUDA GPUs that support it, else fp16; None (full fp32) on CPU or when off."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass
class StepContext:
    """What a training step needs besides the batch."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    criterion: nn.Module
    device: torch.device
    amp: torch.dtype | None
    scaler: torch.amp.GradScaler | None
    clip_grad_norm: float
    channels_last: bool
    mix: Callable | None = None
    after_step: Callable[[], None] | None = None


def _oom_error(err: Exception, batch_size: int) -> ModelError:
    return ModelError(
        f"batch size {batch_size} does not fit in GPU memory ({str(err).splitlines()[0]}); "
        f"try --batch-size {max(1, batch_size // 2)}"
    )


def train_step(ctx: StepContext, images: torch.Tensor, targets: torch.Tensor) -> float:
    """Forward, backward, clip, step, schedule; returns the batch loss (one host sync)."""
    images = images.to(ctx.device, non_blocking=True)
    targets = targets.to(ctx.device, non_blocking=True)
    if ctx.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    if ctx.mix is not None:
        images, targets = ctx.mix(images, targets)
    with autocast(ctx.device, ctx.amp):
        loss = ctx.criterion(ctx.model(images), targets)
    ctx.optimizer.zero_grad(set_to_none=True)
    if ctx.scaler is not None:
        ctx.scaler.scale(loss).backward()
        ctx.scaler.unscale_(ctx.optimizer)
    else:
        loss.backward()
    if ctx.clip_grad_norm > 0:
        nn.utils.clip_grad_norm_(ctx.model.parameters(), ctx.clip_grad_norm)
    if ctx.scaler is not None:
        ctx.scaler.step(ctx.optimizer)
        ctx.scaler.update()
    else:
        ctx.optimizer.step()
    ctx.scheduler.step()
    if ctx.after_step is not None:
        ctx.after_step()
    return float(loss.detach())  # host/device sync once per step


def train_epoch(
    ctx: StepContext,
    loader: DataLoader,
    *,
    on_batch: Callable[[int], None] | None = None,
    prepare_model: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Run one pass over ``loader``; returns mean loss, images/s and wall time.

    Raises:
        ModelError: CUDA ran out of memory (the message suggests a smaller batch).
    """
    ctx.model.train()
    if prepare_model is not None:
        prepare_model()  # e.g. keep folded BatchNorm in eval mode
    total_loss, seen = 0.0, 0
    start = time.perf_counter()
    for images, targets in loader:
        try:
            loss = train_step(ctx, images, targets)
        except torch.OutOfMemoryError as err:
            raise _oom_error(err, loader.batch_size or len(images)) from err
        total_loss += loss * len(images)
        seen += len(images)
        if on_batch is not None:
            on_batch(len(images))
    elapsed = time.perf_counter() - start
    return {
        "train_loss": total_loss / max(1, seen),
        "train_images_per_s": seen / elapsed if elapsed > 0 else 0.0,
        "train_time_s": elapsed,
    }


@torch.no_grad()
def predict_scores(
    model: nn.Module,
    loader: DataLoader,
    *,
    device: torch.device,
    amp: torch.dtype | None = None,
    channels_last: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, classes) float32 logits and (N,) targets for every sample of ``loader``, in order."""
    model.eval()
    scores, targets = [], []
    for images, labels in loader:
        images = images.to(device, non_blocking=True)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with autocast(device, amp):
            logits = model(images)
        scores.append(logits.float().cpu().numpy())  # device → host copy per batch
        targets.append(np.asarray(labels))
        if on_batch is not None:
            on_batch(len(labels))
    return np.concatenate(scores), np.concatenate(targets)
