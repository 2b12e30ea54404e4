"""The capture thread: reads a source as fast as it delivers, stamps and hands on the newest frame.

For live sources (cameras, streams, pipelines) it also watches the signal: a read that fails or
times out, or a picture that stays bit-identical, counts as no new frame; after ``stale_after_s``
without one the loop is in NO SIGNAL, and a failed or frozen source is closed and reopened with
exponential back-off until frames return. Files and folders are either paced at their own frame
rate (camera-like, newest frame wins) or handed over losslessly, one frame per result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from edgevision.errors import EdgevisionError
from edgevision.live.latest import LatestSlot, SlotClosed
from edgevision.live.sources import FrameSource
from edgevision.live.telemetry import Telemetry

logger = logging.getLogger(__name__)


@dataclass
class Frame:
    """One captured frame.

    Attributes:
        index: Position in the source's order (every frame read counts, dropped ones too).
        image: (H, W, 3) uint8 BGR pixels.
        captured: ``time.monotonic()`` when the read returned (frame ages are measured from it).
        wall_time: ``time.time()`` at the same moment, for the JSON lines.
    """

    index: int
    image: np.ndarray
    captured: float
    wall_time: float


@dataclass
class CaptureSettings:
    """How the capture thread treats its source.

    Attributes:
        lossless: Hand every frame on (wait for the consumer) instead of keeping the newest.
        pace_fps: Play a file or folder at this rate; None reads as fast as possible.
        loop: Restart a file or folder at its end.
        stale_after_s: A live source with no new frame for this long is in NO SIGNAL.
        backoff_s: First and longest wait between reopen attempts (doubling in between).
        max_frames: Stop after this many frames (None: until the source ends).
    """

    lossless: bool = False
    pace_fps: float | None = None
    loop: bool = False
    stale_after_s: float = 2.0
    backoff_s: tuple[float, float] = (0.25, 4.0)
    max_frames: int | None = None


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A 32x24 area-averaged copy: cheap to compare, identical only for identical pictures."""
    return cv2.resize(image, (32, 24), interpolation=cv2.INTER_AREA)


