"""Runtime backends behind one interface; importing this package never imports torch."""

from __future__ import annotations

import importlib
import os

from edgevision.bundle import Bundle, Variant, load_bundle
from edgevision.errors import BackendUnavailableError
from edgevision.runtime.base import Runtime, RuntimeOptions

__all__ = ["BACKENDS", "Runtime", "RuntimeOptions", "default_backend", "open_runtime"]

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
) -> Runtime:
    """Load one variant of a bundle on one backend.

    Args:
        bundle: A loaded bundle or its folder.
        backend: ``"onnxruntime"``, ``"openvino"`` or ``"tensorrt"``; None picks the backend
            native to the chosen variant.
        variant: Variant name; None picks the first matching ``backend`` and ``precision``.
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"`` to choose among variants.
        options: Device, threads, streams and hints.

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
    return backend_class(bundle, chosen, options or RuntimeOptions())
