"""What export starts from: a checkpoint, an architecture plus weights, or a foreign ONNX file;
and the real images it calibrates and checks with.
"""

from __future__ import annotations

import logging
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgevision import __version__
from edgevision.bundle import sha256_file
from edgevision.contract import InputContract, OutputContract
from edgevision.errors import DataError
from edgevision.images import (
    ImageFolder,
    list_images,
    scan_image_folder,
    split_image_folder,
)

logger = logging.getLogger(__name__)


@dataclass
class ExportSource:
    """A model to export and what the bundle must say about it.

    Attributes:
        kind: ``"checkpoint"``, ``"weights"`` or ``"onnx"``.
        labels: Class names in output order.
        contract: Input contract of the model as given (before any fused preprocessing).
        output: How to read the model's output.
        model: The eval-mode torch module (None for a foreign ONNX model).
        onnx_path: The foreign ONNX file (None otherwise).
        provenance: Source file digest, architecture, data summary.
    """

    kind: str
    labels: list[str]
    contract: InputContract
    output: OutputContract = field(default_factory=OutputContract)
    model: Any = None
    onnx_path: Path | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def arch(self) -> str:
        return str(self.provenance.get("arch", "onnx"))


def read_labels(path: str | os.PathLike[str]) -> list[str]:
    """One label per line (blank trailing lines ignored).

    Raises:
        DataError: The file is missing or holds no labels.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"labels file not found: {path}; give a text file with one class a line")
    labels = path.read_text(encoding="utf-8").rstrip("\n").splitlines()
    if not labels or not all(label.strip() for label in labels):
        raise DataError(f"labels file {path} is empty or has blank lines; one class name a line")
    return labels


def host_facts() -> dict[str, str]:
    """Where the export ran, for the manifest's provenance."""
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "edgevision": __version__,
    }


def from_checkpoint(path: str | os.PathLike[str]) -> ExportSource:
    """Load an edgevision checkpoint (labels, contract and data summary come with it)."""
    from edgevision.evaluation import checkpoint_file
    from edgevision.models import load_checkpoint

    checkpoint = load_checkpoint(checkpoint_file(path))
    provenance = {
        "source": "checkpoint",
        "source_file": str(Path(path).name),
        "source_sha256": sha256_file(path),
        "arch": checkpoint.arch,
        "epoch": checkpoint.epoch,
        "metrics": checkpoint.metrics,
        "training_data": checkpoint.data,
    }
    return ExportSource(
        kind="checkpoint",
        labels=list(checkpoint.labels),
        contract=checkpoint.contract,
        model=checkpoint.build_model(),
        provenance=provenance,
        data=checkpoint.data,
    )


def from_weights(
    arch: str, weights: str | os.PathLike[str], labels: list[str], contract: InputContract
) -> ExportSource:
    """An architecture with a weights file whose classifier already has ``len(labels)`` outputs."""
    from edgevision.models import build_model, classifier_name, load_weights_file
    from edgevision.models.registry import load_pretrained

    model = build_model(arch, len(labels))
    state = load_weights_file(weights)
    head = state.get(f"{classifier_name(model)}.weight")
    # A head of another size would be silently replaced by a fresh, untrained one.
    if head is not None and head.shape[0] != len(labels):
        raise DataError(_count_mismatch(len(labels), int(head.shape[0]), weights))
    load_pretrained(model, state, source=str(weights))
    model.eval()
    provenance = {
        "source": "weights",
        "source_file": Path(weights).name,
        "source_sha256": sha256_file(weights),
        "arch": arch,
        "training_data": {},
    }
    return ExportSource("weights", labels, contract, model=model, provenance=provenance)


