"""Session fixtures that export real bundles once (needs torch; see conftest.py).

``hymenoptera_bundle`` exports the fine-tuned hymenoptera MobileNetV2 (``hymenoptera_checkpoint``)
to ONNX FP32; ``imagenet_bundle`` exports the unchanged ImageNet MobileNetV2 weights as a
1000-class ONNX FP32 bundle, its fidelity checked on the hymenoptera val photos and the
ImageNet samples (unlabelled for its 1000 classes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

FIDELITY_IMAGES = 60  # enough for the 99 % agreement gate to mean something, quick on 2 cores


def export_for_tests(
    source, out: Path, profiles: list[str], images, *, force: bool = False, **overrides
) -> Path:
    """Run the export pipeline with shipped profiles and test-sized overrides.

    Overrides use the profile field names, dotted for tables (``thresholds.min_agreement``).
    """
    from edgevision.export import apply_overrides, export_bundle, load_profile

    chosen = [apply_overrides(load_profile(p), overrides) for p in profiles]
    return export_bundle(source, out, chosen, images, force=force).path


@pytest.fixture(scope="session")
def hymenoptera_bundle(hymenoptera_checkpoint, shared_data: Path, tmp_path_factory) -> Path:
    """ONNX FP32 bundle of the hymenoptera MobileNetV2, parity checked on all 153 val photos."""
    pytest.importorskip("torch")
    from edgevision.export import from_checkpoint, resolve_images

    source = from_checkpoint(hymenoptera_checkpoint)
    images = resolve_images(labels=source.labels, data=shared_data / "hymenoptera")
    out = tmp_path_factory.mktemp("export_hymenoptera") / "bundle"
    return export_for_tests(source, out, ["ort-x86-fp32"], images, batch_max=4)


@pytest.fixture(scope="session")
def imagenet_bundle(shared_data: Path, tmp_path_factory) -> Path:
    """The ImageNet MobileNetV2 (1000 ILSVRC classes, mean = std = 0.5, 256 → 224 crop)."""
    pytest.importorskip("torch")
    from edgevision.contract import InputContract
    from edgevision.export import from_weights, resolve_images
    from edgevision.export.sources import read_labels

    weights = shared_data / "weights"
    labels = read_labels(weights / "classification_classes_ILSVRC2012.txt")
    contract = InputContract(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    source = from_weights(
        "torchvision:mobilenet_v2",
        weights / "mobilenet_v2_imagenet_from_tflite_bn.safetensors",
        labels,
        contract,
    )
    images = resolve_images(labels=labels, validation=shared_data / "hymenoptera" / "val")
    out = tmp_path_factory.mktemp("export_imagenet") / "bundle"
    return export_for_tests(
        source, out, ["ort-x86-fp32"], images, batch_max=4, fidelity_images=FIDELITY_IMAGES
    )
