"""TensorRT glue: the pure-python parts run everywhere; building needs TensorRT and a GPU."""

from __future__ import annotations

import importlib.util

import pytest

from edgevision.errors import BackendUnavailableError
from edgevision.export.tensorrt import (
    EngineKey,
    build_mode,
    cached_engine,
    shapes_for,
    trtexec_command,
)

NO_TENSORRT = "TensorRT cannot be installed on this machine (see notes/dependencies.md)"


def _key(**changes) -> EngineKey:
    values = dict(
        tensorrt_version="10.13.0",
        gpu_name="Orin",
        compute_capability="8.7",
        precision="fp16",
        input_name="input",
        min_shape=(1, 3, 224, 224),
        opt_shape=(1, 3, 224, 224),
        max_shape=(8, 3, 224, 224),
        onnx_sha256="ab" * 32,
    )
    values.update(changes)
    return EngineKey(**values)


def test_cache_key_changes_with_everything_an_engine_depends_on():
    base = _key()
    assert base.digest() == _key().digest()
    for change in (
        {"tensorrt_version": "10.14.0"},
        {"gpu_name": "RTX 4090"},
        {"compute_capability": "8.9"},
        {"precision": "int8"},
        {"max_shape": (16, 3, 224, 224)},
        {"onnx_sha256": "cd" * 32},
    ):
        assert _key(**change).digest() != base.digest(), change
    assert base.file_name().startswith("model-fp16-") and base.file_name().endswith(".engine")


def test_version_dispatch_strongly_typed_on_11_flags_on_10():
    assert build_mode("11.0.1", "int8") == {"strongly_typed": True, "flags": []}
    assert build_mode("10.13.0.35", "fp16") == {"strongly_typed": False, "flags": ["FP16"]}
    assert build_mode("10.3", "int8")["flags"] == ["INT8", "FP16"]
    with pytest.raises(BackendUnavailableError, match="too old"):
        build_mode("8.6.1", "fp16")


def test_trtexec_command_line():
    line = trtexec_command("model-fp16.onnx", _key(), engine_file="model.engine")
    assert line.split() == [
        "trtexec",
        "--onnx=model-fp16.onnx",
        "--saveEngine=model.engine",
        "--minShapes=input:1x3x224x224",
        "--optShapes=input:1x3x224x224",
        "--maxShapes=input:8x3x224x224",
        "--timingCacheFile=timing.cache",
        "--fp16",
    ]
    strongly = trtexec_command("m.onnx", _key(tensorrt_version="11.0"), engine_file="e")
    assert "--stronglyTyped" in strongly and "--fp16" not in strongly
    assert shapes_for((1, 3, 96, 128), 1, 4) == ((1, 3, 96, 128), (1, 3, 96, 128), (4, 3, 96, 128))


def test_mismatched_engine_is_refused_when_rebuild_is_off(tmp_path):
    stale = _key(gpu_name="another GPU")
    (tmp_path / stale.file_name()).write_bytes(b"engine for another GPU")
    with pytest.raises(BackendUnavailableError, match="no TensorRT engine .* matches"):
        cached_engine(tmp_path / "model.onnx", _key(), tmp_path, rebuild=False)
    (tmp_path / _key().file_name()).write_bytes(b"matching")
    assert cached_engine(tmp_path / "model.onnx", _key(), tmp_path, rebuild=False).name == (
        _key().file_name()
    )


@pytest.mark.tensorrt
@pytest.mark.cuda
@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None, reason=NO_TENSORRT)
def test_tensorrt_engine_matches_onnx(hymenoptera_bundle):
    import numpy as np
    import tensorrt as trt

    from edgevision.runtime import RuntimeOptions, open_runtime

    batch = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
    onnx_out = open_runtime(hymenoptera_bundle, backend="onnxruntime").infer(batch)
    with open_runtime(
        hymenoptera_bundle, backend="tensorrt", options=RuntimeOptions(device="cuda")
    ) as runtime:
        assert runtime.describe()["backend"] == "tensorrt", trt.__version__
        assert (runtime.infer(batch).argmax(1) == onnx_out.argmax(1)).all()
