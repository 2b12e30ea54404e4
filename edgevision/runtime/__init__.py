"""Runtime backends behind one interface; importing this package never imports torch."""

from __future__ import annotations

import importlib
import os
import time

import numpy as np

from edgevision.bundle import Bundle, Variant, load_bundle
from edgevision.errors import BackendUnavailableError, BundleError, EdgevisionError
from edgevision.runtime.base import (
    InputRejectedError,
    Runtime,
    RuntimeOptions,
    backend_message,
)

__all__ = [
    "BACKENDS",
    "Runtime",
    "RuntimeOptions",
    "check_contract",
    "default_backend",
    "open_runtime",
]

# backend name → (module, class); modules are imported only when that backend is asked for.
BACKENDS = {
    "onnxruntime": ("edgevision.runtime.onnxruntime_backend", "ONNXRuntimeBackend"),
    "openvino": ("edgevision.runtime.openvino_backend", "OpenVINOBackend"),
    "tensorrt": ("edgevision.runtime.tensorrt_backend", "TensorRTBackend"),
}

# The formats each backend can load; the first listed is preferred.
BACKEND_FORMATS = {
    "onnxruntime": ("onnx",),
    "openvino": ("openvino", "onnx"),
    "tensorrt": ("tensorrt", "onnx"),
}


def default_backend(variant: Variant) -> str:
    """The backend that runs a variant's format natively."""
    return {"onnx": "onnxruntime", "openvino": "openvino", "tensorrt": "tensorrt"}[variant.format]


def _pick_variant(bundle: Bundle, backend: str | None, precision: str | None) -> Variant:
    if backend is None:
        return bundle.variant(precision=precision)
    for fmt in BACKEND_FORMATS[backend]:
        for variant in bundle.manifest.variants:
            if variant.format == fmt and precision in (None, variant.precision):
                return variant
    return bundle.variant(format=BACKEND_FORMATS[backend][0], precision=precision)


def open_runtime(
    bundle: Bundle | str | os.PathLike[str],
    *,
    backend: str | None = None,
    variant: str | None = None,
    precision: str | None = None,
    options: RuntimeOptions | None = None,
    self_test: bool = True,
) -> Runtime:
    """Load one variant of a bundle on one backend.

    Args:
        bundle: A loaded bundle or its folder.
        backend: ``"onnxruntime"``, ``"openvino"`` or ``"tensorrt"``; None picks the backend
            native to the chosen variant.
        variant: Variant name; None picks the first matching ``backend`` and ``precision``.
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"`` to choose among variants.
        options: Device, threads, streams and hints.
        self_test: Run one input of the contract's shape and dtype through the model and check
            the output has one score per label (see :func:`self_test`).

    Raises:
        BackendUnavailableError: The backend is unknown or not installed, or cannot run on the
            requested device.
        BundleError: No variant matches.
    """
    if not isinstance(bundle, Bundle):
        bundle = load_bundle(bundle)
    if backend is not None and backend not in BACKENDS:
        raise BackendUnavailableError(
            f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}"
        )
    chosen = bundle.variant(variant) if variant else _pick_variant(bundle, backend, precision)
    backend = backend or default_backend(chosen)
    module_name, class_name = BACKENDS[backend]
    backend_class = getattr(importlib.import_module(module_name), class_name)
    runtime = backend_class(bundle, chosen, options or RuntimeOptions())
    if self_test:
        check_contract(runtime)
    return runtime


def check_contract(runtime: Runtime) -> None:
    """Refuse a bundle whose model does not accept its own input contract or labels.

    Runs one all-zero input of the contract's shape, layout and dtype (the model's first
    inference, timed into ``runtime.first_inference_ms``) and checks the output is one row of
    ``len(labels)`` scores. Catches manifests edited or assembled by hand: a wrong input size,
    layout or dtype, or a labels list of the wrong length, which would otherwise give silently
    wrong answers or fail on the first camera frame.

    Raises:
        BundleError: The model rejects the input or its output does not match the labels.
    """
    contract = runtime.contract
    shape = contract.tensor_shape(runtime.variant.batch.get("min", 1))
    probe = np.zeros(shape, dtype=contract.dtype)
    start = time.perf_counter()
    try:
        output = np.asarray(runtime.infer(probe))
    except InputRejectedError as rejected:
        reason = backend_message(rejected.__cause__ or rejected)
        raise BundleError(
            f"bundle {runtime.bundle.path}: variant {runtime.variant.name} rejects the "
            f"manifest's input contract ({contract.layout} {shape} {contract.dtype}): {reason}"
        ) from rejected
    except EdgevisionError:
        raise
    except Exception as err:  # a backend type the backend did not translate
        reason = backend_message(err)
        raise BundleError(
            f"bundle {runtime.bundle.path}: variant {runtime.variant.name} rejects the "
            f"manifest's input contract ({contract.layout} {shape} {contract.dtype}): {reason}"
        ) from err
    runtime.first_inference_ms = (time.perf_counter() - start) * 1000.0
    classes = len(runtime.bundle.labels)
    if output.ndim != 2 or output.shape[0] != shape[0] or output.shape[1] != classes:
        raise BundleError(
            f"bundle {runtime.bundle.path}: variant {runtime.variant.name} outputs shape "
            f"{tuple(output.shape)} but the manifest lists {classes} labels; the labels file "
            "must have one line per model output"
        )
