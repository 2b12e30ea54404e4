"""Classification architectures from torchvision and timm, weights files and checkpoints (torch)."""

from edgevision.models.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from edgevision.models.registry import (
    build_model,
    classifier_name,
    default_contract,
    list_architectures,
    load_weights_file,
    resolve_arch,
)

__all__ = [
    "Checkpoint",
    "build_model",
    "classifier_name",
    "default_contract",
    "list_architectures",
    "load_checkpoint",
    "load_weights_file",
    "resolve_arch",
    "save_checkpoint",
]
