"""Frame sources for the live loop: cameras, video files, network streams, image folders.

``--source`` is one string; :func:`parse_source` decides what it names (camera index or device,
video file, RTSP/HTTP URL, image folder or glob, GStreamer pipeline) and :func:`open_source`
opens it, raising :class:`~edgevision.errors.SourceError` with one line when it cannot. Every
source returns (H, W, 3) uint8 BGR frames: greyscale and 16-bit frames are converted by
:func:`edgevision.preprocess.as_bgr_frame` (16-bit scaled by 1/257), which is documented here as
the one conversion a source applies.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import math
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgevision.errors import DataError, SourceError
from edgevision.images import IMAGE_SUFFIXES, load_image
from edgevision.preprocess import as_bgr_frame

logger = logging.getLogger(__name__)

KINDS = ("camera", "file", "url", "folder", "glob", "gstreamer")
LIVE_KINDS = ("camera", "url", "gstreamer")
_URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
# Declared frame rates outside this range (0, NaN, 1000, 90000...) are container junk.
SANE_FPS = (1.0, 240.0)


def sane_fps(value: float | None) -> float | None:
    """A declared frame rate if it is plausible, else None (callers then measure or default)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value) if SANE_FPS[0] <= value <= SANE_FPS[1] else None


@dataclass(frozen=True)
class SourceSpec:
    """What ``--source`` named, plus the capture settings asked for.

    Attributes:
        kind: One of :data:`KINDS`.
        target: Camera index or device path, file path, URL, folder, glob or pipeline.
        width: Requested camera width (cameras only).
        height: Requested camera height (cameras only).
        fps: Requested camera FPS, or playback rate for files and folders.
        fourcc: Requested camera pixel format, e.g. ``"MJPG"``.
        timeout_s: How long opening or reading a network stream may block.
    """

    kind: str
    target: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    fourcc: str | None = None
    timeout_s: float = 5.0

    @property
    def live(self) -> bool:
        """Whether frames arrive on their own clock (and can stop arriving)."""
        return self.kind in LIVE_KINDS


def parse_source(text: str, **settings: Any) -> SourceSpec:
    """Recognise what a ``--source`` string names.

    Args:
        text: ``0`` or ``/dev/video0`` (camera), ``rtsp://...``/``http://...`` (stream), a
            pipeline containing ``!`` (GStreamer), a folder, a glob (``*``, ``?``, ``[``) or a
            video file.
        **settings: Keyword fields of :class:`SourceSpec` (width, height, fps, fourcc,
            timeout_s).

    Raises:
        SourceError: Nothing matching exists.
    """
    text = text.strip()
    if not text:
        raise SourceError(
            "--source is empty; give a camera index (0), a video file, a URL or an image folder"
        )
    if re.fullmatch(r"\d+", text) or text.startswith("/dev/video"):
        return SourceSpec("camera", text, **settings)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in _URL_SCHEMES:
        return SourceSpec("url", text, **settings)
    if "!" in text and " " in text:
        return SourceSpec("gstreamer", text, **settings)
    path = Path(text).expanduser()
    if path.is_dir():
        return SourceSpec("folder", str(path), **settings)
    if path.is_file():
        return SourceSpec("file", str(path), **settings)
    if any(ch in text for ch in "*?["):
        return SourceSpec("glob", text, **settings)
    raise SourceError(
        f"source {text!r} is not a camera index, URL, pipeline, folder, glob or existing file; "
        "check the path or pass e.g. --source 0 for the first camera"
    )


