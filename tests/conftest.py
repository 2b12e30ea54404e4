"""Shared fixtures: the real test data beside the repository, and bundles built once per session.

Fixtures that need torch live in ``_fixtures_train.py`` and ``_fixtures_export.py`` and are
re-exported here; they skip cleanly when the train extra is not installed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from edgevision.bundle import Manifest, Variant, sha256_file, write_manifest
from edgevision.contract import InputContract, OutputContract

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EDGEVISION_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only folder of real photos, videos and weights (see its README)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"test data not found at {SHARED_DATA}; set EDGEVISION_SHARED_DATA")
    return SHARED_DATA


def make_foreign_mobilenet_bundle(shared: Path, target: Path) -> Path:
    """A torch-free bundle around the quantized TF Lite MobileNet V2 converted to ONNX.

    Input: uint8 NHWC RGB 224x224, direct resize; output: uint8 softmax over 1001 classes
    (index 0 = background), scale 1/256. Its expected top-1 on imagenet_samples is listed in the
    data's PROVENANCE.md.
    """
    target.mkdir(parents=True, exist_ok=True)
    model = target / "model.onnx"
    shutil.copyfile(shared / "weights" / "mobilenet_v2_1.0_224_quant.onnx", model)
    labels = (shared / "weights" / "imagenet_labels.txt").read_text().splitlines()
    manifest = Manifest(
        labels=labels,
        input=InputContract(
            resize="direct",
            interpolation="area",
            layout="nhwc",
            dtype="uint8",
            normalize_in_graph=True,
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
        ),
        output=OutputContract(kind="probabilities", scale=1 / 256),
        variants=[
            Variant(
                name="onnx-int8",
                format="onnx",
                precision="int8",
                file="model.onnx",
                sha256={"model.onnx": sha256_file(model)},
                batch={"min": 1, "max": 1},
            )
        ],
        provenance={"source": "mobilenet_v2_1.0_224_quant.onnx (test fixture)"},
    )
    write_manifest(target, manifest)
    return target


@pytest.fixture(scope="session")
def foreign_bundle(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ready bundle that needs no torch: ImageNet MobileNet V2 (quantized), 1001 labels."""
    return make_foreign_mobilenet_bundle(shared_data, tmp_path_factory.mktemp("foreign") / "bundle")


# Torch-backed session fixtures (hymenoptera_checkpoint, hymenoptera_bundle, imagenet_bundle...);
# each skips its tests when the train extra is not installed.
from _fixtures_export import *  # noqa: E402, F403
from _fixtures_train import *  # noqa: E402, F403
