"""What the viewer sees on top of the frame: top-k labels with confidence bars, FPS, frame age,
NO SIGNAL; plus the optional temporal smoothing of probabilities.

The prediction panel is drawn on an opaque background, so for a given prediction it looks the same
whatever the picture behind it (the display tests rely on that).
"""

from __future__ import annotations

import cv2
import numpy as np

from edgevision.predict import Prediction

FONT = cv2.FONT_HERSHEY_SIMPLEX
PANEL_WIDTH = 320
ROW_HEIGHT = 24
HEADLINE_HEIGHT = 34
STATUS_HEIGHT = 26
MAX_LABEL_CHARS = 26
# Smallest picture drawn on: the panel's width and room for five rows plus the status bar.
MIN_CANVAS = (PANEL_WIDTH, 240)
_WHITE = (255, 255, 255)
_PANEL = (32, 32, 32)
_BAR = (80, 200, 80)
_BAR_DIM = (70, 110, 70)


class TemporalSmoother:
    """Exponential moving average of probability vectors, to steady a flickering label.

    ``alpha`` is the weight of the newest frame (1.0 = no smoothing). Reset it when the picture
    changes discontinuously (NO SIGNAL, a reopened source).
    """

    def __init__(self, alpha: float) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"smoothing alpha must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self.state: np.ndarray | None = None

    def update(self, probabilities: np.ndarray) -> np.ndarray:
        if self.state is None or self.state.shape != probabilities.shape:
            self.state = probabilities.astype(np.float32, copy=True)
        else:
            self.state = self.alpha * probabilities + (1.0 - self.alpha) * self.state
        return self.state

    def reset(self) -> None:
        self.state = None


def fit_for_display(
    image: np.ndarray, *, max_side: int = 960, min_size: tuple[int, int] = MIN_CANVAS
) -> np.ndarray:
    """A copy for drawing and showing: no side above ``max_side``, at least ``min_size``.

    Frames larger than ``max_side`` are shrunk keeping their aspect ratio, each side kept at
    1 px or more (a 4000x2 strip stays visible as a 960x1 line). Frames smaller than
    ``min_size`` (width, height) are centred on a black canvas of that size, so the label panel
    and status bar always fit and video encoders, which refuse 1-pixel sides, accept every
    frame. The copy (about 0.9 MB for 640x480) keeps the captured frame untouched for anyone
    else.
    """
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    else:
        image = image.copy()
    return _pad_to(image, min_size)


def _pad_to(image: np.ndarray, min_size: tuple[int, int]) -> np.ndarray:
    height, width = image.shape[:2]
    pad_w, pad_h = max(0, min_size[0] - width), max(0, min_size[1] - height)
    if not pad_w and not pad_h:
        return image
    left, top = pad_w // 2, pad_h // 2
    return cv2.copyMakeBorder(
        image, top, pad_h - top, left, pad_w - left, cv2.BORDER_CONSTANT, value=(0, 0, 0)
    )


def headline(prediction: Prediction, threshold: float) -> str:
    """The label shown in large type: top-1, or "unknown" when its score is below threshold."""
    if prediction.scores[0] < threshold:
        return "unknown"
    return prediction.labels[0]


def draw_predictions(image: np.ndarray, prediction: Prediction, *, threshold: float = 0.0) -> None:
    """Draw the top-k panel in the top-left corner, in place."""
    rows = len(prediction.labels)
    height = min(HEADLINE_HEIGHT + rows * ROW_HEIGHT + 6, image.shape[0])
    width = min(PANEL_WIDTH, image.shape[1])
    image[:height, :width] = _PANEL
    title = headline(prediction, threshold)[:MAX_LABEL_CHARS]
    cv2.putText(image, title, (8, 25), FONT, 0.75, _WHITE, 2, cv2.LINE_AA)

    bar_left, bar_max = 190, width - 198
    for row, (label, score) in enumerate(zip(prediction.labels, prediction.scores, strict=True)):
        y = HEADLINE_HEIGHT + row * ROW_HEIGHT
        text = f"{label[:18]} {score * 100:4.1f}%"
        cv2.putText(image, text, (8, y + 16), FONT, 0.42, _WHITE, 1, cv2.LINE_AA)
        bar_len = max(1, round(bar_max * min(max(score, 0.0), 1.0)))
        color = _BAR if score >= threshold else _BAR_DIM
        cv2.rectangle(image, (bar_left, y + 6), (bar_left + bar_len, y + 18), color, -1)


def draw_status(
    image: np.ndarray, *, fps: float | None, age_ms: float | None, paused: bool = False
) -> None:
    """Draw the bottom status bar (processed FPS, frame age) in place."""
    top = image.shape[0] - STATUS_HEIGHT
    image[top:] = _PANEL
    fps_text = "-" if fps is None else f"{fps:.1f}"
    age_text = "-" if age_ms is None else f"{age_ms:.0f}"
    text = f"{fps_text} FPS   latency {age_text} ms" + ("   PAUSED" if paused else "")
    cv2.putText(image, text, (8, top + 18), FONT, 0.5, _WHITE, 1, cv2.LINE_AA)


def draw_no_signal(image: np.ndarray) -> np.ndarray:
    """A darkened copy of the last picture with a NO SIGNAL banner (never shown as live)."""
    dark = (image // 3).astype(np.uint8)
    height, width = dark.shape[:2]
    text, scale, thickness = "NO SIGNAL", 1.6, 3
    (text_w, text_h), _ = cv2.getTextSize(text, FONT, scale, thickness)
    origin = ((width - text_w) // 2, (height + text_h) // 2)
    cv2.putText(dark, text, origin, FONT, scale, (40, 40, 255), thickness, cv2.LINE_AA)
    return dark


def render(
    image: np.ndarray,
    prediction: Prediction | None,
    *,
    threshold: float = 0.0,
    fps: float | None = None,
    age_ms: float | None = None,
    paused: bool = False,
) -> np.ndarray:
    """The annotated picture for one result: a display-sized copy with panel and status bar."""
    canvas = fit_for_display(image)
    if prediction is not None:
        draw_predictions(canvas, prediction, threshold=threshold)
    draw_status(canvas, fps=fps, age_ms=age_ms, paused=paused)
    return canvas