class CaptureThread(threading.Thread):
    """Reads ``source`` into ``slot`` until stopped or the source ends.

    Args:
        source: An opened source (opened by the caller so open errors reach the user at once).
        reopen: Opens the same source again after a failure (live sources).
        slot: Where frames go.
        telemetry: Shared counters.
        settings: Pacing, loss and signal-watch settings.
    """

    def __init__(
        self,
        source: FrameSource,
        reopen: Callable[[], FrameSource],
        slot: LatestSlot[Frame],
        telemetry: Telemetry,
        settings: CaptureSettings,
    ) -> None:
        super().__init__(name="edgevision-capture", daemon=True)
        self.source = source
        self.reopen = reopen
        self.slot = slot
        self.telemetry = telemetry
        self.settings = settings
        self.stop_event = threading.Event()
        self.ended_reason: str | None = None
        self.error: Exception | None = None
        self.last_fresh = time.monotonic()
        self.reconnecting = False
        self._next_index = 0
        self._previous_thumb: np.ndarray | None = None
        self._wait_s = settings.backoff_s[0]  # grows while reopening does not bring frames back
        self._next_reopen = 0.0
        telemetry.declared_fps = source.declared_fps

    @property
    def live(self) -> bool:
        return self.source.live

    def no_signal(self, now: float | None = None) -> bool:
        """Whether a live source has delivered no new picture for ``stale_after_s``."""
        if not self.live:
            return False
        now = time.monotonic() if now is None else now
        return now - self.last_fresh > self.settings.stale_after_s

    def stop(self) -> None:
        self.stop_event.set()
        self.slot.close()

    def run(self) -> None:
        try:
            self._read_loop()
        except SlotClosed:
            self.ended_reason = self.ended_reason or "stopped"
        except Exception as err:  # handed to the main thread, which stops the run and reports it
            logger.debug("capture thread failed", exc_info=True)
            self.error = err
            self.ended_reason = "capture error"
        finally:
            self.source.close()
            self.slot.close()

    def _read_loop(self) -> None:
        next_due = time.monotonic()
        while not self.stop_event.is_set():
            if self._limit_reached():
                return
            start = time.monotonic()
            image = self.source.read()
            now = time.monotonic()
            if image is None:
                if not self._handle_missing():
                    return
                next_due = time.monotonic()
                continue
            if self.live and self._is_repeat(image, now):
                continue
            self.last_fresh = now
            self._wait_s = self.settings.backoff_s[0]
            self.telemetry.captured(now, (now - start) * 1000.0)
            self._deliver(Frame(self._next_index, image, now, time.time()))
            self._next_index += 1
            next_due = self._pace(next_due)

    def _limit_reached(self) -> bool:
        limit = self.settings.max_frames
        if limit is not None and self._next_index >= limit:
            self.ended_reason = "max frames"
            return True
        return False

    def _deliver(self, frame: Frame) -> None:
        if self.settings.lossless:
            while not self.slot.put_wait(frame, timeout_s=0.5):
                if self.stop_event.is_set():
                    raise SlotClosed
        elif self.slot.put(frame):
            self.telemetry.count("dropped_capture")

    def _pace(self, next_due: float) -> float:
        fps = self.settings.pace_fps
        if fps is None or self.live:
            return next_due
        next_due += 1.0 / fps
        delay = next_due - time.monotonic()
        if delay > 0:
            self.stop_event.wait(delay)
        else:
            next_due = time.monotonic()  # fell behind: do not burst to catch up
        return next_due

    def _is_repeat(self, image: np.ndarray, now: float) -> bool:
        # A frozen camera or stream resends the same picture; it carries no news, so it is not
        # handed on, and once it lasts stale_after_s the source is treated as lost.
        thumb = thumbnail(image)
        repeat = self._previous_thumb is not None and np.array_equal(thumb, self._previous_thumb)
        self._previous_thumb = thumb
        if repeat:
            self.telemetry.count("repeated")
            stale = now - self.last_fresh > self.settings.stale_after_s
            if stale and now >= self._next_reopen:
                logger.warning("source repeats one identical frame; reopening it")
                self._reconnect()
        return repeat

    def _handle_missing(self) -> bool:
        """React to a read that returned nothing; False ends the thread."""
        if not self.live:
            if self.settings.loop and self._next_index > 0:
                self.source.close()
                self.source = self.reopen()
                return True
            self.ended_reason = "end of source"
            return False
        # A failed read (closed connection, read timeout, unplugged camera) does not heal by
        # itself: reopen at once; NO SIGNAL is reported only once stale_after_s has passed.
        logger.warning("no frame from %s; reopening", self.source.spec.target)
        self.stop_event.wait(max(0.0, self._next_reopen - time.monotonic()))
        self._reconnect()
        return True

    def _reconnect(self) -> None:
        """Close and reopen the source, doubling the wait after each failure, until it opens.

        The wait keeps growing across reopens that bring no fresh frame (a stream that opens
        but stays frozen), and falls back to the shortest once a fresh frame arrives. The last
        picture is kept for comparison, so a reopened source resending it is still a repeat.
        """
        self.reconnecting = True
        self.source.close()
        longest_s = self.settings.backoff_s[1]
        while not self.stop_event.is_set():
            self.telemetry.count("reopen_attempts")
            try:
                self.source = self.reopen()
            except EdgevisionError as err:
                logger.info("reopen failed (%s); next try in %.2f s", err, self._wait_s)
                self.stop_event.wait(self._wait_s)
                self._wait_s = min(self._wait_s * 2, longest_s)
                continue
            self.telemetry.count("reopened")
            logger.info("source reopened")
            break
        self._next_reopen = time.monotonic() + self._wait_s
        self._wait_s = min(self._wait_s * 2, longest_s)
        self.reconnecting = False
