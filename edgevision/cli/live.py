"""``edgevision live``: run a bundle on a camera, video file, stream or image folder.

Device-side command: imports NumPy, OpenCV and the runtime layer only (never torch).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edgevision.cli.argtypes import (
    non_negative_float,
    positive_float,
    positive_int,
    unit_interval,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "live",
        help="recognise what a camera, video, stream or image folder shows, in real time",
        description=(
            "Capture, inference and presentation run in separate threads joined by single-slot "
            "buffers, so the picture and the answer are always the newest ones. --source takes "
            "a camera index (0) or device (/dev/video0), a video file, an rtsp:// or http:// "
            "URL (MJPEG included), an image folder or glob, or a GStreamer pipeline."
        ),
    )
    parser.add_argument("--bundle", required=True, help="bundle folder written by export")
    parser.add_argument("--source", required=True, help="camera index, file, URL, folder, glob")
    _add_source_arguments(parser)
    _add_model_arguments(parser)
    _add_output_arguments(parser)
    parser.set_defaults(func=run)


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("source")
    group.add_argument(
        "--pace",
        choices=("native", "fast"),
        default="native",
        help="files and folders: play at their own frame rate like a camera (native), or "
        "process every frame as fast as possible (fast)",
    )
    group.add_argument(
        "--fps", type=positive_float, help="camera: FPS to request; file/folder: play rate"
    )
    group.add_argument("--width", type=positive_int, help="camera: frame width to request")
    group.add_argument("--height", type=positive_int, help="camera: frame height to request")
    group.add_argument("--fourcc", help="camera: pixel format to request, e.g. MJPG")
    group.add_argument("--loop", action="store_true", help="restart a file or folder at its end")
    group.add_argument(
        "--timeout",
        type=positive_float,
        default=5.0,
        help="seconds a stream may take to open or answer",
    )
    group.add_argument(
        "--stale-after",
        type=positive_float,
        default=2.0,
        help="seconds without a new frame before NO SIGNAL (and reopening)",
    )
    group.add_argument("--max-frames", type=positive_int, help="stop after this many frames")
    group.add_argument("--duration", type=positive_float, help="stop after this many seconds")


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--backend", choices=("onnxruntime", "openvino", "tensorrt"))
    group.add_argument("--device", default="cpu", help="backend device (cpu, cuda, gpu, npu...)")
    group.add_argument("--precision", choices=("fp32", "fp16", "int8"))
    group.add_argument("--variant", help="bundle variant name")
    group.add_argument("--threads", type=positive_int, help="inference threads")
    group.add_argument("--top-k", type=positive_int, default=5, help="labels shown per frame")
    group.add_argument(
        "--threshold",
        type=unit_interval,
        default=0.0,
        help='top-1 scores below this read "unknown"',
    )
    group.add_argument(
        "--smooth",
        type=smoothing_weight,
        help="temporal smoothing: weight of the newest frame in (0, 1]; off by default",
    )


def _add_output_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "--display",
        choices=("auto", "window", "none"),
        default="auto",
        help="show a window (keys: q quit, space pause, s snapshot); auto = when a display exists",
    )
    group.add_argument(
        "--output",
        type=Path,
        help="folder for annotated.mp4, frames.jsonl (one line per result) and summary.json",
    )
    group.add_argument("--no-video", action="store_true", help="with --output: skip the video")
    group.add_argument("--force", action="store_true", help="overwrite an earlier --output")
    group.add_argument(
        "--serve",
        metavar="HOST:PORT",
        help="browser view (MJPEG + live stats); a bare PORT binds 127.0.0.1 only",
    )
    group.add_argument(
        "--log-every",
        type=non_negative_float,
        default=5.0,
        help="seconds between log lines (0: none)",
    )


def smoothing_weight(text: str) -> float:
    """A finite float in (0, 1]: the newest frame's weight (0 would never update the label)."""
    value = unit_interval(text)
    if value == 0.0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0 (and at most 1)")
    return value


def run(args: argparse.Namespace) -> int:
    from edgevision.live.app import LiveRequest, run_live

    summary = run_live(LiveRequest.from_args(args))
    _print_summary(summary)
    return 0


def _print_summary(summary: dict[str, Any]) -> None:
    frames = summary["frames"]
    age = summary["frame_age_ms"].get("result", {})
    fps = summary["fps"]
    lines = [
        f"ended: {summary['ended']} after {summary['duration_s']:.1f} s",
        f"frames: captured {frames.get('captured', 0)}, processed {frames.get('processed', 0)}, "
        f"dropped {frames.get('dropped_capture', 0)} at capture + "
        f"{frames.get('dropped_display', 0)} at display, stale {frames.get('stale_skipped', 0)}",
        f"FPS: processed {fps['processed_mean']}, source measured {fps['source_measured']} "
        f"(declared {fps['source_declared']})",
        f"frame age at result: p50 {age.get('p50', '-')} ms, p90 {age.get('p90', '-')} ms",
        f"NO SIGNAL: {summary['no_signal']['episodes']} episode(s), "
        f"{summary['no_signal']['total_s']} s",
    ]
    if summary.get("outputs"):
        lines.append("written: " + ", ".join(summary["outputs"].values()))
    print("\n".join(lines), file=sys.stdout)
    sys.stdout.flush()
