"""Accuracy of a checkpoint or a bundle on a labelled image folder.

Scores are computed from (N, classes) score arrays with NumPy alone: top-1, top-5 (when there
are at least 5 classes), per-class precision/recall/F1 and the confusion matrix. The bundle path
(:func:`evaluate_bundle`) runs the device runtime and never imports torch; the checkpoint path
(:func:`evaluate_checkpoint`) imports torch inside the function.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgevision.errors import DataError
from edgevision.images import ImageFolder, load_image, readable_samples, scan_image_folder

logger = logging.getLogger(__name__)


@dataclass
class ClassificationReport:
    """Accuracy figures of one model on one labelled set.

    Attributes:
        labels: Class names in the model's output order.
        count: Images scored.
        top1: Share of images whose best class is right (0..1).
        top5: Share whose right class is among the best five; None with fewer than 5 classes.
        per_class: Class name → precision, recall, f1, support.
        confusion: ``confusion[true][predicted]`` image counts, in ``labels`` order.
        worst: Misclassified images, most confidently wrong first: path, true, predicted, score.
    """

    labels: list[str]
    count: int
    top1: float
    top5: float | None
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]
    worst: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def confusion_matrix(targets: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """(classes, classes) counts, rows = true class, columns = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (targets, predicted), 1)
    return matrix


def per_class_scores(matrix: np.ndarray, labels: list[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of every class from a confusion matrix."""
    scores = {}
    for i, name in enumerate(labels):
        true_pos = float(matrix[i, i])
        predicted = float(matrix[:, i].sum())
        support = float(matrix[i, :].sum())
        precision = true_pos / predicted if predicted else 0.0
        recall = true_pos / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return scores


def classification_report(
    scores: np.ndarray,
    targets: np.ndarray,
    labels: list[str],
    *,
    paths: list[str] | None = None,
    worst: int = 16,
) -> ClassificationReport:
    """Score (N, classes) logits or probabilities against integer targets."""
    targets = np.asarray(targets, dtype=np.int64)
    predicted = scores.argmax(axis=1)
    top1 = float((predicted == targets).mean()) if len(targets) else 0.0
    top5 = None
    if scores.shape[1] >= 5 and len(targets):
        best5 = np.argsort(-scores, axis=1, kind="stable")[:, :5]
        top5 = float((best5 == targets[:, None]).any(axis=1).mean())
    matrix = confusion_matrix(targets, predicted, len(labels))
    report = ClassificationReport(
        labels=list(labels),
        count=int(len(targets)),
        top1=top1,
        top5=top5,
        per_class=per_class_scores(matrix, list(labels)),
        confusion=matrix.tolist(),
    )
    if paths is not None:
        report.worst = worst_misclassified(scores, targets, labels, paths, limit=worst)
    return report


def worst_misclassified(
    scores: np.ndarray, targets: np.ndarray, labels: list[str], paths: list[str], *, limit: int
) -> list[dict[str, Any]]:
    """Wrong answers ranked by how confident the model was in the wrong class."""
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs = shifted / shifted.sum(axis=1, keepdims=True)
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != targets)
    order = wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")][:limit]
    return [
        {
            "path": paths[i],
            "true": labels[targets[i]],
            "predicted": labels[predicted[i]],
            "score": float(probs[i, predicted[i]]),
        }
        for i in order
    ]


def _folder_targets(folder: ImageFolder, labels: list[str]) -> np.ndarray:
    """Map the folder's class indices onto the model's label order, by name."""
    missing = [name for name in folder.classes if name not in labels]
    if missing:
        raise DataError(
            f"class folder(s) {missing} in {folder.root} are not among the model's labels "
            f"({len(labels)} labels, e.g. {labels[:3]}); name class folders after the labels"
        )
    index = {name: i for i, name in enumerate(labels)}
    return np.array([index[folder.classes[s.label]] for s in folder.samples], dtype=np.int64)


def load_labelled_folder(path: str | os.PathLike[str]) -> ImageFolder:
    """A class-per-folder set without its unreadable files (one warning each)."""
    folder, skipped = readable_samples(scan_image_folder(path))
    if skipped:
        logger.warning("skipped %d unreadable image file(s)", skipped)
    return folder


def evaluate_bundle(
    bundle: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    backend: str | None = None,
    device: str | None = None,
    precision: str | None = None,
    batch_size: int = 1,
    progress: Any = None,
) -> ClassificationReport:
    """Score a bundle on a labelled folder with the device runtime (no torch).

    Args:
        bundle: Bundle folder.
        data: Class-per-folder images whose folder names are among the bundle's labels.
        backend, precision: Passed to :func:`edgevision.runtime.open_runtime`.
        device: The backend's device (``cpu``, OpenVINO ``GPU``...); None for its default.
        batch_size: Images per ``infer`` call (capped by the variant's batch range).
        progress: Optional callable taking the number of images just scored.
    """
    from edgevision.bundle import load_bundle
    from edgevision.predict import Classifier
    from edgevision.runtime import RuntimeOptions, open_runtime

    loaded = load_bundle(bundle)
    folder = load_labelled_folder(data)
    targets = _folder_targets(folder, loaded.labels)
    options = RuntimeOptions(device=device) if device else None
    with open_runtime(loaded, backend=backend, precision=precision, options=options) as runtime:
        classifier = Classifier(runtime)
        max_batch = int(runtime.variant.batch.get("max", 1) or 1)
        step = max(1, min(batch_size, max_batch))
        chunks = []
        for start in range(0, len(folder), step):
            frames = [load_image(s.path) for s in folder.samples[start : start + step]]
            batch = np.concatenate([classifier.prepare(f) for f in frames])
            chunks.append(np.log(np.clip(classifier.probabilities(batch), 1e-12, None)))
            if progress is not None:
                progress(len(frames))
    scores = np.concatenate(chunks)
    paths = [str(s.path) for s in folder.samples]
    return classification_report(scores, targets, loaded.labels, paths=paths)


def checkpoint_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a checkpoint file; a folder is refused with a hint at the file inside it.

    Raises:
        ModelError: ``path`` is a folder (the message names ``best.pt`` or ``last.pt`` in it
            when one exists).
    """
    from edgevision.errors import ModelError

    path = Path(path)
    if path.is_dir():
        inside = [path / name for name in ("best.pt", "last.pt") if (path / name).is_file()]
        hint = f"; did you mean {inside[0]}?" if inside else "; give the .pt file written by train"
        raise ModelError(f"checkpoint {path} is a folder, not a checkpoint file{hint}")
    return path


def evaluate_checkpoint(
    checkpoint: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    device: str = "auto",
    batch_size: int = 32,
    progress: Any = None,
) -> ClassificationReport:
    """Score a training checkpoint on a labelled folder with PyTorch (needs the train extra)."""
    from edgevision.training.evaluate import checkpoint_scores

    checkpoint_file(checkpoint)
    folder = load_labelled_folder(data)
    scores, labels = checkpoint_scores(
        Path(checkpoint), folder, device=device, batch_size=batch_size, progress=progress
    )
    targets = _folder_targets(folder, labels)
    paths = [str(s.path) for s in folder.samples]
    return classification_report(scores, targets, labels, paths=paths)
