"""An on-screen window with keys: q (or Esc) quits, space pauses, s saves a snapshot.

``cv2.imshow`` is used where OpenCV was built with a GUI. The device install uses
``opencv-python-headless``, which has none, so the window then falls back to Tk from Python's
standard library (it shows PPM data natively, so no extra package is needed). Both must run on
the main thread, which is where the live loop presents.
"""

from __future__ import annotations

import logging
import os
import sys

import cv2
import numpy as np

from edgevision.errors import ConfigError

logger = logging.getLogger(__name__)


def display_available() -> bool:
    """Whether a window can appear: an X11/Wayland display on Linux, always elsewhere."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def opencv_has_gui() -> bool:
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() not in ("NONE", "NO")
    return False


class Window:
    """Shows frames and reports the key pressed since the last frame."""

    def show(self, image: np.ndarray) -> str | None:
        """Display a BGR frame; returns "q", " ", "s" or None."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class OpenCVWindow(Window):
    def __init__(self, title: str) -> None:
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)

    def show(self, image: np.ndarray) -> str | None:
        cv2.imshow(self.title, image)
        code = cv2.waitKey(1) & 0xFF
        return _key_name(chr(code)) if code != 0xFF else None

    def close(self) -> None:
        cv2.destroyWindow(self.title)


class TkWindow(Window):
    def __init__(self, title: str) -> None:
        import tkinter

        self._tk = tkinter
        try:
            self.root = tkinter.Tk()
        except tkinter.TclError as err:
            raise ConfigError(f"cannot open a window ({err}); use --display none") from err
        self.root.title(title)
        self.label = tkinter.Label(self.root, borderwidth=0)
        self.label.pack()
        self.photo = None
        self.key: str | None = None
        self.closed = False
        self.root.bind("<Key>", self._on_key)
        self.root.protocol("WM_DELETE_WINDOW", self._on_close)

    def _on_key(self, event: object) -> None:
        self.key = _key_name(getattr(event, "char", "") or "")

    def _on_close(self) -> None:
        self.key = "q"

    def show(self, image: np.ndarray) -> str | None:
        # BGR → RGB reversal copy plus a PPM header; Tk decodes PPM without any extra package.
        height, width = image.shape[:2]
        header = f"P6 {width} {height} 255 ".encode()
        data = header + np.ascontiguousarray(image[:, :, ::-1]).tobytes()
        self.photo = self._tk.PhotoImage(data=data, format="PPM")
        self.label.configure(image=self.photo)
        self.root.update()
        key, self.key = self.key, None
        return key

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.root.destroy()


def _key_name(char: str) -> str | None:
    if char in ("q", "Q", "\x1b"):
        return "q"
    if char == " ":
        return " "
    if char in ("s", "S"):
        return "s"
    return None


def open_window(title: str = "edgevision live") -> Window:
    """Open the best window available here.

    Raises:
        ConfigError: There is no display to show it on.
    """
    if not display_available():
        raise ConfigError("no display here (DISPLAY is not set); use --display none or --serve")
    if opencv_has_gui():
        return OpenCVWindow(title)
    return TkWindow(title)
