"""Export: a checkpoint, weights file or foreign ONNX model → a verified bundle (needs torch)."""

from edgevision.export.pipeline import ExportResult, export_bundle
from edgevision.export.profiles import ExportProfile, apply_overrides, load_profile
from edgevision.export.sources import from_checkpoint, from_onnx, from_weights, resolve_images

__all__ = [
    "ExportProfile",
    "ExportResult",
    "apply_overrides",
    "export_bundle",
    "from_checkpoint",
    "from_onnx",
    "from_weights",
    "load_profile",
    "resolve_images",
]
