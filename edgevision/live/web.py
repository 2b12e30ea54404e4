"""A browser view for devices without a screen: ``--serve HOST:PORT``.

Standard-library HTTP server in background threads. ``/`` is a page showing the MJPEG stream
``/stream.mjpg`` and live numbers polled from ``/stats.json``; ``/frame.jpg`` is the newest
annotated frame. The present thread only stores a reference to each annotated frame; JPEG encoding
(about 3 ms for 640x480) happens in the threads of connected viewers, so nobody watching costs
nothing. Bound to 127.0.0.1 unless another host is asked for, because the page has no login.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

from edgevision.errors import ConfigError

logger = logging.getLogger(__name__)

BOUNDARY = "edgevisionframe"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>edgevision live</title>
<style>body{background:#111;color:#eee;font-family:sans-serif;margin:0}
img{display:block}#stats{padding:6px 10px;font-size:14px}</style></head>
<body><img id="stream" src="/stream.mjpg" alt="live stream">
<div id="stats">waiting for stats</div>
<script>
async function poll() {
  try {
    const s = await (await fetch('/stats.json', {cache: 'no-store'})).json();
    const fps = s.processed_fps === null ? '-' : s.processed_fps.toFixed(1);
    const age = s.age_ms_p50 === null ? '-' : s.age_ms_p50.toFixed(0);
    document.getElementById('stats').textContent = (s.no_signal ? 'NO SIGNAL  ' : '') +
      (s.label || '-') + '  |  ' + fps + ' FPS  |  latency ' + age + ' ms  |  dropped ' +
      ((s.counts.dropped_capture || 0) + (s.counts.dropped_display || 0));
  } catch (e) { document.getElementById('stats').textContent = 'disconnected'; }
}
setInterval(poll, 500); poll();
</script></body></html>
"""


def parse_host_port(text: str) -> tuple[str, int]:
    """``"PORT"``, ``":PORT"`` or ``"HOST:PORT"`` → (host, port); the host defaults to 127.0.0.1.

    Raises:
        ConfigError: The port is not a number in 0..65535.
    """
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ConfigError(f"--serve {text!r}: expected HOST:PORT such as 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", number


class WebView:
    """Serves the newest annotated frame and stats until :meth:`close`.

    Args:
        host: Interface to bind (127.0.0.1 keeps it on this machine).
        port: TCP port; 0 picks a free one (see :attr:`address`).
        stats: Returns the JSON-ready stats dictionary for ``/stats.json``.
    """

    def __init__(self, host: str, port: int, stats: Callable[[], dict[str, Any]]) -> None:
        self.stats = stats
        self._cond = threading.Condition()
        self._image: np.ndarray | None = None
        self._version = 0
        self._closed = False
        try:
            self.server = ThreadingHTTPServer((host, port), _handler_for(self))
        except OSError as err:
            raise ConfigError(
                f"--serve {host}:{port} cannot listen ({err}); pick a free port"
            ) from err
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="edgevision-web")
        self.thread.daemon = True
        self.thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address[:2]

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}/"

    def publish(self, image: np.ndarray) -> None:
        """Offer a new annotated frame to viewers (stores a reference, no copy or encode)."""
        with self._cond:
            self._image = image
            self._version += 1
            self._cond.notify_all()

    def next_jpeg(self, seen: int, timeout_s: float = 1.0) -> tuple[int, bytes | None]:
        """Wait for a frame newer than version ``seen``; returns (version, JPEG or None)."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != seen or self._closed, timeout_s)
            image, version = self._image, self._version
        if image is None or self._closed:
            return version, None
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        return version, data.tobytes() if ok else None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()


def _handler_for(view: WebView) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
            logger.debug("web: " + format, *args)

        def do_GET(self) -> None:  # noqa: N802 (stdlib name)
            path = self.path.split("?", 1)[0]
            if path == "/":
                self._send(200, "text/html; charset=utf-8", PAGE.encode())
            elif path == "/stats.json":
                self._send(200, "application/json", json.dumps(view.stats()).encode())
            elif path == "/frame.jpg":
                _, data = view.next_jpeg(-1, timeout_s=0)
                if data is None:
                    self._send(503, "text/plain", b"no frame yet\n")
                else:
                    self._send(200, "image/jpeg", data)
            elif path == "/stream.mjpg":
                self._stream()
            else:
                self._send(404, "text/plain", b"not found\n")

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = 0
            try:
                while not view.closed:
                    seen, data = view.next_jpeg(seen)
                    if data is None:
                        continue
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    head += f"Content-Length: {len(data)}\r\n\r\n"
                    self.wfile.write(head.encode() + data + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                logger.debug("web viewer disconnected")

    return Handler
