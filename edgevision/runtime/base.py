"""The interface every runtime backend implements, and the shared request/handle types.

One backend per file (``onnxruntime_backend.py``, ``openvino_backend.py``,
``tensorrt_backend.py``); :func:`edgevision.runtime.open_runtime` picks one. Backends never
fall back silently: asking for a device or precision they cannot grant raises
:class:`~edgevision.errors.BackendUnavailableError`, and ``device_used`` / ``precision_used``
report what the backend actually granted.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgevision.bundle import Bundle, Variant
from edgevision.contract import InputContract
from edgevision.errors import BundleError


@dataclass
class RuntimeOptions:
    """What the caller asks of a backend.

    Attributes:
        device: Backend device name (``"cpu"``, ``"cuda"``, ``"gpu"``, ``"npu"``, ``"auto"``...).
        threads: Intra-op threads; None lets the backend choose.
        streams: Parallel inference streams/requests for throughput; None lets it choose.
        hint: Performance hint where the backend has one (``"latency"`` / ``"throughput"``).
        inference_precision: Execution precision to force where the backend can (OpenVINO's
            ``INFERENCE_PRECISION_HINT``, e.g. ``"f32"`` for true FP32 on a bf16-capable CPU).
        spin_wait: Let the backend's worker threads busy-wait between runs (lowest latency
            when inference is all the process does); False leaves the cores to other threads.
        extra: Backend-specific options passed through unchanged.
    """

    device: str = "cpu"
    threads: int | None = None
    streams: int | None = None
    hint: str = "latency"
    inference_precision: str | None = None
    spin_wait: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def backend_message(err: BaseException) -> str:
    """A backend exception's text on one line, without the source-location lines that
    OpenVINO puts before the message ("Exception from src/...", "Check '...' failed at ...")."""
    lines = [line.strip() for line in str(err).splitlines()]
    kept = [
        line for line in lines
        if line and not line.startswith("Exception from ") and not line.startswith("Check '")
    ]  # fmt: skip
    return " ".join(kept or [line for line in lines if line][:1]) or type(err).__name__


class InputRejectedError(BundleError):
    """The model refused an input at run time (a shape or type it cannot take); the backend's
    own exception is the ``__cause__``."""


def rejected_input(variant: Variant, batch: np.ndarray, err: BaseException) -> InputRejectedError:
    """The error for an input the model refused at run time (shape or type it cannot take)."""
    return InputRejectedError(
        f"variant {variant.name} cannot run an input of shape {tuple(batch.shape)} "
        f"({batch.dtype}): {backend_message(err)}; check the manifest's batch and input contract"
    )


class Runtime(abc.ABC):
    """A loaded model ready to run batches of preprocessed inputs.

    Attributes:
        backend: Backend name, e.g. ``"onnxruntime"``.
        bundle: The bundle the model came from.
        variant: The variant loaded.
        device_used: Device the backend actually runs on (as the backend names it).
        precision_used: Precision the backend actually executes.
        load_time_ms: Time to load/compile the model.
    """

    backend: str = ""

    def __init__(self, bundle: Bundle, variant: Variant, options: RuntimeOptions) -> None:
        self.bundle = bundle
        self.variant = variant
        self.options = options
        self.device_used = options.device
        self.precision_used = variant.precision
        self.load_time_ms = 0.0
        self.threads_used: int | None = options.threads  # backends that can read it back do
        self.first_inference_ms: float | None = None  # set by the start-up self-test

    @property
    def contract(self) -> InputContract:
        return self.bundle.contract

    @abc.abstractmethod
    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Run one batch (N first, in the contract's layout and dtype) and return (N, classes)."""

    def submit(self, batch: np.ndarray) -> Any:
        """Start an inference and return a handle for :meth:`collect`.

        The default runs synchronously; backends with a native async API override both.
        """
        return self.infer(batch)

    def collect(self, handle: Any) -> np.ndarray:
        """Wait for a submitted inference and return its output."""
        return handle

    def describe(self) -> dict[str, Any]:
        """Facts about what is running, for results and logs."""
        return {
            "backend": self.backend,
            "variant": self.variant.name,
            "format": self.variant.format,
            "precision_requested": self.variant.precision,
            "precision_used": self.precision_used,
            "device_requested": self.options.device,
            "device_used": self.device_used,
            "threads": self.options.threads,
            "threads_used": self.threads_used,
            "streams": self.options.streams,
            "load_time_ms": round(self.load_time_ms, 3),
        }

    def check_input_dtype(self, model_dtype: str) -> None:
        """Refuse a contract whose dtype family (integer pixels vs floats) differs from the
        model's input; float16 ↔ float32 is converted at ``infer`` instead.

        Args:
            model_dtype: The model input's element type as a NumPy dtype name.
        """
        wanted = self.contract.dtype
        if (wanted == "uint8") != (model_dtype == "uint8"):
            raise BundleError(
                f"variant {self.variant.name} takes {model_dtype} input but the manifest's "
                f"input contract says {wanted}; fix 'dtype' in manifest.json or re-export"
            )

    def close(self) -> None:
        """Release the model; the default drops nothing and returns."""
        return None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
