"""Reading images as people have them, and image folders laid out one folder per class.

Every image enters edgevision as an OpenCV-style frame: a contiguous ``uint8`` array of shape
(H, W, 3) in BGR order, exactly what a camera delivers. Files are decoded with Pillow because it
handles EXIF orientation, palette/RGBA/CMYK/16-bit modes and GIFs uniformly; the conversion to
BGR costs one channel-reversing copy per image.
"""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from edgevision.errors import DataError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


def pil_to_bgr(image: Image.Image) -> np.ndarray:
    """Convert any Pillow image to an (H, W, 3) uint8 BGR frame.

    16-bit and 32-bit greyscale images are scaled to 8 bits by their full type range; an alpha
    channel is composited on white so transparent areas do not turn black.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(image, dtype=np.float64)
        full_scale = 65535.0 if wide.max(initial=0) > 255 or image.mode != "I" else 255.0
        grey = np.clip(wide / full_scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
        image = Image.fromarray(grey, mode="L")
    if image.mode == "F":
        image = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an image file into an (H, W, 3) uint8 BGR frame.

    Raises:
        DataError: The file is missing, empty, truncated or not an image.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            return pil_to_bgr(image)
    except FileNotFoundError as err:
        raise DataError(f"image not found: {path}") from err
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(f"cannot decode image {path}: {err}") from err


@dataclass(frozen=True)
class LabelledImage:
    """One image file and the index of its class."""

    path: Path
    label: int


@dataclass(frozen=True)
class ImageFolder:
    """A class-per-folder data set: ``root/<class>/<image>``.

    Attributes:
        root: The folder that holds one sub-folder per class.
        classes: Class names in index order (sorted folder names).
        samples: Every image file found, with its class index.
    """

    root: Path
    classes: tuple[str, ...]
    samples: tuple[LabelledImage, ...]

    def __len__(self) -> int:
        return len(self.samples)

    def class_counts(self) -> dict[str, int]:
        """Number of images per class name."""
        counts = dict.fromkeys(self.classes, 0)
        for sample in self.samples:
            counts[self.classes[sample.label]] += 1
        return counts

    def subset(self, indices: list[int]) -> ImageFolder:
        """The same classes with only the samples at ``indices``."""
        return ImageFolder(self.root, self.classes, tuple(self.samples[i] for i in indices))


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def scan_image_folder(
    root: str | os.PathLike[str], *, classes: tuple[str, ...] | None = None
) -> ImageFolder:
    """List the images of a class-per-folder data set.

    Files without an image suffix are skipped with one warning each. Nothing is decoded here;
    unreadable images are skipped when they are first read (see :func:`readable_samples`).

    Args:
        root: Folder holding one sub-folder per class.
        classes: Expected class names in index order; a mismatch raises.

    Raises:
        DataError: The folder is missing, holds no class folders, or a class has no images.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"data folder not found: {root}")
    if not root.is_dir():
        raise DataError(f"data path is not a folder: {root}; give a folder with one folder a class")
    found = tuple(
        sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    )
    if not found:
        raise DataError(
            f"{root} holds no class folders; lay images out as {root}/<class name>/<image>"
        )
    if classes is not None and tuple(classes) != found:
        missing = sorted(set(classes) - set(found))
        unexpected = sorted(set(found) - set(classes))
        raise DataError(
            f"classes in {root} differ from the expected ones: missing {missing}, "
            f"unexpected {unexpected}; give both folders the same class sub-folders"
        )

    samples: list[LabelledImage] = []
    for index, name in enumerate(found):
        files = sorted(p for p in (root / name).rglob("*") if p.is_file())
        images = [p for p in files if _is_image_name(p)]
        for skipped in set(files) - set(images):
            logger.warning("skipping %s: not an image file (suffix %r)", skipped, skipped.suffix)
        if not images:
            raise DataError(f"class folder {root / name} holds no images; add images or remove it")
        samples.extend(LabelledImage(p, index) for p in images)
    return ImageFolder(root, found, tuple(samples))


def split_image_folder(
    folder: ImageFolder, *, val_fraction: float = 0.2, seed: int = 0
) -> tuple[ImageFolder, ImageFolder]:
    """Split one folder into train and validation parts, stratified by class, with a fixed seed."""
    rng = random.Random(seed)
    train_idx: list[int] = []
    val_idx: list[int] = []
    for label in range(len(folder.classes)):
        members = [i for i, s in enumerate(folder.samples) if s.label == label]
        rng.shuffle(members)
        n_val = max(1, round(len(members) * val_fraction)) if len(members) > 1 else 0
        val_idx.extend(members[:n_val])
        train_idx.extend(members[n_val:])
    return folder.subset(sorted(train_idx)), folder.subset(sorted(val_idx))


def readable_samples(folder: ImageFolder) -> tuple[ImageFolder, int]:
    """Decode every image once and drop those that fail, logging one warning each.

    Returns:
        The folder without unreadable images, and how many were dropped.
    """
    kept: list[int] = []
    for i, sample in enumerate(folder.samples):
        try:
            load_image(sample.path)
        except DataError as err:
            logger.warning("skipping unreadable image: %s", err)
            continue
        kept.append(i)
    return folder.subset(kept), len(folder) - len(kept)


def list_images(path: str | os.PathLike[str]) -> list[Path]:
    """All image files under a folder (recursively), or the file itself, sorted by name."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"image path not found: {path}")
    return sorted(p for p in path.rglob("*") if p.is_file() and _is_image_name(p))
