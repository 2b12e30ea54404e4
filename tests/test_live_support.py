"""Helpers shared by the live tests (no tests here): reading results, offline answers, servers."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
from sample_data import decode_all

from edgevision.bundle import Bundle, Variant
from edgevision.predict import Classifier
from edgevision.runtime import RuntimeOptions, open_runtime
from edgevision.runtime.base import Runtime


def read_jsonl(path: Path) -> tuple[list[dict], list[dict]]:
    """(frame records, event records) of a frames.jsonl file."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    frames = [r for r in records if r["type"] == "frame"]
    events = [r for r in records if r["type"] == "event"]
    return frames, events


def offline_classifier(bundle: Path, *, k: int = 5) -> Classifier:
    return Classifier(open_runtime(bundle, options=RuntimeOptions(threads=2)), k=k)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SlowRuntime(Runtime):
    """A real runtime made to take at least ``delay_s`` per call (a slow device, simulated)."""

    backend = "slowed"

    def __init__(self, inner: Runtime, delay_s: float) -> None:
        super().__init__(inner.bundle, inner.variant, inner.options)
        self.inner = inner
        self.delay_s = delay_s

    def infer(self, batch: np.ndarray) -> np.ndarray:
        start = time.monotonic()
        out = self.inner.infer(batch)
        remaining = self.delay_s - (time.monotonic() - start)
        if remaining > 0:
            time.sleep(remaining)
        return out


class MJPEGServer:
    """An MJPEG-over-HTTP camera on 127.0.0.1 serving JPEGs in a loop at ``fps``.

    ``freeze()`` makes it resend one identical frame; ``stop()`` drops every connection and
    closes the port; ``start()`` (again) serves on the same port.
    """

    def __init__(self, jpegs: list[bytes], *, fps: float = 30.0, port: int | None = None) -> None:
        self.jpegs = jpegs
        self.fps = fps
        self.port = port or free_port()
        self.frozen = False
        self.running = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        self.sent = 0
        self.position = 0  # shared by connections: a frozen camera stays frozen on reconnect

    def start(self) -> None:
        self.running.set()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.running.clear()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def freeze(self, frozen: bool = True) -> None:
        self.frozen = frozen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=cam")
                self.end_headers()
                try:
                    while owner.running.is_set():
                        if not owner.frozen:
                            owner.position += 1
                        data = owner.jpegs[owner.position % len(owner.jpegs)]
                        head = b"--cam\r\nContent-Type: image/jpeg\r\n"
                        head += f"Content-Length: {len(data)}\r\n\r\n".encode()
                        self.wfile.write(head + data + b"\r\n")
                        owner.sent += 1
                        time.sleep(1.0 / owner.fps)
                except OSError:
                    return

        return Handler


def encode_video_jpegs(video: Path, *, limit: int = 120) -> list[bytes]:
    frames = decode_all(video)[:limit]
    return [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes() for f in frames]


def variant_of(bundle: Bundle) -> Variant:
    return bundle.manifest.variants[0]


def read_xwd(path: Path) -> np.ndarray:
    """The screen of an ``Xvfb -fbdir`` framebuffer file (XWD format, 24/32-bit TrueColor) as
    an (H, W, 3) BGR array."""
    raw = path.read_bytes()
    header = np.frombuffer(raw[:100], dtype=">u4")
    header_size, width, height = int(header[0]), int(header[4]), int(header[5])
    byte_order, bits_per_pixel, bytes_per_line = int(header[7]), int(header[11]), int(header[12])
    ncolors = int(header[19])
    assert bits_per_pixel == 32, f"expected a 32-bit framebuffer, got {bits_per_pixel}"
    start = header_size + 12 * ncolors
    pixels = np.frombuffer(raw[start : start + bytes_per_line * height], dtype=np.uint8)
    pixels = pixels.reshape(height, bytes_per_line // 4, 4)[:, :width]
    # LSBFirst (0): bytes in memory are B, G, R, X.
    bgr = pixels[:, :, :3] if byte_order == 0 else pixels[:, :, 3:0:-1]
    return np.ascontiguousarray(bgr)


def best_match(screen: np.ndarray, template: np.ndarray) -> tuple[float, tuple[int, int]]:
    """Normalised correlation of the best placement of ``template`` in ``screen`` (1.0 = exact)."""
    scores = cv2.matchTemplate(screen, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, where = cv2.minMaxLoc(scores)
    return float(best), where
