"""Helpers for the bench and report tests (no tests here): tiny bundles made without torch.

The model is built with the ``onnx`` helper API: Conv(3→8, 3x3) → ReLU → global average pool →
flatten → Gemm(8→4), float32 NCHW 32x32, dynamic batch, fixed-seed weights. With OpenVINO
installed the same graph is converted to an FP32 IR (weights not compressed) as a second variant.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from edgevision.bundle import Manifest, Variant, sha256_file, write_manifest
from edgevision.contract import InputContract
from edgevision.runtime.base import Runtime

LABELS = ["ant", "bee", "cup", "tree"]


def _tiny_onnx(path: Path) -> None:
    onnx = pytest.importorskip("onnx", reason="building a test model needs onnx (train extra)")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "conv_b"),
        numpy_helper.from_array(rng.normal(0, 0.5, (4, 8)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(np.zeros(4, np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv_w", "conv_b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 4])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def make_tiny_bundle(target: Path, *, with_ir: bool = False) -> Path:
    """A bundle holding ``onnx-fp32`` and, with ``with_ir``, ``ov-fp32`` (OpenVINO IR)."""
    target.mkdir(parents=True, exist_ok=True)
    _tiny_onnx(target / "model.onnx")
    batch = {"min": 1, "max": 8}
    variants = [
        Variant("onnx-fp32", "onnx", "fp32", "model.onnx",
                {"model.onnx": sha256_file(target / "model.onnx")}, batch),
    ]  # fmt: skip
    if with_ir:
        import openvino as ov

        ov.save_model(
            ov.Core().read_model(str(target / "model.onnx")), target / "model.xml",
            compress_to_fp16=False,
        )  # fmt: skip
        digests = {name: sha256_file(target / name) for name in ("model.xml", "model.bin")}
        variants.append(Variant("ov-fp32", "openvino", "fp32", "model.xml", digests, batch))
    contract = InputContract(input_hw=(32, 32), resize="direct")
    write_manifest(target, Manifest(labels=LABELS, input=contract, variants=variants))
    return target


class DelayedRuntime(Runtime):
    """Wraps a runtime and sleeps ``delay_s`` before every ``every``-th inference (1st, ...)."""

    def __init__(self, inner: Runtime, *, delay_s: float, every: int = 1) -> None:
        super().__init__(inner.bundle, inner.variant, inner.options)
        self.inner = inner
        self.backend = inner.backend
        self.delay_s = delay_s
        self.every = every
        self.calls = 0

    def infer(self, batch: np.ndarray) -> np.ndarray:
        if self.calls % self.every == 0:
            time.sleep(self.delay_s)
        self.calls += 1
        return self.inner.infer(batch)
