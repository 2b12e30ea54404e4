"""OpenVINO backend: IR (or ONNX) variants on CPU, GPU, NPU or AUTO.

The precision reported is the compiled model's ``INFERENCE_PRECISION_HINT``: on CPUs with AMX
or AVX512-BF16 OpenVINO runs an FP32 IR in bf16 unless told ``inference_precision="f32"``, and
a result must say which one ran.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from edgevision.bundle import Bundle, Variant
from edgevision.errors import BackendUnavailableError, BundleError, missing_extra
from edgevision.runtime.base import Runtime, RuntimeOptions, backend_message, rejected_input

logger = logging.getLogger(__name__)

_PRECISION_NAMES = {"f32": "fp32", "f16": "fp16", "bf16": "bf16", "i8": "int8", "u8": "int8"}


def _import_openvino():
    try:
        import openvino
    except ImportError as err:
        raise missing_extra("openvino", "openvino") from err
    return openvino


def compile_config(options: RuntimeOptions) -> dict[str, Any]:
    """The OpenVINO compile properties edgevision derives from runtime options."""
    config: dict[str, Any] = {"PERFORMANCE_HINT": options.hint.upper()}
    if options.threads:
        config["INFERENCE_NUM_THREADS"] = options.threads
    if options.streams:
        config["NUM_STREAMS"] = options.streams
    if options.inference_precision:
        # OpenVINO names element types f32/f16/bf16; accept edgevision's fp32/fp16 too.
        asked = options.inference_precision.lower()
        config["INFERENCE_PRECISION_HINT"] = {"fp32": "f32", "fp16": "f16"}.get(asked, asked)
    config.update(options.extra)
    return config


class OpenVINOBackend(Runtime):
    """Compiles an IR or ONNX variant with OpenVINO and runs it synchronously or asynchronously."""

    backend = "openvino"

    def __init__(self, bundle: Bundle, variant: Variant, options: RuntimeOptions) -> None:
        super().__init__(bundle, variant, options)
        ov = _import_openvino()
        if variant.format not in ("openvino", "onnx"):
            raise BundleError(
                f"OpenVINO runs IR or ONNX variants; {variant.name!r} is {variant.format}"
            )
        core = ov.Core()
        device = options.device.upper()
        known = core.available_devices
        if device != "AUTO" and not any(d.split(".")[0] == device for d in known):
            raise BackendUnavailableError(
                f"OpenVINO device {device} is not present here (available: {', '.join(known)})"
            )

        start = time.perf_counter()
        try:
            model = core.read_model(str(bundle.file(variant)))
            self.compiled = core.compile_model(model, device, compile_config(options))
        except RuntimeError as err:
            raise BundleError(
                f"OpenVINO cannot load {bundle.file(variant)}: {backend_message(err)}"
            ) from err
        self.load_time_ms = (time.perf_counter() - start) * 1000.0

        self._tensor = ov.Tensor
        self.request = self.compiled.create_infer_request()
        element = self.compiled.input(0).get_element_type().get_type_name()
        self.input_dtype = np.dtype({"u8": "uint8", "f16": "float16"}.get(element, "float32"))
        self.check_input_dtype(self.input_dtype.name)
        # The caller's array the sync request reads from (None after a dtype conversion), and
        # the array actually bound, kept referenced so its memory outlives the binding.
        self._bound_input: np.ndarray | None = None
        self._bound_array: np.ndarray | None = None
        self.device_used = self._granted_device(device)
        self.precision_used = self._granted_precision()
        self._refuse_other_precision(options.inference_precision)
        try:
            self.threads_used = int(self.compiled.get_property("INFERENCE_NUM_THREADS"))
        except RuntimeError:  # not every device plugin has the property
            self.threads_used = options.threads
        if options.threads and self.threads_used and self.threads_used != options.threads:
            logger.warning(
                "OpenVINO runs %s with %d threads, not the %d asked for",
                variant.name, self.threads_used, options.threads,
            )  # fmt: skip
        self._idle_requests: list[Any] = []  # finished async requests, reused by submit()

    def _refuse_other_precision(self, asked: str | None) -> None:
        """OpenVINO quietly compiles at f32 when the CPU lacks the asked bf16/f16 support; a
        result labelled with the asked precision would then be wrong, so refuse instead."""
        if not asked or self.variant.precision == "int8":
            return
        wanted = _PRECISION_NAMES.get(asked.lower(), asked.lower())
        if wanted != self.precision_used:
            raise BackendUnavailableError(
                f"OpenVINO on {self.device_used} cannot execute {asked} here (it compiled "
                f"{self.variant.name} at {self.precision_used}); drop --inference-precision "
                "or ask for what this device supports"
            )

    def _granted_device(self, device: str) -> str:
        if device != "AUTO":
            return device
        try:
            return ",".join(self.compiled.get_property("EXECUTION_DEVICES"))
        except RuntimeError:
            return device

    def _granted_precision(self) -> str:
        try:
            hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        except RuntimeError:
            return self.variant.precision
        # The property is an ov.Type, whose str() is "<Type: 'float32'>"; its name is "f32".
        hint = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)
        executed = _PRECISION_NAMES.get(hint.lower(), hint.lower())
        # An INT8 IR keeps its int8 convolutions whatever the float hint says for other layers.
        return "int8" if self.variant.precision == "int8" else executed

    def infer(self, batch: np.ndarray) -> np.ndarray:
        # The request reads the caller's array in place (no copy in). Binding it is skipped when
        # the same array comes back, as in a benchmark loop, where the Python-side binding would
        # otherwise be timed on every call.
        try:
            if batch is not self._bound_input or batch.shape != self._bound_array.shape:
                self._bind_input(batch)
            self.request.infer()
        except RuntimeError as err:
            self._bound_input = self._bound_array = None
            raise rejected_input(self.variant, batch, err) from err
        return self.request.get_output_tensor(0).data.copy()

    def _bind_input(self, batch: np.ndarray) -> None:
        bound = batch
        if bound.dtype != self.input_dtype:
            bound = bound.astype(self.input_dtype)
        bound = np.ascontiguousarray(bound)
        self.request.set_input_tensor(self._tensor(bound, shared_memory=True))
        # Remember the caller's array: a converted copy is made again on the next call, since
        # the caller may have changed the original in between.
        self._bound_input = batch if bound is batch else None
        self._bound_array = bound

    def optimal_requests(self) -> int:
        """How many parallel requests the compiled model asks for (its throughput hint)."""
        return int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))

    def submit(self, batch: np.ndarray) -> Any:
        # Creating an infer request allocates its tensors; reuse finished ones instead.
        request = self._idle_requests.pop() if self._idle_requests else None
        if request is None:
            request = self.compiled.create_infer_request()
        try:
            request.start_async([batch], share_inputs=False)
        except RuntimeError as err:
            raise rejected_input(self.variant, batch, err) from err
        return request

    def collect(self, handle: Any) -> np.ndarray:
        handle.wait()
        output = np.asarray(handle.get_output_tensor(0).data).copy()
        self._idle_requests.append(handle)
        return output
