"""The fine-tuning recipe: parameter groups, AdamW, warm-up + cosine schedule, EMA, freezing."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from edgevision.models import classifier_name
from edgevision.training.config import TrainConfig


def head_prefix(model: nn.Module) -> str:
    """Dotted prefix of the classifier layer's parameters (``classifier.1.``)."""
    return classifier_name(model) + "."


def split_parameters(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(backbone, head) parameters; the head is the final classification layer."""
    prefix = head_prefix(model)
    backbone, head = [], []
    for name, param in model.named_parameters():
        (head if name.startswith(prefix) else backbone).append(param)
    return backbone, head


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with the backbone at ``lr * backbone_lr_scale`` and the head at ``lr``.

    The lower backbone rate protects pretrained features; a randomly initialised backbone has
    none to protect and trains at the full rate. 1-D parameters (norm weights, biases) get no
    weight decay, the usual choice for CNNs.
    """
    backbone, head = split_parameters(model)
    pretrained = config.weights is not None or config.hub
    backbone_lr = config.lr * (config.backbone_lr_scale if pretrained else 1.0)
    groups = []
    for params, lr in ((backbone, backbone_lr), (head, config.lr)):
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        groups.append({"params": decay, "lr": lr, "weight_decay": config.weight_decay})
        groups.append({"params": no_decay, "lr": lr, "weight_decay": 0.0})
    return torch.optim.AdamW([g for g in groups if g["params"]])


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step multiplier: linear warm-up over ``warmup_epochs``, then cosine decay to 1 %."""
    total = max(1, config.epochs * steps_per_epoch)
    warmup = min(total - 1, round(config.warmup_epochs * steps_per_epoch))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def set_backbone_trainable(model: nn.Module, trainable: bool) -> None:
    """Freeze or unfreeze everything except the classifier (frozen-backbone warm-up)."""
    prefix = head_prefix(model)
    for name, param in model.named_parameters():
        if not name.startswith(prefix):
            param.requires_grad_(trainable)


class ModelEMA:
    """Exponential moving average of a model's weights and buffers.

    The decay ramps up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so that short
    fine-tunes (a few dozen steps) are not dominated by the starting weights. The update is one
    fused ``lerp`` over all floating-point tensors (no per-tensor Python loop); it relies on the
    optimizer updating the model's tensors in place, which every torch optimizer does.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.module = copy.deepcopy(model).eval()
        for param in self.module.parameters():
            param.requires_grad_(False)
        self.decay = decay
        self.updates = 0
        source, mine = model.state_dict(keep_vars=True), self.module.state_dict(keep_vars=True)
        floating = [k for k, v in mine.items() if v.dtype.is_floating_point]
        self._ema = [mine[k].data for k in floating]
        self._src = [source[k].data for k in floating]
        self._copied = [(mine[k].data, source[k].data) for k in mine if k not in set(floating)]

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model`` (the model given at construction)."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self._ema, self._src, 1.0 - decay)
        for mine, source in self._copied:
            mine.copy_(source)

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])  # copies in place: cached lists stay valid
        self.updates = int(state["updates"])
