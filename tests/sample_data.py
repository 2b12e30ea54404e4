"""Builders over the shared test data that both the tests and ``benchmarks/`` use (no pytest,
no torch): the ready ImageNet MobileNet V2 bundle and a whole-video decoder."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from edgevision.bundle import Manifest, Variant, sha256_file, write_manifest
from edgevision.contract import InputContract, OutputContract


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
        provenance={"source": "mobilenet_v2_1.0_224_quant.onnx (shared test data)"},
    )
    write_manifest(target, manifest)
    return target


def decode_all(video: Path) -> list[np.ndarray]:
    """Every frame OpenCV decodes from a file, reading until read() fails."""
    capture = cv2.VideoCapture(str(video))
    frames = []
    ok, frame = capture.read()
    while ok:
        frames.append(frame)
        ok, frame = capture.read()
    capture.release()
    return frames
