"""The whole edgevision path on data that ships with scikit-learn, offline, on a CPU.

1. writes scikit-learn's 1,797 handwritten digits (8x8 greyscale) as an image folder;
2. ``edgevision train``: fine-tunes a ResNet-18 (from scratch: no pretrained weights needed);
3. ``edgevision export``: makes a bundle with an ONNX model checked against PyTorch;
4. writes a short video of validation digits and runs ``edgevision live`` on it headless,
   recording an annotated video and per-frame JSON lines;
5. ``edgevision bench``: measures the bundle and writes its JSON result.

Run it with ``python examples/digits_demo.py [OUTPUT_DIR]`` (default ``demo-output``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from edgevision.cli.main import main as edgevision

DIGIT_SIZE = 32  # pixels of the written images (upscaled from 8x8)


def write_digits_folder(root: Path, *, seed: int = 0) -> tuple[Path, list[tuple[np.ndarray, int]]]:
    """Write the digits as ``root/train/<digit>/*.png`` and ``root/val/<digit>/*.png`` (80/20).

    Returns:
        The folder, and the validation images (BGR, 32x32) with their digit.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.images))
    n_val = len(order) // 5
    val_images: list[tuple[np.ndarray, int]] = []
    for rank, index in enumerate(order):
        split = "val" if rank < n_val else "train"
        label = int(digits.target[index])
        # Values are 0..16 ink intensities; draw dark ink on white paper like a photo of a page.
        grey = (255 - digits.images[index] * (255 / 16)).astype(np.uint8)
        image = cv2.resize(grey, (DIGIT_SIZE, DIGIT_SIZE), interpolation=cv2.INTER_LINEAR)
        folder = root / split / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{index:04d}.png"), image)
        if split == "val":
            val_images.append((cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), label))
    return root, val_images


def write_digits_video(
    path: Path,
    images: list[tuple[np.ndarray, int]],
    *,
    count: int = 30,
    frames_each: int = 8,
    fps: float = 15.0,
) -> Path:
    """A 480x480 mp4v video showing ``count`` validation digits, each for ``frames_each`` frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (480, 480))
    for image, _ in images[:count]:
        frame = cv2.resize(image, (480, 480), interpolation=cv2.INTER_NEAREST)
        for _ in range(frames_each):
            writer.write(frame)
    writer.release()
    return path


def run(out: Path) -> int:
    """Run the five steps, stopping at the first that fails; returns the exit code."""
    out.mkdir(parents=True, exist_ok=True)
    data, val_images = write_digits_folder(out / "digits")
    video = write_digits_video(out / "digits.mp4", val_images)
    steps = [
        [
            "train",
            "--data",
            str(data),
            "--arch",
            "resnet18",
            "--no-pretrained",
            "--input-size",
            str(DIGIT_SIZE),
            "--resize",
            "direct",
            "--epochs",
            "6",
            "--batch-size",
            "64",
            "--out",
            str(out),
            "--name",
            "run",
            "--seed",
            "0",
        ],
        [
            "export",
            "--checkpoint",
            str(out / "run" / "best.pt"),
            "--out",
            str(out / "bundle"),
            "--data",
            str(data),
            "--force",
        ],
        [
            "live",
            "--bundle",
            str(out / "bundle"),
            "--source",
            str(video),
            "--display",
            "none",
            "--pace",
            "fast",
            "--output",
            str(out / "live"),
            "--force",
        ],
        ["bench", "--bundle", str(out / "bundle"), "--json", str(out / "bench.json"), "--force"],
    ]
    for argv in steps:
        code = edgevision(argv)
        if code != 0:
            return code
    print()
    print(f"bundle:               {out / 'bundle'}")
    live = out / "live"
    print(f"annotated recording:  {live / 'annotated.mp4'}  (per frame: {live / 'frames.jsonl'})")
    print(f"bench result (JSON):  {out / 'bench.json'}  (the table is printed above)")
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-output")))
