"""The live loop: capture → inference → presentation in three threads joined by single-slot buffers.

Capture (:mod:`edgevision.live.capture`) keeps the newest frame; the inference thread runs the
bundle's own preprocessing and model through :class:`edgevision.predict.Classifier`, overlapping
the next frame's preprocessing with a running request where the backend is asynchronous
(OpenVINO); the main thread presents (overlay, window, recording, JSON lines, web view), because
GUI toolkits want the main thread. In lossless mode every frame of a file is processed and
presented, in order. The recording holds the annotated frames that got a result; NO SIGNAL
periods are shown in the window and the web view and logged as events in the JSON lines, but
add no frames to the video.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgevision.errors import EdgevisionError
from edgevision.live import overlay
from edgevision.live.capture import CaptureSettings, CaptureThread, Frame
from edgevision.live.latest import LatestSlot, SlotClosed
from edgevision.live.recorder import Recorder
from edgevision.live.sources import FrameSource
from edgevision.live.telemetry import Telemetry
from edgevision.live.web import WebView
from edgevision.live.window import Window
from edgevision.predict import Classifier, Prediction, to_probabilities, top_k
from edgevision.runtime.base import Runtime

logger = logging.getLogger(__name__)


@dataclass
class LiveOptions:
    """How the loop runs and presents.

    Attributes:
        capture: Source pacing, loss and signal-watch settings.
        duration_s: Stop after this long (None: until the source ends or the user quits).
        threshold: Top-1 scores below this read "unknown".
        smoothing: EMA weight of the newest frame's probabilities (None: no smoothing).
        log_every_s: Period of the telemetry log line (0: never).
        snapshot_dir: Where the ``s`` key saves PNGs.
    """

    capture: CaptureSettings = field(default_factory=CaptureSettings)
    duration_s: float | None = None
    threshold: float = 0.0
    smoothing: float | None = None
    log_every_s: float = 5.0
    snapshot_dir: Path = Path(".")


@dataclass
class Result:
    """One frame's answer with its timings (milliseconds) and when it was ready."""

    frame: Frame
    prediction: Prediction
    stages_ms: dict[str, float]
    ready: float


def has_native_async(runtime: Runtime) -> bool:
    """Whether the backend overrides submit/collect (i.e. returns before inference finishes)."""
    return type(runtime).submit is not Runtime.submit


class InferenceThread(threading.Thread):
    """Takes the newest frame, skips stale ones, and publishes predictions."""

    def __init__(
        self,
        classifier: Classifier,
        frames: LatestSlot[Frame],
        results: LatestSlot[Result],
        telemetry: Telemetry,
        *,
        lossless: bool,
        stale_after_s: float | None,
        smoothing: float | None,
    ) -> None:
        super().__init__(name="edgevision-infer", daemon=True)
        self.classifier = classifier
        self.frames = frames
        self.results = results
        self.telemetry = telemetry
        self.lossless = lossless
        self.stale_after_s = stale_after_s
        self.smoother = overlay.TemporalSmoother(smoothing) if smoothing else None
        self.pipelined = has_native_async(classifier.runtime)
        self.stop_event = threading.Event()
        self.error: Exception | None = None
        self._previous_captured: float | None = None

    def run(self) -> None:
        try:
            self._run_pipeline()
        except SlotClosed:
            pass
        except Exception as err:  # handed to the main thread, which stops the run and reports it
            logger.debug("inference thread failed", exc_info=True)
            self.error = err
        finally:
            self.results.close()
            self.frames.close()

    def _run_pipeline(self) -> None:
        pending = None
        while not self.stop_event.is_set():
            if pending is None:
                frame = self._next_frame(timeout_s=0.2)
                if frame is False:
                    return
                if frame is None:
                    continue
                pending = self._submit(frame)
            # While an async request runs, preprocess a frame that is already waiting.
            waiting = self._next_frame(timeout_s=0) if self.pipelined else None
            prepared = self._prepare(waiting) if isinstance(waiting, Frame) else None
            self._finish(*pending)
            pending = self._submit_prepared(*prepared) if prepared else None
            if waiting is False:
                return

    def _next_frame(self, *, timeout_s: float) -> Frame | None | bool:
        """The next fresh frame, None if none came, False once capture has ended."""
        frame = self.frames.get(timeout_s=timeout_s)
        if frame is None:
            return False if self.frames.closed else None
        age_s = time.monotonic() - frame.captured
        if self.stale_after_s is not None and age_s > self.stale_after_s:
            self.telemetry.count("stale_skipped")
            return None
        return frame

    def _prepare(self, frame: Frame) -> tuple[Frame, np.ndarray, float]:
        start = time.monotonic()
        batch = self.classifier.prepare(frame.image)
        return frame, batch, (time.monotonic() - start) * 1000.0

    def _submit(self, frame: Frame) -> tuple[Frame, Any, dict[str, float], float]:
        return self._submit_prepared(*self._prepare(frame))

    def _submit_prepared(
        self, frame: Frame, batch: np.ndarray, preprocess_ms: float
    ) -> tuple[Frame, Any, dict[str, float], float]:
        started = time.monotonic()
        handle = self.classifier.runtime.submit(batch)
        return frame, handle, {"preprocess": preprocess_ms}, started

    def _finish(self, frame: Frame, handle: Any, stages: dict[str, float], started: float) -> None:
        raw = self.classifier.runtime.collect(handle)
        collected = time.monotonic()
        probabilities = to_probabilities(raw, self.classifier.output)[0]
        probabilities = self._smooth(frame, probabilities)
        prediction = top_k(probabilities, self.classifier.labels, self.classifier.k)
        ready = time.monotonic()
        stages["infer"] = (collected - started) * 1000.0
        stages["postprocess"] = (ready - collected) * 1000.0
        for name in ("preprocess", "infer", "postprocess"):
            self.telemetry.add(name, stages[name])
        self.telemetry.add("result", (ready - frame.captured) * 1000.0)
        self.telemetry.processed(ready)
        self._publish(Result(frame, prediction, stages, ready))

    def _smooth(self, frame: Frame, probabilities: np.ndarray) -> np.ndarray:
        if self.smoother is None:
            return probabilities
        # A gap longer than the stale limit means a different scene may follow: start afresh.
        previous, self._previous_captured = self._previous_captured, frame.captured
        gap_s = self.stale_after_s or 2.0
        if previous is not None and frame.captured - previous > gap_s:
            self.smoother.reset()
        return self.smoother.update(probabilities)

    def _publish(self, result: Result) -> None:
        if self.lossless:
            while not self.results.put_wait(result, timeout_s=0.5):
                if self.stop_event.is_set():
                    return
        elif self.results.put(result):
            self.telemetry.count("dropped_display")


