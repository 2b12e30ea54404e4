"""From frames to ranked labels: preprocessing, a runtime, and post-processing in one object."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgevision.contract import OutputContract
from edgevision.preprocess import preprocess
from edgevision.runtime.base import Runtime


@dataclass(frozen=True)
class Prediction:
    """The top-k answer for one frame.

    Attributes:
        indices: Class indices, best first.
        labels: Class names, best first.
        scores: Probabilities (0..1), best first.
    """

    indices: tuple[int, ...]
    labels: tuple[str, ...]
    scores: tuple[float, ...]

    @property
    def top1(self) -> str:
        return self.labels[0]

    def to_dict(self) -> dict[str, list]:
        return {
            "indices": list(self.indices),
            "labels": list(self.labels),
            "scores": [round(s, 6) for s in self.scores],
        }


def to_probabilities(raw: np.ndarray, output: OutputContract) -> np.ndarray:
    """Turn raw model outputs (N, classes) into probabilities per the output contract."""
    values = raw.astype(np.float32)
    if output.scale != 1.0 or output.zero_point != 0.0:
        values = (values - np.float32(output.zero_point)) * np.float32(output.scale)
    if output.kind == "probabilities":
        return values
    shifted = values - values.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def top_k(probabilities: np.ndarray, labels: list[str], k: int) -> Prediction:
    """Rank one probability vector; ties keep the lower index first."""
    k = min(k, probabilities.shape[0])
    order = np.argsort(-probabilities, kind="stable")[:k]
    return Prediction(
        indices=tuple(int(i) for i in order),
        labels=tuple(labels[i] for i in order),
        scores=tuple(float(probabilities[i]) for i in order),
    )


class Classifier:
    """Preprocess → runtime → probabilities → top-k, all driven by the bundle's manifest."""

    def __init__(self, runtime: Runtime, *, k: int = 5) -> None:
        self.runtime = runtime
        self.k = k
        self.labels = runtime.bundle.labels
        self.contract = runtime.contract
        self.output = runtime.bundle.manifest.output

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        """Preprocess one frame into a batch of one."""
        return preprocess(frame, self.contract)[np.newaxis]

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Run a preprocessed batch and return (N, classes) probabilities."""
        return to_probabilities(self.runtime.infer(batch), self.output)

    def predict(self, frame: np.ndarray) -> Prediction:
        """The top-k answer for one BGR frame."""
        return top_k(self.probabilities(self.prepare(frame))[0], self.labels, self.k)
