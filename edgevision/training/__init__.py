"""Fine-tuning classification models on image folders (needs the ``train`` extra: torch).

``train(TrainConfig(...))`` runs the default transfer-learning recipe and writes a run folder
with the best and last checkpoints, the resolved config, per-epoch metrics and pictures.
The names below are loaded on first use, so ``edgevision.training.plots`` (matplotlib only)
can be imported where torch is not installed.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrainConfig": "edgevision.training.config",
    "Callbacks": "edgevision.training.run",
    "TrainResult": "edgevision.training.run",
    "train": "edgevision.training.run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'edgevision.training' has no attribute {name!r}")
    if _EXPORTS[name] != "edgevision.training.config":
        try:
            import torch  # noqa: F401
        except ModuleNotFoundError as err:
            from edgevision.errors import missing_extra

            raise missing_extra("torch", "train") from err
    return getattr(importlib.import_module(_EXPORTS[name]), name)
