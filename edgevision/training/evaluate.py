"""Scores of a saved checkpoint on an image folder, through the deployment preprocessing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from edgevision.images import ImageFolder
from edgevision.models import load_checkpoint
from edgevision.training.data import EvalDataset, make_loader
from edgevision.training.loop import predict_scores, resolve_device


def checkpoint_scores(
    path: Path,
    folder: ImageFolder,
    *,
    device: str = "auto",
    batch_size: int = 32,
    workers: int = 0,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """(N, classes) logits for ``folder`` in sample order, and the checkpoint's labels.

    Raises:
        ModelError: The checkpoint is missing, truncated or does not fit its architecture.
    """
    checkpoint = load_checkpoint(path)
    target = resolve_device(device)
    model = checkpoint.build_model().to(target)
    loader = make_loader(
        EvalDataset(folder, checkpoint.contract),
        batch_size=batch_size,
        shuffle=False,
        workers=workers,
        seed=0,
    )
    with torch.inference_mode():
        scores, _ = predict_scores(model, loader, device=target, on_batch=progress)
    return scores, list(checkpoint.labels)
