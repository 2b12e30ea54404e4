"""Building a classifier by name and loading pretrained weights into it.

Architectures are named ``torchvision:<name>``, ``timm:<name>`` or a bare name (torchvision is
tried first, then timm). Pretrained weights come from a local file (``.safetensors``, or
``.pt/.pth/.th`` read with ``weights_only=True``) or, when online, from the library's hub.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from pathlib import Path

import torch
from torch import nn

from edgevision.contract import InputContract
from edgevision.errors import ModelError

logger = logging.getLogger(__name__)

SOURCES = ("torchvision", "timm")


def _torchvision_names() -> list[str]:
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


def _timm_names() -> list[str]:
    import timm

    return sorted(timm.list_models())


def list_architectures(pattern: str = "*") -> list[str]:
    """Every classification architecture name matching a shell-style pattern, prefixed by source."""
    names = [f"torchvision:{n}" for n in _torchvision_names()]
    names += [f"timm:{n}" for n in _timm_names()]
    return [
        n for n in names if fnmatch.fnmatch(n, pattern) or fnmatch.fnmatch(n.split(":")[1], pattern)
    ]


def resolve_arch(arch: str) -> tuple[str, str]:
    """Split ``source:name`` (or find the source of a bare name).

    Raises:
        ModelError: No library knows the name; the message suggests close names.
    """
    if ":" in arch:
        source, name = arch.split(":", 1)
        if source not in SOURCES:
            raise ModelError(
                f"unknown model source {source!r} in {arch!r}; use torchvision: or timm:"
            )
        known = _torchvision_names() if source == "torchvision" else _timm_names()
        if name in known:
            return source, name
    else:
        name = arch
        for source, known in (("torchvision", _torchvision_names()), ("timm", _timm_names())):
            if name in known:
                return source, name
    close = [n for n in list_architectures(f"*{name.split('_')[0]}*")][:6]
    hint = f"; close names: {', '.join(close)}" if close else "; list them with 'edgevision models'"
    raise ModelError(f"unknown architecture {arch!r}{hint}")


def classifier_name(model: nn.Module) -> str:
    """Dotted name of the final classification layer (the last ``nn.Linear``)."""
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None:
        raise ModelError(f"{type(model).__name__} has no nn.Linear classifier to replace")
    return last


def _replace_module(model: nn.Module, dotted: str, new: nn.Module) -> None:
    parent_name, _, child = dotted.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def _create(source: str, name: str, num_classes: int, *, hub: bool) -> nn.Module:
    if source == "timm":
        import timm

        return timm.create_model(name, pretrained=hub, num_classes=num_classes)
    import torchvision

    if not hub:
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    model = torchvision.models.get_model(name, weights="DEFAULT")
    set_num_classes(model, num_classes)
    return model


def set_num_classes(model: nn.Module, num_classes: int) -> None:
    """Replace the classifier layer with a fresh one for ``num_classes`` outputs if needed."""
    head_name = classifier_name(model)
    head = model.get_submodule(head_name)
    if head.out_features != num_classes:
        _replace_module(model, head_name, nn.Linear(head.in_features, num_classes))


def _first_line(err: BaseException) -> str:
    """The informative line of a loader error (torch's weights-only text is several lines)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    # torch's weights-only refusal opens with advice to disable the safety check; the real
    # reason ("Unsupported operand 8", ...) follows the "WeightsUnpickler error:" marker.
    for index, line in enumerate(lines):
        if line.endswith("WeightsUnpickler error:") and index + 1 < len(lines):
            return lines[index + 1][:200]
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].strip()[:200]
    return (lines[0] if lines else type(err).__name__)[:200]


def load_weights_file(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a ``.pt/.pth/.th`` file (weights only).

    Nested ``state_dict`` / ``model`` entries are unwrapped and a ``module.`` prefix (from
    DataParallel) is stripped.

    Raises:
        ModelError: The file is missing, truncated or holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # safetensors and torch raise several unrelated types
        raise ModelError(
            f"cannot read weights from {path} (truncated, or not a state dict: "
            f"{_first_line(err)}); give a complete .safetensors file or a .pt state dict"
        ) from err
    for key in ("state_dict", "model", "model_state"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not any(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path} holds no state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def load_pretrained(model: nn.Module, state: dict[str, torch.Tensor], *, source: str = "") -> int:
    """Load pretrained weights, keeping the model's own classifier where the shapes differ.

    Returns:
        How many tensors were loaded.

    Raises:
        ModelError: Keys other than the classifier's are missing, unexpected or mis-shaped;
            the message names them (weights for another architecture).
    """
    own = model.state_dict()
    head = classifier_name(model)
    head_keys = {k for k in own if k.startswith(head + ".")}
    missing = [k for k in own if k not in state and k not in head_keys]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        k for k in state if k in own and k not in head_keys and state[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("mis-shaped", mismatched),
        ):
            if keys:
                parts.append(f"{len(keys)} {label} (e.g. {', '.join(keys[:3])})")
        raise ModelError(
            f"weights {source or ''} do not fit {type(model).__name__}: {'; '.join(parts)}; "
            "check --arch matches the weights file"
        )
    usable = {k: v for k, v in state.items() if k not in head_keys or v.shape == own[k].shape}
    model.load_state_dict(usable, strict=False)
    if len(usable) < len(state):
        logger.info("classifier %s starts fresh (%d classes)", head, own[f"{head}.weight"].shape[0])
    return len(usable)


def build_model(
    arch: str,
    num_classes: int,
    *,
    weights: str | os.PathLike[str] | None = None,
    hub: bool = False,
) -> nn.Module:
    """Create an architecture with ``num_classes`` outputs, optionally pretrained.

    Args:
        arch: ``torchvision:name``, ``timm:name`` or a bare name.
        num_classes: Outputs of the classifier (replaced when the weights have another count).
        weights: Local weights file; takes precedence over ``hub``.
        hub: Download the library's default pretrained weights (needs network).

    Raises:
        ModelError: Unknown architecture, unreadable or mismatched weights, or hub unreachable.
    """
    source, name = resolve_arch(arch)
    try:
        model = _create(source, name, num_classes, hub=hub and weights is None)
    except (OSError, RuntimeError, ValueError) as err:
        if hub and weights is None:
            raise ModelError(
                f"cannot fetch pretrained {arch} weights from the {source} hub ({err}); when "
                "offline pass --weights FILE (.safetensors/.pt) or --no-pretrained"
            ) from err
        raise ModelError(f"cannot build {arch}: {err}") from err
    if weights is not None:
        state = load_weights_file(weights)
        load_pretrained(model, state, source=str(weights))
    return model


def default_contract(arch: str) -> InputContract:
    """The input contract the architecture's published weights were trained with.

    timm models carry their own pretrained config; torchvision classification models use the
    ImageNet 256 → 224 crop with ImageNet mean/std.
    """
    source, name = resolve_arch(arch)
    if source == "timm":
        import timm

        cfg = timm.get_pretrained_cfg(name)
        if cfg is not None:
            size = cfg.input_size[1:]
            return InputContract(
                input_hw=(size[0], size[1]),
                resize_shorter=int(round(size[0] / cfg.crop_pct)),
                mean=tuple(cfg.mean),
                std=tuple(cfg.std),
                interpolation="bicubic" if cfg.interpolation == "bicubic" else "area",
            )
    return InputContract()
