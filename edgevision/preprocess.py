"""The one preprocessing implementation: BGR uint8 frame → model input tensor.

Training evaluation, export fidelity checks, ``live``, ``bench`` and ``eval`` all call
:func:`preprocess`, so a model is measured on the same tensors everywhere. NumPy and OpenCV only.
"""

from __future__ import annotations

import cv2
import numpy as np

from edgevision.contract import InputContract
from edgevision.errors import DataError

_CV2_INTERPOLATION = {
    "area": cv2.INTER_AREA,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
}


def as_bgr_frame(frame: np.ndarray) -> np.ndarray:
    """Bring a frame to (H, W, 3) uint8 BGR: greyscale is expanded, BGRA drops alpha, 16-bit
    frames are scaled by 1/257, float frames in 0..1 are scaled to 0..255.

    Raises:
        DataError: The array cannot be read as an image.
    """
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.dtype == np.uint16:
        frame = (frame // 257).astype(np.uint8)
    elif frame.dtype in (np.float32, np.float64):
        peak = 1.0 if float(frame.max(initial=0.0)) <= 1.0 else 255.0
        frame = np.clip(frame * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
    elif frame.dtype != np.uint8:
        raise DataError(f"unsupported frame dtype {frame.dtype}; expected uint8 or uint16")
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    raise DataError(
        f"unsupported frame shape {frame.shape}; expected (H, W), (H, W, 3) or (H, W, 4)"
    )


def _trim_extreme_aspect(frame: np.ndarray, contract: InputContract) -> np.ndarray:
    """Cut a centred band out of a very long, thin frame before the "crop" resize.

    Scaling a 4000x2 strip's short side to 256 would allocate a 256x512000 image only to keep
    its middle. Beyond 4:1 the frame is trimmed to 4:1 around its centre first, which leaves the
    pixels inside the final crop unchanged in all but the exact edge rows of the band.
    """
    in_h, in_w = frame.shape[:2]
    limit = 4
    if in_w > limit * in_h:
        keep = limit * in_h
        left = (in_w - keep) // 2
        return frame[:, left : left + keep]
    if in_h > limit * in_w:
        keep = limit * in_w
        top = (in_h - keep) // 2
        return frame[top : top + keep]
    return frame


def resize_and_crop(frame: np.ndarray, contract: InputContract) -> np.ndarray:
    """Apply the contract's geometric steps, returning an (h, w, 3) uint8 BGR array."""
    out_h, out_w = contract.input_hw
    interpolation = _CV2_INTERPOLATION[contract.interpolation]
    if contract.resize == "direct":
        return cv2.resize(frame, (out_w, out_h), interpolation=interpolation)

    # "crop": shorter side to resize_shorter (aspect kept), then a centred input_hw window.
    frame = _trim_extreme_aspect(frame, contract)
    in_h, in_w = frame.shape[:2]
    ratio = contract.resize_shorter / min(in_h, in_w)
    new_h = max(out_h, round(in_h * ratio))
    new_w = max(out_w, round(in_w * ratio))
    resized = cv2.resize(frame, (new_w, new_h), interpolation=interpolation)
    top = (new_h - out_h) // 2
    left = (new_w - out_w) // 2
    return resized[top : top + out_h, left : left + out_w]


def normalize(pixels: np.ndarray, contract: InputContract) -> np.ndarray:
    """Turn (h, w, 3) uint8 BGR pixels into one model input (no batch axis) per the contract."""
    if contract.color_order == "rgb":
        pixels = pixels[:, :, ::-1]  # BGR → RGB view; the arithmetic below makes the copy

    if contract.normalize_in_graph or contract.dtype == "uint8":
        tensor = np.ascontiguousarray(pixels)
        if contract.dtype != "uint8":
            tensor = tensor.astype(contract.dtype)
    else:
        # (x * scale - mean) / std folded into one multiply-add per channel: (h, w, 3) float32.
        gain = np.float32(contract.scale) / np.asarray(contract.std, dtype=np.float32)
        offset = np.asarray(contract.mean, dtype=np.float32) / np.asarray(
            contract.std, dtype=np.float32
        )
        tensor = pixels.astype(np.float32) * gain - offset
        if contract.dtype == "float16":
            tensor = tensor.astype(np.float16)

    if contract.layout == "nchw":
        tensor = np.ascontiguousarray(tensor.transpose(2, 0, 1))  # (h, w, 3) → (3, h, w) copy
    return tensor


def preprocess(frame: np.ndarray, contract: InputContract) -> np.ndarray:
    """Turn one frame (any of the forms :func:`as_bgr_frame` accepts) into one model input.

    Returns:
        A contiguous array of shape (3, h, w) or (h, w, 3), without the batch axis.
    """
    return normalize(resize_and_crop(as_bgr_frame(frame), contract), contract)


def preprocess_batch(frames: list[np.ndarray], contract: InputContract) -> np.ndarray:
    """Preprocess several frames and stack them into one batch (N first)."""
    return np.stack([preprocess(frame, contract) for frame in frames])