class FrameSource:
    """An opened source. ``read`` returns the next BGR frame or None (end, or a lost stream).

    Attributes:
        spec: What was opened.
        declared_fps: The frame rate the source claims, when plausible (see :func:`sane_fps`).
    """

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.declared_fps: float | None = None

    @property
    def live(self) -> bool:
        return self.spec.live

    def read(self) -> np.ndarray | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device, file or connection."""

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.spec.kind,
            "target": self.spec.target,
            "declared_fps": self.declared_fps,
        }


@contextlib.contextmanager
def _quiet_opencv():
    """OpenCV logs a warning line per failed backend probe; we raise one clear error instead."""
    log = cv2.utils.logging
    previous = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        log.setLogLevel(previous)


class OpenCVSource(FrameSource):
    """Camera, video file, RTSP stream or GStreamer pipeline read through ``cv2.VideoCapture``."""

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        with _quiet_opencv():
            try:
                self.capture = self._open(spec)
            except cv2.error as err:  # e.g. a camera index beyond a C int
                raise SourceError(_open_failure(spec)) from err
        if not self.capture.isOpened():
            self.capture.release()
            raise SourceError(_open_failure(spec))
        if spec.kind == "camera":
            self._request_camera_settings()
        self.declared_fps = sane_fps(self.capture.get(cv2.CAP_PROP_FPS))

    @staticmethod
    def _open(spec: SourceSpec) -> cv2.VideoCapture:
        if spec.kind == "camera":
            index = int(spec.target) if spec.target.isdigit() else spec.target
            return cv2.VideoCapture(index)
        if spec.kind == "gstreamer":
            if "GStreamer:                   YES" not in cv2.getBuildInformation():
                raise SourceError(
                    "this OpenCV was built without GStreamer, so pipeline sources cannot open; "
                    "use the OpenCV that ships with your board's SDK (e.g. JetPack)"
                )
            return cv2.VideoCapture(spec.target, cv2.CAP_GSTREAMER)
        if spec.kind == "url":
            timeout_ms = int(spec.timeout_s * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms]
            params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
            return cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG, params)
        return cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG)

    def _request_camera_settings(self) -> None:
        # FOURCC first: many UVC cameras only offer high resolutions in MJPG.
        spec = self.spec
        if spec.fourcc:
            self.capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*spec.fourcc[:4]))
        if spec.width:
            self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, spec.width)
        if spec.height:
            self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, spec.height)
        if spec.fps:
            self.capture.set(cv2.CAP_PROP_FPS, spec.fps)
        granted = (
            int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            self.capture.get(cv2.CAP_PROP_FPS),
        )
        logger.info("camera %s granted %dx%d at %.1f FPS", spec.target, *granted)

    def read(self) -> np.ndarray | None:
        ok, frame = self.capture.read()
        if not ok or frame is None:
            return None
        return as_bgr_frame(frame)

    def close(self) -> None:
        self.capture.release()


def _open_failure(spec: SourceSpec) -> str:
    if spec.kind == "camera":
        return (
            f"camera {spec.target} cannot be opened (no such device, or it is busy); "
            "check the index with `v4l2-ctl --list-devices` or try another --source"
        )
    if spec.kind == "file":
        return f"video file {spec.target} cannot be decoded by OpenCV; convert it to mp4 or avi"
    if spec.kind == "url":
        return (
            f"stream {spec.target} did not open within {spec.timeout_s:g} s; "
            "check the URL and that the server is running"
        )
    return f"GStreamer pipeline did not start: {spec.target}; test it with gst-launch-1.0"


class MJPEGHTTPSource(FrameSource):
    """A ``multipart/x-mixed-replace`` JPEG stream over HTTP, parsed with the standard library.

    Reading it ourselves (rather than through FFmpeg) gives a per-read socket timeout, so a
    server that stops sending is noticed within ``timeout_s``.
    """

    def __init__(self, spec: SourceSpec, response: Any, boundary: bytes) -> None:
        super().__init__(spec)
        self.response = response
        self.boundary = b"--" + boundary.lstrip(b"-")
        self._pushback = b""  # a boundary line already read while scanning a part

    def read(self) -> np.ndarray | None:
        try:
            payload = self._next_part()
        except (OSError, ValueError) as err:  # socket timeout, reset, closed stream
            logger.debug("mjpeg stream read failed: %s", err)
            return None
        if payload is None:
            return None
        frame = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_UNCHANGED)
        return None if frame is None else as_bgr_frame(frame)

    def _next_part(self) -> bytes | None:
        line, self._pushback = self._pushback or self.response.readline(), b""
        while line and not line.startswith(self.boundary):
            line = self.response.readline()
        if not line:
            return None
        length = None
        header = self.response.readline()
        while header not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            header = self.response.readline()
        if length is not None:
            return self.response.read(length)
        return self._read_until_boundary()

    def _read_until_boundary(self) -> bytes | None:
        # Without Content-Length the JPEG ends where the next boundary line starts.
        chunks = []
        line = self.response.readline()
        while line and not line.startswith(self.boundary):
            chunks.append(line)
            line = self.response.readline()
        self._pushback = line
        return b"".join(chunks).rstrip(b"\r\n") or None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.response.close()


def open_http(spec: SourceSpec) -> FrameSource:
    """Open an HTTP(S) URL: MJPEG streams are read directly, anything else through FFmpeg."""
    try:
        response = urllib.request.urlopen(spec.target, timeout=spec.timeout_s)
    except urllib.error.HTTPError as err:
        raise SourceError(f"stream {spec.target} answered HTTP {err.code}; check the URL") from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise SourceError(
            f"stream {spec.target} cannot be reached ({reason}); "
            "check the address and that the server is running"
        ) from err
    content_type = response.headers.get("Content-Type", "")
    match = re.search(r"boundary=\"?([^\";]+)", content_type)
    if content_type.startswith("multipart/") and match:
        return MJPEGHTTPSource(spec, response, match.group(1).encode("latin-1"))
    response.close()
    return OpenCVSource(spec)


class ImageListSource(FrameSource):
    """The images of a folder (sorted by name) or a glob, one frame each; unreadable ones are
    skipped with a warning."""

    def __init__(self, spec: SourceSpec, paths: list[Path]) -> None:
        super().__init__(spec)
        self.paths = paths
        self.position = 0
        self.delivered = 0
        self.declared_fps = sane_fps(spec.fps)

    def read(self) -> np.ndarray | None:
        while self.position < len(self.paths):
            path = self.paths[self.position]
            self.position += 1
            try:
                frame = load_image(path)
            except DataError as err:
                logger.warning("skipping %s", err)
                continue
            self.delivered += 1
            return frame
        if self.delivered == 0:
            raise SourceError(
                f"{self.spec.kind} {self.spec.target}: none of its {len(self.paths)} image files "
                "could be read; check that they are images and not empty"
            )
        return None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "images": len(self.paths)}


def list_source_images(spec: SourceSpec) -> list[Path]:
    """The image files a folder or glob source names, sorted; raises SourceError if none."""
    if spec.kind == "folder":
        candidates = Path(spec.target).iterdir()
    else:
        candidates = (Path(p) for p in glob.glob(os.path.expanduser(spec.target), recursive=True))
    paths = sorted(p for p in candidates if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise SourceError(
            f"{spec.kind} {spec.target} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
            "point --source at a folder of photos"
        )
    return paths


def open_source(spec: SourceSpec) -> FrameSource:
    """Open a parsed source.

    Raises:
        SourceError: It cannot be opened (no such camera, refused or silent URL, empty folder,
            undecodable file); the message says what to check.
    """
    if spec.kind in ("folder", "glob"):
        return ImageListSource(spec, list_source_images(spec))
    if spec.kind == "url" and spec.target.lower().startswith(("http://", "https://")):
        return open_http(spec)
    return OpenCVSource(spec)
