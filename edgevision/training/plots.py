"""Pictures of a run: training curves, confusion matrix, worst-misclassified validation images."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from edgevision.errors import missing_extra
from edgevision.images import load_image


def _pyplot():
    try:
        import matplotlib
    except ModuleNotFoundError as err:
        raise missing_extra("matplotlib", "train") from err
    matplotlib.use("Agg")  # files only; never opens a window
    import matplotlib.pyplot as plt

    return plt


def plot_curves(rows: list[dict[str, Any]], path: Path) -> None:
    """Loss (train/val) and validation top-1 against epoch."""
    plt = _pyplot()
    epochs = [r["epoch"] + 1 for r in rows]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, [r["train_loss"] for r in rows], marker="o", label="train")
    loss_ax.plot(epochs, [r["val_loss"] for r in rows], marker="o", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    loss_ax.legend()
    acc_ax.plot(epochs, [100 * r["val_top1"] for r in rows], marker="o", label="top-1")
    if rows and rows[0].get("val_top5") is not None:
        acc_ax.plot(epochs, [100 * r["val_top5"] for r in rows], marker="o", label="top-5")
    acc_ax.set(xlabel="epoch", ylabel="%", title="validation accuracy")
    acc_ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(confusion: list[list[int]], labels: list[str], path: Path) -> None:
    """Confusion matrix with counts (rows: true class, columns: predicted)."""
    plt = _pyplot()
    matrix = np.asarray(confusion)
    size = min(20, 3 + 0.5 * len(labels))
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ticks = range(len(labels))
    ax.set_xticks(ticks, labels, rotation=90)
    ax.set_yticks(ticks, labels)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    if len(labels) <= 30:
        peak = matrix.max(initial=1)
        for (row, col), count in np.ndenumerate(matrix):
            color = "white" if count > peak / 2 else "black"
            ax.text(col, row, str(count), ha="center", va="center", color=color)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_worst(worst: list[dict[str, Any]], path: Path, *, columns: int = 4) -> None:
    """A grid of the most confidently misclassified images with true/predicted labels."""
    plt = _pyplot()
    count = max(1, len(worst))
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, item in zip(axes.flat, worst, strict=False):
        ax.imshow(load_image(item["path"])[:, :, ::-1])  # BGR → RGB view for matplotlib
        ax.set_title(
            f"true {item['true']}\npred {item['predicted']} {item['score']:.2f}", fontsize=9
        )
    if not worst:
        axes.flat[0].text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
