"""Recording: the annotated video (mp4v) and one JSON line per result or event.

Each JSON line is flushed as it is written, and :meth:`Recorder.close` finalises the video
container, so a run that ends at end of file, on Ctrl-C or on SIGTERM leaves a playable video and
complete lines. Only SIGKILL or a power cut can truncate them.
"""

from __future__ import annotations

import json
import logging
import tempfile
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
    """The files a run writes into ``folder``, checked but not created yet.

    Nothing is written here, so a run refused later (bad source, bad bundle) leaves no trace;
    :func:`create_output_folder` makes the folder once everything else has opened.

    Raises:
        ConfigError: ``folder`` is a file or lies under one, or an earlier run's output is there
            and ``force`` is False.
    """
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--output {folder} is a file, not a folder; give a folder path")
    _check_creatable(folder)
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
    for path in paths.values():
        if path.exists() and not path.is_file():
            raise ConfigError(f"{path} is a folder; remove it or choose another --output")
    return paths


def _check_creatable(folder: Path) -> None:
    """Refuse a folder whose nearest existing ancestor is a file (mkdir would fail there)."""
    for parent in folder.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(
                    f"--output {folder} lies under the file {parent}; give a folder path"
                )
            return


def create_output_folder(folder: Path) -> None:
    """Create ``folder`` (and parents) and check a file can be made in it.

    Raises:
        ConfigError: The folder cannot be created or written (read-only file system, no
            permission), with the operating system's reason.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # A probe file, removed at once: catches read-only mounts that os.access misses as root.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigError(
            f"--output {folder} cannot be created or written ({reason}); choose another folder"
        ) from err


class Recorder:
    """Writes the annotated video and the JSON lines; safe to call from several threads.

    Args:
        video_path: mp4 file for annotated frames, or None for no video.
        jsonl_path: JSON-lines file, or None.
        fps: Frame rate written into the video header.
    """

    def __init__(self, video_path: Path | None, jsonl_path: Path | None, *, fps: float) -> None:
        self.video_path = video_path
        self.jsonl_path = jsonl_path
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._lock = threading.Lock()
        # Opened at the first line, so a run that fails before any result leaves no empty file.
        self._jsonl: TextIO | None = None
        self._closed = False
        self.frames_written = 0

    def write_frame(self, image: np.ndarray) -> None:
        """Append one annotated frame; frames of another size are resized to the first one's.

        Raises:
            ConfigError: OpenCV cannot open an mp4v writer for this frame size and rate.
        """
        if self.video_path is None:
            return
        with self._lock:
            if self._closed:
                return
            if self._writer is None:
                self._open_writer(image)
            if (image.shape[1], image.shape[0]) != self._size:
                image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
            self._writer.write(image)
            self.frames_written += 1

    def _open_writer(self, image: np.ndarray) -> None:
        size = (image.shape[1], image.shape[0])
        fourcc = cv2.VideoWriter.fourcc(*"mp4v")
        writer = cv2.VideoWriter(str(self.video_path), fourcc, self.fps, size)
        if not writer.isOpened():
            writer.release()
            # The folder was created and probed writable before the run, so the encoder is what
            # refused: FFmpeg's MPEG-4 encoder rejects 1-pixel sides, and some OpenCV builds
            # have no FFmpeg at all.
            raise ConfigError(
                f"OpenCV cannot encode {size[0]}x{size[1]} frames at {self.fps:g} FPS as mp4v "
                f"into {self.video_path} (encoder missing from this OpenCV build, or size "
                "unsupported); add --no-video to keep only the JSON lines"
            )
        self._writer, self._size = writer, size

    def write_record(self, record: dict[str, Any]) -> None:
        """Append one JSON line and flush it (a few microseconds; keeps the file complete)."""
        if self.jsonl_path is None:
            return
        line = json.dumps(record, separators=(",", ":"))
        with self._lock:
            if self._closed:
                return
            if self._jsonl is None:
                self._jsonl = self.jsonl_path.open("w", encoding="utf-8")
            self._jsonl.write(line + "\n")
            self._jsonl.flush()

    def close(self) -> None:
        """Finalise the video container and close the JSON lines (idempotent)."""
        with self._lock:
            self._closed = True
            if self._writer is not None:
                self._writer.release()
                self._writer = None
            if self._jsonl is not None and not self._jsonl.closed:
                self._jsonl.close()
