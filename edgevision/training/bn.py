"""BatchNorm handling for fine-tuning: folded-BN detection, freezing, and statistics recalibration.

Weights converted from frameworks that fold BatchNorm into the convolutions (TF Lite, Caffe, some
ONNX) carry placeholder statistics (running mean 0, variance 1). Training such BN layers in train
mode re-normalises every channel by batch statistics and destroys the pretrained function, so
they must stay in eval mode. Conversely, BN layers with a small momentum (torchvision's
MobileNetV3 uses 0.01) lag far behind the weights after a short fine-tune, and their running
statistics must be re-estimated before the model is evaluated or exported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

logger = logging.getLogger(__name__)

# Folded statistics are written as exactly 0 and 1 (or 1 - eps, which rounds to 1 with eps).
_FOLDED_TOLERANCE = 1e-4
LOW_MOMENTUM = 0.1


def batchnorms(model: nn.Module) -> list[_BatchNorm]:
    """Every BatchNorm layer that tracks running statistics."""
    return [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


def has_folded_batchnorm(model: nn.Module) -> bool:
    """True when every BatchNorm has running mean 0 and variance 1 (placeholder statistics)."""
    layers = batchnorms(model)
    if not layers:
        return False
    for bn in layers:
        if bn.running_mean is None or bn.running_var is None:
            return False
        if bn.running_mean.abs().max().item() > _FOLDED_TOLERANCE:
            return False
        if (bn.running_var - 1.0).abs().max().item() > _FOLDED_TOLERANCE:
            return False
    return True


def has_low_momentum(model: nn.Module) -> bool:
    """True when some BatchNorm updates its statistics slower than PyTorch's default 0.1."""
    return any(bn.momentum is not None and bn.momentum < LOW_MOMENTUM for bn in batchnorms(model))


def freeze_batchnorm(model: nn.Module) -> None:
    """Put every BatchNorm in eval mode (running statistics used, not updated).

    Call after each ``model.train()``; the affine weight and bias stay trainable.
    """
    for bn in batchnorms(model):
        bn.eval()


@torch.no_grad()
def recalibrate_batchnorm(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    *,
    device: torch.device,
    max_batches: int = 50,
) -> int:
    """Re-estimate BatchNorm running statistics as a plain average over ``batches``.

    Other layers run in eval mode (dropout off). Costs one forward pass per batch.

    Returns:
        How many images were used.
    """
    layers = batchnorms(model)
    if not layers:
        return 0
    was_training = model.training
    momenta = [bn.momentum for bn in layers]
    model.eval()
    for bn in layers:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average: every batch weighs the same
        bn.train()
    seen = 0
    for i, images in enumerate(batches):
        if i >= max_batches:
            break
        model(images.to(device))
        seen += images.shape[0]
    for bn, momentum in zip(layers, momenta, strict=True):
        bn.momentum = momentum
    model.train(was_training)
    return seen
