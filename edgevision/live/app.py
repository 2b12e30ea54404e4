"""Putting a live run together from a request: source, runtime, outputs, loop, summary.

Shared by ``edgevision live`` and by scripts and tests that want the same behaviour without
argument parsing. Everything that can fail on user input (source, bundle, output folder, port)
is opened before any thread starts, so a bad request ends with one clear error and no files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgevision.errors import ConfigError, EdgevisionError
from edgevision.fsutil import atomic_write_text
from edgevision.live.capture import CaptureSettings
from edgevision.live.loop import LiveLoop, LiveOptions
from edgevision.live.recorder import Recorder, create_output_folder, output_paths
from edgevision.live.sources import FrameSource, SourceSpec, open_source, parse_source
from edgevision.live.web import WebView, parse_host_port
from edgevision.live.window import display_available, open_window
from edgevision.predict import Classifier
from edgevision.runtime import RuntimeOptions, open_runtime

logger = logging.getLogger(__name__)

DEFAULT_FILE_FPS = 30.0  # playback rate for files whose header declares no plausible rate


@dataclass
class LiveRequest:
    """Everything a live run needs, as plain values (see ``edgevision live --help``)."""

    bundle: Path
    source: str
    pace: str = "native"
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    fourcc: str | None = None
    loop: bool = False
    timeout_s: float = 5.0
    stale_after_s: float = 2.0
    max_frames: int | None = None
    duration_s: float | None = None
    backend: str | None = None
    device: str = "cpu"
    precision: str | None = None
    variant: str | None = None
    threads: int | None = None
    top_k: int = 5
    threshold: float = 0.0
    smooth: float | None = None
    display: str = "none"
    output: Path | None = None
    no_video: bool = False
    force: bool = False
    serve: str | None = None
    log_every_s: float = 5.0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LiveRequest:
        names = {
            "timeout": "timeout_s",
            "stale_after": "stale_after_s",
            "duration": "duration_s",
            "log_every": "log_every_s",
        }
        values = {names.get(k, k): v for k, v in vars(args).items()}
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in fields})


def validate(request: LiveRequest) -> None:
    """Reject values no run could use, before anything is opened (the CLI's argument types
    refuse the same ones; this guards callers that build a request themselves)."""
    _require(
        request.smooth is None or 0.0 < request.smooth <= 1.0,
        "--smooth",
        request.smooth,
        "give the newest frame's weight in (0, 1]",
    )
    _require(
        0.0 <= request.threshold <= 1.0,
        "--threshold",
        request.threshold,
        "give a probability in [0, 1]",
    )
    _require(request.top_k >= 1, "--top-k", request.top_k, "give at least 1")
    for flag, value in (
        ("--fps", request.fps),
        ("--duration", request.duration_s),
        ("--timeout", request.timeout_s),
        ("--stale-after", request.stale_after_s),
    ):
        _require(value is None or value > 0, flag, value, "give a positive number of them")
    for flag, value in (
        ("--max-frames", request.max_frames),
        ("--threads", request.threads),
        ("--width", request.width),
        ("--height", request.height),
    ):
        _require(value is None or value >= 1, flag, value, "give at least 1")
    _require(request.log_every_s >= 0, "--log-every", request.log_every_s, "give 0 or more")


def _require(ok: bool, flag: str, value: object, advice: str) -> None:
    # Comparisons with NaN are False, so NaN fails every check written as "ok when ...";
    # infinities are refused separately.
    infinite = isinstance(value, float) and math.isinf(value)
    if not ok or infinite:
        raise ConfigError(f"{flag} {value}: {advice}")


def capture_settings(request: LiveRequest, source: FrameSource) -> CaptureSettings:
    """Pacing for files and folders: native plays at the declared (or given) rate, fast is
    lossless and unpaced; live sources deliver at their own rate and are never held back."""
    fast = request.pace == "fast" and not source.live
    pace_fps = None
    if not source.live and not fast:
        pace_fps = request.fps or source.declared_fps or DEFAULT_FILE_FPS
    return CaptureSettings(
        lossless=fast,
        pace_fps=pace_fps,
        loop=request.loop,
        stale_after_s=request.stale_after_s,
        max_frames=request.max_frames,
    )


def open_classifier(request: LiveRequest) -> Classifier:
    # The loop decodes and draws on other threads of this process: no busy-waiting workers.
    options = RuntimeOptions(device=request.device, threads=request.threads, spin_wait=False)
    runtime = open_runtime(
        request.bundle,
        backend=request.backend,
        variant=request.variant,
        precision=request.precision,
        options=options,
    )
    return Classifier(runtime, k=request.top_k)


def source_spec(request: LiveRequest) -> SourceSpec:
    return parse_source(
        request.source,
        width=request.width,
        height=request.height,
        fps=request.fps,
        fourcc=request.fourcc,
        timeout_s=request.timeout_s,
    )


def run_live(request: LiveRequest) -> dict[str, Any]:
    """Open everything, run the loop to its end, write the summary; returns the summary.

    Raises:
        EdgevisionError: A bad request (nothing written), or a stage that failed during the
            run (the video and JSON lines so far are finalised and the summary records it).
    """
    validate(request)
    spec = source_spec(request)
    paths = output_paths(request.output, force=request.force) if request.output else {}
    classifier = open_classifier(request)
    try:
        source = open_source(spec)
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(source.close)
            if request.output:
                create_output_folder(request.output)
            loop = build_loop(request, classifier, source, spec, paths)
            cleanup.pop_all()
        try:
            summary = loop.run()
        except EdgevisionError as err:
            summary = {**loop.summary(), "error": str(err)}
            write_outputs(request, summary, paths, finished=False)
            raise
        write_outputs(request, summary, paths, finished=True)
    finally:
        classifier.runtime.close()
    return summary


def write_outputs(
    request: LiveRequest, summary: dict[str, Any], paths: dict[str, Path], *, finished: bool
) -> None:
    """Record the output files in ``summary`` and write it to summary.json."""
    if finished and "jsonl" in paths and not paths["jsonl"].exists():
        paths["jsonl"].write_text("", encoding="utf-8")  # a run without results: no lines
    summary["outputs"] = {name: str(path) for name, path in paths.items() if path.exists()}
    if request.no_video:
        summary["outputs"].pop("video", None)  # an earlier run's video, kept by --force
    if "summary" in paths:
        summary["outputs"]["summary"] = str(paths["summary"])
        atomic_write_text(paths["summary"], json.dumps(summary, indent=2) + "\n")


def build_loop(
    request: LiveRequest,
    classifier: Classifier,
    source: FrameSource,
    spec: SourceSpec,
    paths: dict[str, Path],
) -> LiveLoop:
    """Open the presentation ends (window, web view, recorder) and wire the loop."""
    settings = capture_settings(request, source)
    options = LiveOptions(
        capture=settings,
        duration_s=request.duration_s,
        threshold=request.threshold,
        smoothing=request.smooth,
        log_every_s=request.log_every_s,
        snapshot_dir=request.output or Path("."),
    )
    want_window = request.display == "window" or (request.display == "auto" and display_available())
    window = open_window() if want_window else None
    web = None
    if request.serve:
        host, port = parse_host_port(request.serve)
        web = WebView(host, port, stats=lambda: {})
        logger.info("browser view at %s", web.url)
    recorder = None
    if paths:
        video = None if request.no_video else paths["video"]
        fps = settings.pace_fps or source.declared_fps or DEFAULT_FILE_FPS
        recorder = Recorder(video, paths["jsonl"], fps=fps)
    loop = LiveLoop(
        classifier,
        source,
        lambda: open_source(spec),
        options=options,
        recorder=recorder,
        window=window,
        web=web,
    )
    if web is not None:
        web.stats = loop.stats
    return loop
