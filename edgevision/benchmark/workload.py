"""What one timed iteration does: the model alone, or decode + preprocess + infer + postprocess.

Every result names its timed region (``"model"`` or ``"end-to-end"``), because the two differ by
milliseconds on a camera-sized frame and are not comparable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgevision.errors import ConfigError, DataError, SourceError
from edgevision.images import list_images, load_image
from edgevision.predict import Classifier, to_probabilities, top_k
from edgevision.preprocess import preprocess
from edgevision.runtime.base import Runtime

MODEL_ONLY = "model"
END_TO_END = "end-to-end"
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}


def synthetic_batch(runtime: Runtime, batch_size: int = 1, *, seed: int = 0) -> np.ndarray:
    """A model input made by preprocessing a fixed random 480x640 frame (realistic value range,
    same code path as real frames), repeated ``batch_size`` times along N."""
    frame = np.random.default_rng(seed).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    tensor = preprocess(frame, runtime.contract)
    return np.ascontiguousarray(np.repeat(tensor[np.newaxis], batch_size, axis=0))


class ModelOnly:
    """Times ``runtime.infer`` on one prepared batch; preprocessing happens once, untimed."""

    timed_region = MODEL_ONLY

    def __init__(self, runtime: Runtime, *, batch_size: int = 1) -> None:
        limit = runtime.variant.batch.get("max", 1)
        if batch_size > limit > 0:
            raise ConfigError(
                f"variant {runtime.variant.name} accepts batches up to {limit}, not {batch_size}"
            )
        self.runtime = runtime
        self.batch_size = batch_size
        self.batch = synthetic_batch(runtime, batch_size)

    def step(self) -> None:
        self.runtime.infer(self.batch)

    def submit(self) -> Any:
        return self.runtime.submit(self.batch)

    def finish(self, handle: Any) -> None:
        self.runtime.collect(handle)


def _open_video(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SourceError(f"cannot open video {path}; check the file and its codec")
    return capture


class FrameSource:
    """Decodes frames forever from an image folder (or file) or a video, looping at the end.

    Decoding happens inside the timed region: images through :func:`load_image` (Pillow, as
    ``live`` reads folders), videos through OpenCV; a video is reopened when it ends, and that
    reopen is timed too (once per loop of the clip).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise SourceError(f"end-to-end source not found: {self.path}")
        self.is_video = self.path.is_file() and self.path.suffix.lower() in VIDEO_SUFFIXES
        self._images: list[Path] = [] if self.is_video else list_images(self.path)
        if not self.is_video and not self._images:
            raise DataError(f"{self.path} holds no images; give an image folder or a video file")
        self._frames = self._generate()

    def _generate(self) -> Iterator[np.ndarray]:
        while True:
            if self.is_video:
                yield from self._video_frames()
            else:
                for image in self._images:
                    yield load_image(image)

    def _video_frames(self) -> Iterator[np.ndarray]:
        capture = _open_video(self.path)
        count = 0
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                count += 1
                yield frame
        finally:
            capture.release()
        if count == 0:
            raise SourceError(f"no frame could be decoded from {self.path}")

    def next_frame(self) -> np.ndarray:
        return next(self._frames)


class EndToEnd:
    """Times decode + preprocess + infer + postprocess (probabilities and top-k) per frame."""

    timed_region = END_TO_END
    batch_size = 1

    def __init__(self, runtime: Runtime, source: str | os.PathLike[str], *, k: int = 5) -> None:
        self.runtime = runtime
        self.source = FrameSource(source)
        self.classifier = Classifier(runtime, k=k)

    def step(self) -> None:
        self.classifier.predict(self.source.next_frame())

    def submit(self) -> Any:
        return self.runtime.submit(self.classifier.prepare(self.source.next_frame()))

    def finish(self, handle: Any) -> None:
        probabilities = to_probabilities(self.runtime.collect(handle), self.classifier.output)
        top_k(probabilities[0], self.classifier.labels, self.classifier.k)