class LiveLoop:
    """Runs a classifier on a source until it ends, the duration passes, or the user quits.

    Args:
        classifier: Bundle preprocessing + runtime + top-k.
        source: An opened source.
        reopen: Opens the same source again (used after failures and for ``loop``).
        options: Loop settings.
        recorder: Video + JSON-lines writer, or None.
        window: On-screen window, or None.
        web: Browser view, or None.
    """

    def __init__(
        self,
        classifier: Classifier,
        source: FrameSource,
        reopen: Callable[[], FrameSource],
        *,
        options: LiveOptions,
        recorder: Recorder | None = None,
        window: Window | None = None,
        web: WebView | None = None,
    ) -> None:
        self.classifier = classifier
        self.source_info = source.describe()
        self.options = options
        self.recorder = recorder
        self.window = window
        self.web = web
        self.telemetry = Telemetry()
        self.frames: LatestSlot[Frame] = LatestSlot()
        self.results: LatestSlot[Result] = LatestSlot()
        settings = options.capture
        self.capture = CaptureThread(source, reopen, self.frames, self.telemetry, settings)
        self.inference = InferenceThread(
            classifier,
            self.frames,
            self.results,
            self.telemetry,
            lossless=settings.lossless,
            # Files and folders have no "stale": in lossless mode a frame may wait long for a
            # slow model and must still be processed.
            stale_after_s=settings.stale_after_s if source.live else None,
            smoothing=options.smoothing,
        )
        self.ended_reason = "end of source"
        self.error: EdgevisionError | None = None
        self.paused = False
        self.last_canvas: np.ndarray | None = None
        self.last_label: str | None = None
        self._no_signal = False
        self._next_log = 0.0

    def run(self) -> dict[str, Any]:
        """Run to the end and return the summary (also logged)."""
        started = time.monotonic()
        self._next_log = started + self.options.log_every_s
        self.capture.start()
        self.inference.start()
        with _sigterm_as_interrupt():
            try:
                self._present_until_done(started)
            except KeyboardInterrupt:
                self.ended_reason = "interrupted"
            except Exception as err:
                self.ended_reason = "error"
                self.error = as_live_error(err, "showing or recording a result")
            finally:
                self._shutdown()
        self.error = self.error or self._thread_error()
        if self.error is not None:
            self.ended_reason = "error"
            raise self.error
        return self.summary()

    def _thread_error(self) -> EdgevisionError | None:
        """The first failure of the inference or capture thread, as one user-facing error."""
        if self.inference.error is not None:
            return as_live_error(self.inference.error, "running the model")
        if self.capture.error is not None:
            return as_live_error(self.capture.error, "reading the source")
        return None

    def _present_until_done(self, started: float) -> None:
        while True:
            result = self.results.get(timeout_s=0.1)
            now = time.monotonic()
            self._watch_signal(now)
            if result is not None:
                if self._present(result) == "q":
                    self.ended_reason = "quit"
                    return
            elif self.results.closed:
                self.ended_reason = self.capture.ended_reason or "end of source"
                return
            elif self.inference.error is not None or self.capture.error is not None:
                return  # run() raises it after shutting down
            elif self._no_signal:
                self._show_no_signal()
            duration = self.options.duration_s
            if duration is not None and now - started >= duration:
                self.ended_reason = "duration"
                return
            self._maybe_log(now)

    def _present(self, result: Result) -> str | None:
        start = time.monotonic()
        view = self.telemetry.live_view()
        canvas = overlay.render(
            result.frame.image,
            result.prediction,
            threshold=self.options.threshold,
            fps=view["processed_fps"],
            age_ms=(start - result.frame.captured) * 1000.0,
            paused=self.paused,
        )
        key = self._show(canvas, record=True)
        shown = time.monotonic()
        result.stages_ms["render"] = (shown - start) * 1000.0
        self.telemetry.add("render", result.stages_ms["render"])
        self.telemetry.add("display", (shown - result.frame.captured) * 1000.0)
        self.telemetry.count("displayed")
        self.last_label = overlay.headline(result.prediction, self.options.threshold)
        self._record(result, shown)
        return key

    def _show(self, canvas: np.ndarray, *, record: bool) -> str | None:
        if self.paused:
            key = self.window.show(self.last_canvas) if self.window else None
        else:
            self.last_canvas = canvas
            key = self.window.show(canvas) if self.window else None
            if self.web is not None:
                self.web.publish(canvas)
        if record and self.recorder is not None:
            self.recorder.write_frame(canvas)
        return self._handle_key(key)

    def _handle_key(self, key: str | None) -> str | None:
        if key == " ":
            self.paused = not self.paused
        elif key == "s" and self.last_canvas is not None:
            path = self.options.snapshot_dir / f"snapshot-{time.strftime('%Y%m%d-%H%M%S')}.png"
            cv2.imwrite(str(path), self.last_canvas)
            logger.info("snapshot saved to %s", path)
        return key

    def _record(self, result: Result, shown: float) -> None:
        if self.recorder is None:
            return
        frame = result.frame
        self.recorder.write_record(
            {
                "type": "frame",
                "frame": frame.index,
                "capture_time": round(frame.wall_time, 6),
                **result.prediction.to_dict(),
                "latency_ms": round((result.ready - frame.captured) * 1000.0, 3),
                "display_age_ms": round((shown - frame.captured) * 1000.0, 3),
                "stages_ms": {k: round(v, 3) for k, v in result.stages_ms.items()},
            }
        )

    def _watch_signal(self, now: float) -> None:
        lost = self.capture.no_signal(now)
        if lost == self._no_signal:
            return
        self._no_signal = lost
        self.telemetry.set_no_signal(lost, now)
        event = "no_signal" if lost else "signal"
        (logger.warning if lost else logger.info)("%s: %s", event, self.source_info["target"])
        if self.recorder is not None:
            self.recorder.write_record({"type": "event", "event": event, "time": time.time()})

    def _show_no_signal(self) -> None:
        base = self.last_canvas
        if base is None:
            base = np.zeros((480, 640, 3), np.uint8)
        canvas = overlay.draw_no_signal(base)
        if self.window is not None:
            self._handle_key(self.window.show(canvas))
        if self.web is not None:
            self.web.publish(canvas)

    def _maybe_log(self, now: float) -> None:
        if self.options.log_every_s > 0 and now >= self._next_log:
            self._next_log = now + self.options.log_every_s
            logger.info(self.telemetry.log_line())

    def stats(self) -> dict[str, Any]:
        """Live numbers for the web view's ``/stats.json``."""
        return {**self.telemetry.live_view(), "label": self.last_label}

    def _shutdown(self) -> None:
        self.capture.stop()
        self.inference.stop_event.set()
        self.results.close()
        self.capture.join(timeout=5.0)
        self.inference.join(timeout=5.0)
        for closer in (self.recorder, self.window, self.web):
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer.close()
        self.telemetry.set_no_signal(False, time.monotonic())

    def summary(self) -> dict[str, Any]:
        """Whole-run telemetry plus what ran on what."""
        return {
            "ended": self.ended_reason,
            "source": self.source_info,
            "runtime": self.classifier.runtime.describe(),
            **self.telemetry.summary(),
        }


class LiveRunError(EdgevisionError):
    """A live run stopped because a stage failed; what was recorded so far is finalised."""


def as_live_error(err: BaseException, stage: str) -> EdgevisionError:
    """``err`` as the error the user sees: edgevision errors pass unchanged; anything else is
    summarised on one line (its traceback goes to the debug log, shown with ``-v``)."""
    if isinstance(err, EdgevisionError):
        return err
    logger.debug("live run failed while %s", stage, exc_info=err)
    detail = str(err).strip().splitlines()
    text = f"{type(err).__name__}: {detail[0]}" if detail else type(err).__name__
    return LiveRunError(
        f"live run stopped: {stage} failed ({text}); outputs so far are finalised, "
        "rerun with -v for the traceback"
    )


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Treat SIGTERM like Ctrl-C so the recording is finalised (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
