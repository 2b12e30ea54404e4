"""The typed configuration of one training run, filled from flags and written to its folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from edgevision.errors import ConfigError

BN_MODES = ("auto", "train", "frozen")
RECALIBRATE_MODES = ("auto", "always", "never")
AUGMENTS = ("none", "randaugment", "trivialaugment")


@dataclass
class TrainConfig:
    """Everything that decides what a run does; the default values are the default recipe.

    Attributes:
        data: Image folder with ``train/`` + ``val/`` sub-folders, or one class-per-folder
            folder that is split with ``seed`` (``val_fraction`` of each class to validation).
        arch: Architecture name (``torchvision:name``, ``timm:name`` or bare).
        weights: Local pretrained weights file (.safetensors/.pt/.pth); None for hub or scratch.
        hub: Fetch the library's pretrained weights when ``weights`` is None (needs network).
        input_hw, resize_shorter, resize, mean, std, interpolation, color_order: The input
            contract; None takes ``edgevision.models.default_contract(arch)``'s value.
        epochs: Maximum number of epochs (early stopping may end sooner).
        freeze_epochs: Leading epochs that train only the classifier (backbone frozen).
        batch_size: Global batch size (split across processes under torchrun).
        lr: Peak learning rate of the classifier head.
        backbone_lr_scale: Backbone learning rate = ``lr * backbone_lr_scale`` when the
            weights are pretrained (a random start trains the backbone at ``lr``).
        warmup_epochs: Linear learning-rate warm-up length (fractions allowed), then cosine decay.
        label_smoothing: Cross-entropy label smoothing.
        ema_decay: Exponential moving average of the weights (0 turns it off); the EMA weights
            are the ones evaluated and saved.
        clip_grad_norm: Gradient norm clip (0 turns it off).
        patience: Early stopping after this many epochs without a better ``val_top1`` (0: off).
        class_weighting: Weight the loss by inverse class frequency (imbalanced folders).
        augment: Extra policy on top of crop/flip/jitter: none, randaugment, trivialaugment.
        mixup, cutmix: Alpha of MixUp / CutMix (0 turns each off).
        bn_mode: ``auto`` detects folded BatchNorm (running stats 0/1) and keeps it frozen;
            ``train`` / ``frozen`` force the choice.
        bn_recalibrate: Re-estimate BatchNorm statistics before evaluation and saving:
            ``auto`` when BN was trained with momentum below 0.1 (e.g. MobileNetV3).
        seed: Seed for the split, the model head, shuffling and augmentation.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda[:N]``.
        amp: Mixed precision on CUDA (bf16 where supported, else fp16).
        channels_last, compile: CUDA speed options.
        workers: DataLoader worker processes.
        out_dir: Parent folder of run folders; ``name`` (or a time stamp) names the run folder.
    """

    data: str = ""
    arch: str = "torchvision:mobilenet_v2"
    weights: str | None = None
    hub: bool = False
    input_hw: tuple[int, int] | None = None
    resize_shorter: int | None = None
    resize: str | None = None
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    interpolation: str | None = None
    color_order: str | None = None
    val_fraction: float = 0.2
    epochs: int = 10
    freeze_epochs: int = 0
    batch_size: int = 32
    lr: float = 1e-3
    backbone_lr_scale: float = 0.1
    weight_decay: float = 0.05
    warmup_epochs: float = 0.5
    label_smoothing: float = 0.1
    ema_decay: float = 0.99
    clip_grad_norm: float = 1.0
    patience: int = 5
    class_weighting: bool = False
    augment: str = "none"
    crop_scale_min: float = 0.5
    color_jitter: float = 0.2
    mixup: float = 0.0
    cutmix: float = 0.0
    bn_mode: str = "auto"
    bn_recalibrate: str = "auto"
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    workers: int = 0
    threads: int | None = None
    out_dir: str = "runs"
    name: str | None = None
    limit_train: int | None = None
    limit_val: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Reject values that cannot work, with the flag to change.

        Raises:
            ConfigError: A value is out of range or not one of its choices.
        """
        checks = [
            (self.epochs >= 1, f"--epochs must be >= 1, got {self.epochs}"),
            (self.freeze_epochs >= 0, f"--freeze-epochs must be >= 0, got {self.freeze_epochs}"),
            (self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}"),
            (self.lr > 0, f"--lr must be > 0, got {self.lr}"),
            (0 <= self.ema_decay < 1, f"--ema-decay must be in [0, 1), got {self.ema_decay}"),
            (
                0 < self.val_fraction < 1,
                f"--val-fraction must be in (0, 1), got {self.val_fraction}",
            ),
            (0 < self.crop_scale_min <= 1, "--crop-scale-min must be in (0, 1]"),
            (self.bn_mode in BN_MODES, f"--bn-mode must be one of {', '.join(BN_MODES)}"),
            (self.augment in AUGMENTS, f"--augment must be one of {', '.join(AUGMENTS)}"),
            (
                self.bn_recalibrate in RECALIBRATE_MODES,
                f"--bn-recalibrate must be one of {', '.join(RECALIBRATE_MODES)}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if not self.data:
            raise ConfigError("no data folder given; pass --data FOLDER")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild a config from :meth:`to_dict` output (e.g. a run folder's ``config.json``)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("input_hw", "mean", "std"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)

    def write(self, path: Path) -> None:
        """Write the resolved config as JSON."""
        from edgevision.fsutil import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> TrainConfig:
        """Read ``config.json`` of a run folder.

        Raises:
            ConfigError: The file is missing or not valid JSON.
        """
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot read run config {path}: {err}") from err
