"""ONNX Runtime backend: CPU, CUDA and TensorRT execution providers."""

from __future__ import annotations

import logging
import time

import numpy as np

from edgevision.bundle import Bundle, Variant
from edgevision.errors import BackendUnavailableError, BundleError, missing_extra
from edgevision.runtime.base import Runtime, RuntimeOptions, backend_message, rejected_input

logger = logging.getLogger(__name__)

_PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}
_ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(uint8)": np.uint8,
}


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as err:
        raise missing_extra("onnxruntime", "onnxruntime") from err
    return onnxruntime


def session_options(threads: int | None, *, spinning: bool = True):
    """ORT session options as edgevision uses them everywhere (bench, live, fidelity).

    Only ORT_ENABLE_ALL reaches full speed on CNNs; lower levels ran 1.7-3x slower here.
    ``spinning=False`` stops ORT's worker threads from busy-waiting between runs, which frees
    the cores for other threads of the same process (the live loop's decoder and renderer).
    """
    ort = _import_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class ONNXRuntimeBackend(Runtime):
    """Runs an ONNX variant with ONNX Runtime on the requested execution provider."""

    backend = "onnxruntime"

    def __init__(self, bundle: Bundle, variant: Variant, options: RuntimeOptions) -> None:
        super().__init__(bundle, variant, options)
        ort = _import_onnxruntime()
        if variant.format != "onnx":
            raise BundleError(
                f"ONNX Runtime runs ONNX variants; {variant.name!r} is {variant.format}"
            )
        provider = _PROVIDERS.get(options.device)
        if provider is None:
            raise BackendUnavailableError(
                f"onnxruntime has no device {options.device!r}; choose one of {sorted(_PROVIDERS)}"
            )
        available = ort.get_available_providers()
        if provider not in available:
            raise BackendUnavailableError(
                f"onnxruntime here has no {provider} (available: {', '.join(available)}); "
                "install the matching onnxruntime build or pick another device"
            )

        start = time.perf_counter()
        try:
            self.session = ort.InferenceSession(
                str(bundle.file(variant)),
                sess_options=session_options(options.threads, spinning=options.spin_wait),
                providers=[provider],
            )
        except Exception as err:  # ORT raises its own exception types for bad files
            raise BundleError(
                f"onnxruntime cannot load {bundle.file(variant)}: {backend_message(err)}"
            ) from err
        self.load_time_ms = (time.perf_counter() - start) * 1000.0

        granted = self.session.get_providers()
        if granted[0] != provider:
            raise BackendUnavailableError(f"onnxruntime granted {granted[0]}, not {provider}")
        self.device_used = options.device
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_dtype = _ONNX_DTYPES.get(model_input.type, np.float32)
        self.check_input_dtype(np.dtype(self.input_dtype).name)
        self.output_name = self.session.get_outputs()[0].name

    def infer(self, batch: np.ndarray) -> np.ndarray:
        if batch.dtype != self.input_dtype:
            batch = batch.astype(self.input_dtype)
        try:
            return self.session.run([self.output_name], {self.input_name: batch})[0]
        except Exception as err:  # ORT's own exception types (InvalidArgument, Fail...)
            if type(err).__module__.startswith("onnxruntime"):
                raise rejected_input(self.variant, batch, err) from err
            raise
