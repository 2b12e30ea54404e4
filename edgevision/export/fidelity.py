"""Fidelity checks of an exported variant, run the way a device runs it.

Every check goes through :func:`edgevision.preprocess.preprocess` and
:func:`edgevision.runtime.open_runtime` (the code ``live`` and ``bench`` use) on real validation
images, and compares with the PyTorch model fed the same frames through the same preprocessing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgevision.bundle import Bundle, Variant
from edgevision.contract import InputContract, OutputContract
from edgevision.errors import DataError
from edgevision.images import load_image
from edgevision.preprocess import preprocess_batch
from edgevision.runtime import RuntimeOptions, open_runtime

logger = logging.getLogger(__name__)

CHUNK = 16  # images per PyTorch forward pass: bounds memory on large validation sets


@dataclass
class ReferenceSet:
    """Decoded validation frames and what the PyTorch model says about them.

    Attributes:
        frames: (H, W, 3) uint8 BGR frames, decoded once and shared by every variant's check.
        labels: Class index per frame, or None when unlabelled.
        logits: PyTorch FP32 outputs (N, classes), or None for a foreign model.
    """

    frames: list[np.ndarray]
    labels: list[int] | None
    logits: np.ndarray | None

    def accuracy(self) -> dict[str, float] | None:
        """Top-1/top-5 of the reference model, when both labels and logits exist."""
        if self.labels is None or self.logits is None:
            return None
        return accuracy(self.logits, self.labels)


def load_frames(
    paths: list[Path], labels: list[int] | None, *, limit: int = 0
) -> tuple[list[np.ndarray], list[int] | None]:
    """Decode images (every ``k``-th one when ``limit`` is below their count), skipping bad ones."""
    indices = list(range(len(paths)))
    if limit and len(indices) > limit:
        indices = [round(i * len(paths) / limit) for i in range(limit)]
    frames, kept = [], []
    for i in indices:
        try:
            frames.append(load_image(paths[i]))
        except DataError as err:
            logger.warning("fidelity: skipping %s", err)
            continue
        kept.append(i)
    if not frames:
        raise DataError("none of the validation images could be decoded; check --val-data")
    return frames, None if labels is None else [labels[i] for i in kept]


def torch_logits(model, frames: list[np.ndarray], contract: InputContract) -> np.ndarray:
    """Run the PyTorch model on frames preprocessed by the deployment code, in chunks."""
    import torch

    outputs = []
    with torch.no_grad():
        for start in range(0, len(frames), CHUNK):
            batch = preprocess_batch(frames[start : start + CHUNK], contract)
            outputs.append(model(torch.from_numpy(batch)).float().numpy())
    return np.concatenate(outputs)


def accuracy(scores: np.ndarray, labels: list[int]) -> dict[str, float]:
    """Top-1 (and top-5 when there are at least 5 classes) accuracy in percent."""
    truth = np.asarray(labels)
    result = {"val_top1": round(float(np.mean(scores.argmax(1) == truth)) * 100.0, 3)}
    if scores.shape[1] >= 5:
        top5 = np.argsort(-scores, axis=1)[:, :5]
        result["val_top5"] = round(float(np.mean((top5 == truth[:, None]).any(1))) * 100.0, 3)
    return result


def _dequantize(raw: np.ndarray, output: OutputContract) -> np.ndarray:
    values = raw.astype(np.float32)
    if output.scale != 1.0 or output.zero_point != 0.0:
        values = (values - np.float32(output.zero_point)) * np.float32(output.scale)
    return values


def _run_all(runtime, inputs: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate(
        [runtime.infer(inputs[i : i + batch]) for i in range(0, len(inputs), batch)]
    )


def batch_selftest(runtime, inputs: np.ndarray, variant: Variant) -> dict[str, Any]:
    """Run batch 1, 2 and max and compare each row with the batch-1 answer for that image."""
    sizes = sorted({1, min(2, variant.batch["max"]), variant.batch["max"]})
    sizes = [s for s in sizes if s >= variant.batch["min"] and s <= len(inputs)]
    single = _run_all(runtime, inputs[: max(sizes)], 1)
    result: dict[str, Any] = {"sizes": sizes, "max_abs_diff": 0.0, "passed": True}
    for size in sizes:
        got = runtime.infer(inputs[:size]).astype(np.float32)
        diff = float(np.abs(got - single[:size]).max())
        result["max_abs_diff"] = max(result["max_abs_diff"], round(diff, 6))
        same_top1 = bool((got.argmax(1) == single[:size].argmax(1)).all())
        if got.shape[0] != size or not same_top1 or not np.isfinite(got).all():
            result["passed"] = False
    return result


def check_variant(
    bundle: Bundle,
    variant: Variant,
    reference: ReferenceSet,
    *,
    options: RuntimeOptions,
) -> dict[str, Any]:
    """Measure one variant against the reference through the deployment path.

    Returns:
        The fidelity block for the manifest (thresholds are judged by the caller).
    """
    runtime = open_runtime(bundle, variant=variant.name, options=options)
    inputs = preprocess_batch(reference.frames, bundle.contract)
    raw = _run_all(runtime, inputs, variant.batch["max"])
    scores = _dequantize(raw, bundle.manifest.output)
    result: dict[str, Any] = {
        "images": len(reference.frames),
        "backend": runtime.backend,
        "device_used": runtime.device_used,
        "precision_used": runtime.precision_used,
        "nonfinite_outputs": int((~np.isfinite(scores)).sum()),
    }
    if reference.logits is not None:
        agree = scores.argmax(1) == reference.logits.argmax(1)
        result["reference"] = "pytorch fp32"
        result["top1_agreement"] = round(float(agree.mean()) * 100.0, 3)
        result["max_abs_logit_diff"] = round(float(np.abs(scores - reference.logits).max()), 6)
    if reference.labels is not None:
        result.update(accuracy(scores, reference.labels))
    if variant.batch["max"] > variant.batch["min"] or variant.batch["max"] > 1:
        result["batch_selftest"] = batch_selftest(runtime, inputs, variant)
    runtime.close()
    return result


def judge(
    fidelity: dict[str, Any],
    *,
    precision: str,
    min_agreement: float,
    max_int8_drop: float,
    reference_top1: float | None,
) -> list[str]:
    """Compare a fidelity block with its limits; returns the failures (empty when it passes).

    The INT8 drop is in validation top-1 points against the FP32 reference when labels exist,
    else in top-1 agreement points (100 - agreement). It is written into ``fidelity``.
    """
    failures = []
    if fidelity.get("nonfinite_outputs"):
        failures.append(f"{fidelity['nonfinite_outputs']} NaN/Inf outputs")
    agreement = fidelity.get("top1_agreement")
    if agreement is not None and agreement < min_agreement:
        failures.append(f"top-1 agreement {agreement:.2f} % < {min_agreement:.2f} %")
    if precision == "int8":
        if reference_top1 is not None and "val_top1" in fidelity:
            drop = reference_top1 - fidelity["val_top1"]
        elif agreement is not None:
            drop = 100.0 - agreement
        else:
            drop = None
        if drop is not None:
            fidelity["int8_drop"] = round(drop, 3)
            if drop > max_int8_drop:
                failures.append(f"INT8 drop {drop:.2f} points > {max_int8_drop:.2f}")
    if not fidelity.get("batch_selftest", {}).get("passed", True):
        failures.append("batch self-test: outputs differ between batch sizes")
    fidelity["passed"] = not failures
    fidelity["failures"] = failures
    return failures
