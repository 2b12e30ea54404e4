"""The window under Xvfb and the browser view in headless Chromium show the frame and its label.

Each test runs ``edgevision live`` as a user would (a subprocess, stopped with SIGTERM), takes a
real screenshot, and finds in it the picture and the label panel rendered offline for the same
frame: the correct headline must match almost exactly, while "unknown" in its place must not.
Needs Debian's ``xvfb`` and ``chromium`` (``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_live_support import best_match, free_port, offline_classifier, read_xwd

from edgevision.images import load_image
from edgevision.live import overlay

pytestmark = pytest.mark.display

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def still_folder(shared_data: Path, tmp_path: Path) -> Path:
    """A folder with one 480x360 crop of the parrot photo (played in a loop as a 'camera')."""
    photo = load_image(shared_data / "imagenet_samples" / "parrot.jpg")
    photo = cv2.resize(photo, (480, 871), interpolation=cv2.INTER_AREA)[200:560]
    folder = tmp_path / "still"
    folder.mkdir()
    cv2.imwrite(str(folder / "parrot.png"), photo)
    return folder


def start_live(bundle: Path, folder: Path, *extra: str, env: dict | None = None):
    argv = [sys.executable, "-m", "edgevision", "-q", "live", "--bundle", str(bundle)]
    argv += ["--source", str(folder), "--fps", "5", "--loop", "--threads", "2", *extra]
    return subprocess.Popen(
        argv, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def stop_live(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err.decode()
    return out.decode()


def assert_shows_frame_and_label(screen: np.ndarray, bundle: Path, folder: Path, *, min_score):
    image = load_image(folder / "parrot.png")
    prediction = offline_classifier(bundle).predict(image)
    expected = overlay.fit_for_display(image)
    overlay.draw_predictions(expected, prediction)
    unknown = overlay.fit_for_display(image)
    overlay.draw_predictions(unknown, prediction, threshold=1.01)

    panel_score, panel_at = best_match(screen, expected[:160, :320])
    picture_score, picture_at = best_match(screen, expected[170:320, 330:470])
    label_score, _ = best_match(screen, expected[:34, :200])
    unknown_score, _ = best_match(screen, unknown[:34, :200])
    assert prediction.top1 == "macaw"
    assert panel_score >= min_score and picture_score >= min_score, (panel_score, picture_score)
    assert (picture_at[0] - panel_at[0], picture_at[1] - panel_at[1]) == (330, 170)
    assert label_score >= min_score and unknown_score < 0.8, (label_score, unknown_score)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (Debian package xvfb)")
def test_window_under_xvfb_shows_frame_and_label(foreign_bundle, still_folder, tmp_path):
    framebuffer = tmp_path / "fb"
    framebuffer.mkdir()
    display = f":{free_port() % 400 + 100}"
    xvfb = subprocess.Popen(
        [
            "Xvfb",
            display,
            "-screen",
            "0",
            "1024x768x24",
            "-fbdir",
            str(framebuffer),
            "-nolisten",
            "tcp",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        live = start_live(
            foreign_bundle, still_folder, "--display", "window", env={"DISPLAY": display}
        )
        time.sleep(6.0)
        screen = read_xwd(framebuffer / "Xvfb_screen0")
        cv2.imwrite(str(tmp_path / "window.png"), screen)
        summary = stop_live(live)
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    assert "ended: interrupted" in summary
    assert_shows_frame_and_label(screen, foreign_bundle, still_folder, min_score=0.98)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian package chromium")
def test_browser_view_in_headless_chromium(foreign_bundle, still_folder, tmp_path):
    port = free_port()
    live = start_live(
        foreign_bundle, still_folder, "--display", "none", "--serve", f"127.0.0.1:{port}"
    )
    try:
        time.sleep(4.0)
        shot = tmp_path / "browser.png"
        # The MJPEG <img> never finishes loading, so --timeout bounds the wait for the page.
        subprocess.run(
            [
                "chromium",
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=800,600",
                "--timeout=3000",
                f"--screenshot={shot}",
                f"http://127.0.0.1:{port}/",
            ],
            capture_output=True,
            timeout=60,
            check=True,
        )
    finally:
        summary = stop_live(live)
    assert "ended: interrupted" in summary
    screen = cv2.imread(str(shot))
    assert screen is not None and screen.shape[:2] == (600, 800)
    # JPEG in the MJPEG stream blurs edges a little, hence the lower bar than the window's.
    assert_shows_frame_and_label(screen, foreign_bundle, still_folder, min_score=0.95)
