"""Top-1 / top-5 accuracy of a runtime on a labelled image folder (class-per-folder)."""

from __future__ import annotations

import logging
import os
from typing import Any

from edgevision.errors import DataError
from edgevision.images import load_image, scan_image_folder
from edgevision.predict import Classifier
from edgevision.runtime.base import Runtime

logger = logging.getLogger(__name__)


def labelled_accuracy(runtime: Runtime, folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Run every readable image of ``folder`` through the bundle's preprocessing and model.

    Folder class names are matched to the bundle's labels by name; unreadable images are skipped
    with a warning each and counted.

    Raises:
        DataError: The folder is not class-per-folder, or a class is not among the labels.
    """
    data = scan_image_folder(folder)
    labels = runtime.bundle.labels
    unknown = [name for name in data.classes if name not in labels]
    if unknown:
        raise DataError(
            f"classes {unknown} of {folder} are not labels of the bundle; name the class "
            "folders after the bundle's labels"
        )
    classifier = Classifier(runtime, k=5)
    top1 = top5 = skipped = 0
    for sample in data.samples:
        try:
            frame = load_image(sample.path)
        except DataError as err:
            logger.warning("skipping unreadable image: %s", err)
            skipped += 1
            continue
        answer = classifier.predict(frame)
        truth = data.classes[sample.label]
        top1 += answer.labels[0] == truth
        top5 += truth in answer.labels
    scored = len(data.samples) - skipped
    if scored == 0:
        raise DataError(f"no readable image in {folder}")
    return {
        "folder": str(folder),
        "images": scored,
        "skipped": skipped,
        "top1": round(top1 / scored, 6),
        "top5": round(top5 / scored, 6) if len(labels) >= 5 else None,
    }
