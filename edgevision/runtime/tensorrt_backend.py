"""TensorRT backend: builds (or reuses) an engine from the variant's ONNX on this GPU and runs it.

Engines are cached outside the bundle (the bundle stays byte-identical to what export checked),
keyed by TensorRT version, GPU name, compute capability, precision, shapes and ONNX sha256; see
:mod:`edgevision.export.tensorrt`. Device memory is handled with ``cuda-python``; no torch.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from edgevision.bundle import Bundle, Variant, sha256_file
from edgevision.errors import BackendUnavailableError, BundleError, missing_extra
from edgevision.export.tensorrt import EngineKey, cached_engine, shapes_for
from edgevision.runtime.base import Runtime, RuntimeOptions

CACHE_DIR = Path(os.environ.get("EDGEVISION_ENGINE_CACHE", Path.home() / ".cache" / "edgevision"))


def _cuda():
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError as err:
            raise missing_extra("cuda-python", "tensorrt") from err
    return cudart


def _check(result):
    """cuda-python returns (error, value...); raise on error, return the values."""
    error, *values = result
    if int(error) != 0:
        raise BackendUnavailableError(f"CUDA call failed with error {int(error)}")
    return values[0] if len(values) == 1 else values


def engine_key(bundle: Bundle, variant: Variant, trt_version: str) -> EngineKey:
    """The cache key of this variant's engine on the current GPU."""
    cudart = _cuda()
    props = _check(cudart.cudaGetDeviceProperties(0))
    shapes = shapes_for(bundle.contract.tensor_shape(1), variant.batch["min"], variant.batch["max"])
    return EngineKey(
        tensorrt_version=trt_version,
        gpu_name=props.name.decode(errors="replace").strip("\x00"),
        compute_capability=f"{props.major}.{props.minor}",
        precision=variant.precision,
        input_name="input",
        min_shape=shapes[0],
        opt_shape=shapes[1],
        max_shape=shapes[2],
        onnx_sha256=sha256_file(bundle.file(variant)),
    )


class TensorRTBackend(Runtime):
    """Runs a ``tensorrt`` variant (or an ONNX one) through a cached TensorRT engine."""

    backend = "tensorrt"

    def __init__(self, bundle: Bundle, variant: Variant, options: RuntimeOptions) -> None:
        super().__init__(bundle, variant, options)
        try:
            import tensorrt as trt
        except ImportError as err:
            raise missing_extra("tensorrt", "tensorrt") from err
        if variant.format not in ("tensorrt", "onnx"):
            raise BundleError(f"TensorRT builds from ONNX; {variant.name!r} is {variant.format}")
        if options.device not in ("cuda", "gpu"):
            raise BackendUnavailableError(f"TensorRT runs on cuda, not {options.device!r}")
        self.cudart = _cuda()
        start = time.perf_counter()
        key = engine_key(bundle, variant, trt.__version__)
        rebuild = bool(options.extra.get("rebuild_engine", True))
        engine_path = cached_engine(bundle.file(variant), key, CACHE_DIR, rebuild=rebuild)
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self.engine is None:
            raise BundleError(f"TensorRT cannot load {engine_path}; delete it to rebuild")
        self.context = self.engine.create_execution_context()
        self.stream = _check(self.cudart.cudaStreamCreate())
        self.input_name = self.engine.get_tensor_name(0)
        self.output_name = self.engine.get_tensor_name(1)
        self.load_time_ms = (time.perf_counter() - start) * 1000.0
        self.device_used = "cuda:0"

    def infer(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        self.context.set_input_shape(self.input_name, batch.shape)
        out_shape = tuple(self.context.get_tensor_shape(self.output_name))
        output = np.empty(out_shape, dtype=np.float32)
        cudart = self.cudart
        d_in = _check(cudart.cudaMallocAsync(batch.nbytes, self.stream))
        d_out = _check(cudart.cudaMallocAsync(output.nbytes, self.stream))
        try:
            # Host → device copy of (N, 3, h, w) float32, run, device → host copy, then one sync.
            kind_h2d = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
            kind_d2h = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
            _check(
                cudart.cudaMemcpyAsync(d_in, batch.ctypes.data, batch.nbytes, kind_h2d, self.stream)
            )
            self.context.set_tensor_address(self.input_name, int(d_in))
            self.context.set_tensor_address(self.output_name, int(d_out))
            if not self.context.execute_async_v3(self.stream):
                raise BackendUnavailableError("TensorRT execution failed (see its log)")
            _check(
                cudart.cudaMemcpyAsync(
                    output.ctypes.data, d_out, output.nbytes, kind_d2h, self.stream
                )
            )
            _check(cudart.cudaStreamSynchronize(self.stream))
        finally:
            cudart.cudaFreeAsync(d_in, self.stream)
            cudart.cudaFreeAsync(d_out, self.stream)
        return output

    def close(self) -> None:
        self.cudart.cudaStreamDestroy(self.stream)