def from_onnx(
    path: str | os.PathLike[str],
    labels: list[str],
    contract: InputContract,
    output: OutputContract,
) -> ExportSource:
    """A model trained and converted elsewhere; there is no PyTorch reference to compare with."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"ONNX file not found: {path}")
    classes = onnx_output_classes(path)
    if classes is not None and classes != len(labels):
        raise DataError(_count_mismatch(len(labels), classes, path))
    provenance = {
        "source": "onnx",
        "source_file": path.name,
        "source_sha256": sha256_file(path),
        "arch": "foreign ONNX",
        "training_data": {},
    }
    return ExportSource("onnx", labels, contract, output, onnx_path=path, provenance=provenance)


def _count_mismatch(labels: int, classes: int, model: str | os.PathLike[str]) -> str:
    return (
        f"labels file has {labels} lines but the model outputs {classes} classes ({model}); "
        "give the labels file that belongs to this model, one class a line in output order"
    )


def onnx_output_classes(path: str | os.PathLike[str]) -> int | None:
    """Size of the last axis of the model's first output, or None when it is not fixed.

    Only the graph is parsed (external weight files are not read).

    Raises:
        DataError: The file is truncated or not an ONNX model.
    """
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
    except Exception as err:  # protobuf DecodeError, ValidationError, OSError
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DataError(
            f"cannot read ONNX model {path}: file is truncated or not ONNX ({first[:200]})"
        ) from err
    if not model.graph.output:
        raise DataError(f"ONNX model {path} has no outputs")
    dims = model.graph.output[0].type.tensor_type.shape.dim
    if not dims or not dims[-1].HasField("dim_value"):
        return None
    return int(dims[-1].dim_value)


@dataclass
class ExportImages:
    """Real images for calibration (training side) and fidelity (validation side).

    Attributes:
        calibration: Training image files.
        validation: Validation image files.
        validation_labels: Class index of each validation image in the bundle's labels, or
            None when the validation images carry no (matching) labels.
        summary: Where the images came from, for the manifest.
    """

    calibration: list[Path]
    validation: list[Path]
    validation_labels: list[int] | None
    summary: dict[str, Any]


def _folder_or_files(path: Path) -> ImageFolder | list[Path]:
    try:
        return scan_image_folder(path)
    except DataError:
        files = list_images(path)
        if not files:
            raise DataError(f"{path} holds no images; give a folder of images") from None
        return files


def _label_map(classes: tuple[str, ...], labels: list[str]) -> dict[int, int] | None:
    """Folder class index → bundle label index, matching names (or a label's first synonym)."""
    index = {}
    for position, label in enumerate(labels):
        index.setdefault(label, position)
        index.setdefault(label.split(",")[0].strip(), position)
    if not all(name in index for name in classes):
        return None
    return {i: index[name] for i, name in enumerate(classes)}


def resolve_images(
    *,
    labels: list[str],
    data: str | os.PathLike[str] | None = None,
    calibration: str | os.PathLike[str] | None = None,
    validation: str | os.PathLike[str] | None = None,
) -> ExportImages:
    """Find calibration and validation images.

    ``data`` is a folder with ``train/`` and ``val/`` (or a single class-per-folder set that is
    split 80/20 with seed 0); ``calibration`` and ``validation`` override each side.

    Raises:
        DataError: No validation images could be found.
    """
    train_side: ImageFolder | list[Path] | None = None
    val_side: ImageFolder | list[Path] | None = None
    if data is not None:
        root = Path(data)
        if (root / "train").is_dir() and (root / "val").is_dir():
            train_side, val_side = (
                scan_image_folder(root / "train"),
                scan_image_folder(root / "val"),
            )
        elif root.is_dir():
            train_side, val_side = split_image_folder(scan_image_folder(root), seed=0)
        else:
            raise DataError(f"data folder not found: {root}")
    if calibration is not None:
        train_side = _folder_or_files(Path(calibration))
    if validation is not None:
        val_side = _folder_or_files(Path(validation))
    if val_side is None:
        raise DataError(
            "export needs real validation images for its fidelity check; pass --data DIR "
            "(with train/ and val/) or --val-data DIR"
        )
    return _images(train_side, val_side, labels)


def _paths(side: ImageFolder | list[Path] | None) -> list[Path]:
    if side is None:
        return []
    return [s.path for s in side.samples] if isinstance(side, ImageFolder) else list(side)


def _images(train_side, val_side, labels: list[str]) -> ExportImages:
    val_labels = None
    if isinstance(val_side, ImageFolder):
        mapping = _label_map(val_side.classes, labels)
        if mapping is None:
            logger.warning("validation class folders do not match the labels: no accuracy check")
        else:
            val_labels = [mapping[s.label] for s in val_side.samples]
    summary = {
        "calibration_root": str(getattr(train_side, "root", "files")) if train_side else None,
        "validation_root": str(getattr(val_side, "root", "files")),
        "validation_images": len(_paths(val_side)),
        "validation_labelled": val_labels is not None,
    }
    return ExportImages(_paths(train_side), _paths(val_side), val_labels, summary)
