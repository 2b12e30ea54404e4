"""Recording: the annotated video (mp4v) and one JSON line per result or event.

Each JSON line is flushed as it is written, and :meth:`Recorder.close` finalises the video
container, so a run that ends at end of file, on Ctrl-C or on SIGTERM leaves a playable video and
complete lines. Only SIGKILL or a power cut can truncate them.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from edgevision.errors import ConfigError

logger = logging.getLogger(__name__)

VIDEO_NAME = "annotated.mp4"
JSONL_NAME = "frames.jsonl"
SUMMARY_NAME = "summary.json"


def output_paths(folder: Path, *, force: bool) -> dict[str, Path]:
    """The files a run writes into ``folder``; refuses to overwrite earlier ones unless forced.

    Raises:
        ConfigError: An earlier run's output is there and ``force`` is False.
    """
    paths = {
        "video": folder / VIDEO_NAME,
        "jsonl": folder / JSONL_NAME,
        "summary": folder / SUMMARY_NAME,
    }
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not force:
        raise ConfigError(
            f"{existing[0]} exists from an earlier run; choose another --output or add --force"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return paths


class Recorder:
    """Writes the annotated video and the JSON lines; safe to call from several threads.

    Args:
        video_path: mp4 file for annotated frames, or None for no video.
        jsonl_path: JSON-lines file, or None.
        fps: Frame rate written into the video header.
    """

    def __init__(self, video_path: Path | None, jsonl_path: Path | None, *, fps: float) -> None:
        self.video_path = video_path
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._jsonl: TextIO | None = jsonl_path.open("w", encoding="utf-8") if jsonl_path else None
        self.frames_written = 0

    def write_frame(self, image: np.ndarray) -> None:
        """Append one annotated frame; frames of another size are resized to the first one's."""
        if self.video_path is None:
            return
        with self._lock:
            if self._writer is None:
                self._open_writer(image)
            if (image.shape[1], image.shape[0]) != self._size:
                image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
            self._writer.write(image)
            self.frames_written += 1

    def _open_writer(self, image: np.ndarray) -> None:
        self._size = (image.shape[1], image.shape[0])
        fourcc = cv2.VideoWriter.fourcc(*"mp4v")
        self._writer = cv2.VideoWriter(str(self.video_path), fourcc, self.fps, self._size)
        if not self._writer.isOpened():
            raise ConfigError(f"cannot write video {self.video_path}; check the folder is writable")

    def write_record(self, record: dict[str, Any]) -> None:
        """Append one JSON line and flush it (a few microseconds; keeps the file complete)."""
        if self._jsonl is None:
            return
        line = json.dumps(record, separators=(",", ":"))
        with self._lock:
            if self._jsonl.closed:
                return
            self._jsonl.write(line + "\n")
            self._jsonl.flush()

    def close(self) -> None:
        """Finalise the video container and close the JSON lines (idempotent)."""
        with self._lock:
            if self._writer is not None:
                self._writer.release()
                self._writer = None
            if self._jsonl is not None and not self._jsonl.closed:
                self._jsonl.close()
