"""Bad input to ``edgevision live``: failing stages, odd frame sizes, unusable outputs, bad flags.

Each case runs the real command line and checks the user gets one line and exit code 2 (or a
clean run), and that what was written is complete.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from sample_data import decode_all
from test_live_support import read_jsonl

import edgevision.live.app as live_app
from edgevision.cli.main import main
from edgevision.live import overlay
from edgevision.live.recorder import Recorder
from edgevision.predict import Prediction
from edgevision.runtime.base import Runtime


class FailingRuntime(Runtime):
    """A real runtime that raises on its ``fail_at``-th call (a device that dies mid-run)."""

    backend = "failing"

    def __init__(self, inner: Runtime, fail_at: int) -> None:
        super().__init__(inner.bundle, inner.variant, inner.options)
        self.inner = inner
        self.fail_at = fail_at
        self.calls = 0

    def infer(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls >= self.fail_at:
            raise RuntimeError("device lost\nsecond line of detail")
        return self.inner.infer(batch)


def live_argv(bundle: Path, source: Path | str, *extra: str) -> list[str]:
    argv = ["live", "--bundle", str(bundle), "--source", str(source), "--display", "none"]
    return argv + ["--pace", "fast", "--threads", "2", *extra]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_inference_failure_stops_run_with_exit_2_and_finalised_outputs(
    foreign_bundle, shared_data, tmp_path, monkeypatch, capsys
):
    opened = live_app.open_runtime
    monkeypatch.setattr(
        live_app, "open_runtime", lambda *a, **k: FailingRuntime(opened(*a, **k), fail_at=6)
    )
    out = tmp_path / "out"
    code = main(live_argv(foreign_bundle, shared_data / "video" / "tree.avi", "--output", str(out)))

    message = one_line_error(capsys)
    assert code == 2
    assert "running the model failed (RuntimeError: device lost)" in message
    frames, _ = read_jsonl(out / "frames.jsonl")
    assert [r["frame"] for r in frames] == [0, 1, 2, 3, 4]  # lossless: the five good answers
    assert len(decode_all(out / "annotated.mp4")) == 5  # the container was finalised
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ended"] == "error" and "device lost" in summary["error"]
    assert summary["frames"]["processed"] == 5


@pytest.mark.parametrize("shape", [(2, 4000), (3000, 1), (1, 1), (1, 2)])
def test_extreme_frame_sizes_are_shown_and_recorded(shape, foreign_bundle, tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((*shape, 3), 150, np.uint8))
    out = tmp_path / "out"

    assert main(live_argv(foreign_bundle, folder, "--output", str(out))) == 0
    frames, _ = read_jsonl(out / "frames.jsonl")
    video = decode_all(out / "annotated.mp4")
    assert len(frames) == 1 and len(video) == 1
    height, width = video[0].shape[:2]
    assert width >= overlay.MIN_CANVAS[0] and height >= overlay.MIN_CANVAS[1]
    assert max(width, height) <= 960


def test_fit_for_display_keeps_aspect_and_pads_small_frames():
    wide = overlay.fit_for_display(np.full((2, 4000, 3), 200, np.uint8))
    assert wide.shape == (240, 960, 3)
    assert list(np.flatnonzero(wide[:, 0, 0])) == [119]  # one 1-px line, centred in 240 rows
    assert (wide[119] == 200).all()
    tiny = overlay.fit_for_display(np.full((1, 1, 3), 200, np.uint8))
    assert tiny.shape == (240, 320, 3) and tiny[119, 159, 0] == 200 and tiny.sum() == 600
    normal = np.random.default_rng(0).integers(0, 255, (360, 480, 3), dtype=np.uint8)
    np.testing.assert_array_equal(overlay.fit_for_display(normal), normal)
    prediction = Prediction(indices=(1,), labels=("a",), scores=(0.5,))
    assert overlay.render(np.zeros((1, 3000, 3), np.uint8), prediction).shape == (240, 960, 3)


def test_unopenable_video_writer_says_why_and_leaves_no_empty_lines(tmp_path):
    recorder = Recorder(tmp_path / "annotated.mp4", tmp_path / "frames.jsonl", fps=30.0)
    with pytest.raises(Exception) as caught:
        recorder.write_frame(np.zeros((1, 1, 3), np.uint8))  # FFmpeg refuses 1-px sides
    recorder.close()
    assert "cannot encode 1x1 frames" in str(caught.value)
    assert "writable" not in str(caught.value)
    assert not (tmp_path / "frames.jsonl").exists()


@pytest.mark.parametrize("case", ["file", "under_file", "uncreatable"])
def test_unusable_output_gets_one_line(case, foreign_bundle, shared_data, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me\n")
    target, message = {
        "file": (afile, "is a file, not a folder"),
        "under_file": (afile / "out", "lies under the file"),
        "uncreatable": (Path("/proc/edgevision-test/out"), "cannot be created or written"),
    }[case]
    code = main(
        live_argv(foreign_bundle, shared_data / "video" / "tree.avi", "--output", str(target))
    )
    assert code == 2 and message in one_line_error(capsys)
    assert afile.read_text() == "keep me\n"


@pytest.mark.parametrize(
    ("source", "message"),
    [("99999999999", "camera 99999999999 cannot be opened"), ("", "--source is empty")],
)
def test_bad_source_gets_one_line(source, message, foreign_bundle, capsys, tmp_path):
    code = main(live_argv(foreign_bundle, source, "--output", str(tmp_path / "out")))
    assert code == 2 and message in one_line_error(capsys)
    assert not (tmp_path / "out").exists()  # refused before anything was created


@pytest.mark.parametrize(
    "flag",
    [
        ("--fps", "nan"),
        ("--max-frames", "-1"),
        ("--duration", "nan"),
        ("--duration", "-1"),
        ("--threads", "-1"),
        ("--timeout", "-1"),
        ("--stale-after", "0"),
        ("--stale-after", "nan"),
        ("--log-every", "-1"),
        ("--top-k", "0"),
        ("--threshold", "1.5"),
        ("--threshold", "-0.1"),
        ("--smooth", "0"),
        ("--smooth", "1.5"),
        ("--width", "0"),
    ],
)
def test_bad_numbers_are_refused_by_argparse(flag, foreign_bundle, shared_data, capsys):
    with pytest.raises(SystemExit) as exited:
        main(live_argv(foreign_bundle, shared_data / "video" / "tree.avi", *flag))
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert f"error: argument {flag[0]}:" in err and "Traceback" not in err


def test_folder_where_no_image_decodes_is_one_line(foreign_bundle, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_text("not a JPEG")
    (folder / "b.png").write_bytes(b"")
    out = tmp_path / "out"
    code = main(["live", "--bundle", str(foreign_bundle), "--source", str(folder),
                 "--display", "none", "--output", str(out)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("none of its 2 image files could be read; check that they are "
                            "images and not empty")  # fmt: skip
    assert "Traceback" not in "\n".join(err)
