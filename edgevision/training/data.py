"""Image folders as PyTorch data sets: augmented training tensors and contract-exact evaluation.

Evaluation tensors come from :func:`edgevision.preprocess.preprocess` with the run's input
contract, so the validation accuracy measured here is the accuracy a bundle gets on a device.
Training augmentation runs torchvision ``transforms.v2`` on uint8 tensors and ends in the same
scale/mean/std normalisation as the contract.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from edgevision.contract import InputContract
from edgevision.errors import DataError
from edgevision.images import (
    ImageFolder,
    load_image,
    readable_samples,
    scan_image_folder,
    split_image_folder,
)
from edgevision.preprocess import preprocess
from edgevision.training.config import TrainConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Splits:
    """The train and validation folders of a run, with the same classes in the same order."""

    train: ImageFolder
    val: ImageFolder
    skipped: int

    @property
    def classes(self) -> tuple[str, ...]:
        return self.train.classes

    def summary(self) -> dict:
        """What the checkpoint records about its training data."""
        return {
            "root": str(self.train.root),
            "classes": list(self.classes),
            "train_counts": self.train.class_counts(),
            "val_counts": self.val.class_counts(),
            "skipped_unreadable": self.skipped,
        }


def _limit(folder: ImageFolder, per_class: int | None) -> ImageFolder:
    """Keep at most ``per_class`` images of each class (the first ones in name order)."""
    if per_class is None:
        return folder
    seen: dict[int, int] = {}
    keep = []
    for i, sample in enumerate(folder.samples):
        seen[sample.label] = seen.get(sample.label, 0) + 1
        if seen[sample.label] <= per_class:
            keep.append(i)
    return folder.subset(keep)


def _drop_unreadable(folder: ImageFolder, part: str) -> tuple[ImageFolder, int]:
    kept, skipped = readable_samples(folder)
    counts = kept.class_counts()
    empty = [name for name, count in counts.items() if count == 0]
    if empty:
        raise DataError(
            f"{part} class(es) {empty} in {folder.root} have no readable images; "
            "add readable images or remove the folder"
        )
    return kept, skipped


def load_splits(config: TrainConfig) -> Splits:
    """Find the train/val folders (or split one folder with the seed) and drop unreadable files.

    Raises:
        DataError: Missing folder, fewer than two classes, differing class sets, or a class
            without readable images.
    """
    root = Path(config.data)
    if (root / "train").is_dir() and (root / "val").is_dir():
        train = scan_image_folder(root / "train")
        val = scan_image_folder(root / "val", classes=train.classes)
    else:
        train, val = split_image_folder(
            scan_image_folder(root), val_fraction=config.val_fraction, seed=config.seed
        )
    if len(train.classes) < 2:
        raise DataError(
            f"{train.root} holds a single class {list(train.classes)}; a classifier needs at "
            "least two class folders"
        )
    train, val = _limit(train, config.limit_train), _limit(val, config.limit_val)
    train, skipped_train = _drop_unreadable(train, "training")
    val, skipped_val = _drop_unreadable(val, "validation")
    skipped = skipped_train + skipped_val
    if skipped:
        logger.warning(
            "skipped %d unreadable image file(s); training continues without them", skipped
        )
    return Splits(train, val, skipped)


class EvalDataset(Dataset):
    """Validation samples through the deployment preprocessing: (3, h, w) float32, label."""

    def __init__(self, folder: ImageFolder, contract: InputContract) -> None:
        self.folder = folder
        self.contract = contract

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        sample = self.folder.samples[index]
        return torch.from_numpy(preprocess(load_image(sample.path), self.contract)), sample.label


def _augmentation(config: TrainConfig, contract: InputContract):
    from torchvision.transforms import v2

    steps = [
        v2.RandomResizedCrop(contract.input_hw, scale=(config.crop_scale_min, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
    ]
    if config.color_jitter > 0:
        j = config.color_jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j))
    if config.augment == "randaugment":
        steps.append(v2.RandAugment())
    elif config.augment == "trivialaugment":
        steps.append(v2.TrivialAugmentWide())
    # The contract's (x * scale - mean) / std, written as (x - mean/scale) / (std/scale) so that
    # one Normalize does it on the 0..255 float tensor.
    scale = contract.scale
    steps += [
        v2.ToDtype(torch.float32, scale=False),
        v2.Normalize(
            mean=[m / scale for m in contract.mean], std=[s / scale for s in contract.std]
        ),
    ]
    return v2.Compose(steps)


class TrainDataset(Dataset):
    """Training samples: decoded frame → colour order of the contract → random augmentation."""

    def __init__(self, folder: ImageFolder, contract: InputContract, config: TrainConfig) -> None:
        self.folder = folder
        self.contract = contract
        self.transform = _augmentation(config, contract)

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        sample = self.folder.samples[index]
        frame = load_image(sample.path)  # (H, W, 3) uint8 BGR
        if self.contract.color_order == "rgb":
            frame = frame[:, :, ::-1]
        # (H, W, 3) → (3, H, W) uint8; one copy to make it contiguous for the crop kernels.
        pixels = torch.from_numpy(np.ascontiguousarray(frame.transpose(2, 0, 1)))
        return self.transform(pixels), sample.label


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    shuffle: bool,
    workers: int,
    seed: int,
    sampler=None,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader whose shuffle order and worker seeds depend only on ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=workers,
        generator=generator,
        pin_memory=pin_memory,
        persistent_workers=False,
        drop_last=False,
    )


def class_weights(folder: ImageFolder) -> torch.Tensor:
    """Inverse-frequency weights, normalised to mean 1, for an imbalanced folder."""
    counts = torch.tensor(list(folder.class_counts().values()), dtype=torch.float32)
    weights = counts.sum() / (len(counts) * counts.clamp(min=1))
    return weights / weights.mean()
