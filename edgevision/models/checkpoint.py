"""The training checkpoint: model weights plus what export needs to make a bundle.

A checkpoint is a plain dict saved with ``torch.save`` that ``torch.load(weights_only=True)``
reads back: tensors, strings, numbers, lists and dicts only. It is written atomically.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from edgevision.contract import InputContract
from edgevision.errors import ModelError
from edgevision.fsutil import atomic_write_bytes

CHECKPOINT_FORMAT = "edgevision-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass
class Checkpoint:
    """What a checkpoint holds besides the training state.

    Attributes:
        arch: Architecture name as given to :func:`edgevision.models.build_model`.
        labels: Class names in output order.
        contract: The input contract the model was trained and evaluated with.
        state_dict: Model weights.
        epoch: Last completed epoch (0-based).
        metrics: Validation metrics of that epoch.
        data: Summary of the training data (root, class counts).
        training: Optimizer/scheduler/EMA/RNG state for ``--resume``; empty in a best checkpoint.
    """

    arch: str
    labels: list[str]
    contract: InputContract
    state_dict: dict[str, torch.Tensor]
    epoch: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "arch": self.arch,
            "labels": list(self.labels),
            "input": self.contract.to_dict(),
            "state_dict": self.state_dict,
            "epoch": self.epoch,
            "metrics": dict(self.metrics),
            "data": self.data,
            "training": self.training,
        }

    def build_model(self) -> nn.Module:
        """Rebuild the architecture and load these weights (eval mode)."""
        from edgevision.models.registry import build_model

        model = build_model(self.arch, len(self.labels))
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as err:
            raise ModelError(f"checkpoint weights do not fit {self.arch}: {err}") from err
        return model.eval()


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> None:
    """Serialize to memory, then write atomically (a crash never leaves a torn file)."""
    buffer = io.BytesIO()
    torch.save(checkpoint.to_dict(), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        ModelError: The file is missing, truncated, or not an edgevision checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle errors, foreign objects
        raise ModelError(
            f"cannot read checkpoint {path} (truncated or not a checkpoint): {err}"
        ) from err
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(
            f"{path} is not an edgevision checkpoint; for plain weights use --arch with --weights"
        )
    if data.get("version") != CHECKPOINT_VERSION:
        raise ModelError(f"{path} has checkpoint version {data.get('version')}, expected 1")
    return Checkpoint(
        arch=data["arch"],
        labels=list(data["labels"]),
        contract=InputContract.from_dict(data["input"]),
        state_dict=data["state_dict"],
        epoch=int(data.get("epoch", 0)),
        metrics=dict(data.get("metrics", {})),
        data=dict(data.get("data", {})),
        training=dict(data.get("training", {})),
    )
