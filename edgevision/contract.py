"""The input and output contracts: what a model expects to be fed and what it gives back.

A contract travels inside every bundle's manifest and drives the one preprocessing
implementation (:mod:`edgevision.preprocess`) that training evaluation, export fidelity checks,
``live`` and ``bench`` all share, so that every stage measures the model on identical tensors.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from edgevision.errors import BundleError

RESIZE_POLICIES = ("crop", "direct")
INTERPOLATIONS = ("area", "bilinear", "bicubic", "nearest")
COLOR_ORDERS = ("rgb", "bgr")
LAYOUTS = ("nchw", "nhwc")
DTYPES = ("float32", "float16", "uint8")
OUTPUT_KINDS = ("logits", "probabilities")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise BundleError(f"input contract: {name}={value!r} is not one of {', '.join(choices)}")


@dataclass(frozen=True)
class InputContract:
    """How a decoded BGR uint8 frame becomes the model's input tensor.

    Attributes:
        input_hw: Height and width of the tensor the model takes.
        resize: ``"crop"`` resizes the shorter side to ``resize_shorter`` then centre-crops
            ``input_hw``; ``"direct"`` resizes the whole frame to ``input_hw`` (aspect not kept).
        resize_shorter: Shorter-side length before the crop (only for ``"crop"``).
        interpolation: OpenCV interpolation; ``"area"`` is antialiased when shrinking.
        color_order: Channel order the model expects.
        layout: ``"nchw"`` or ``"nhwc"``.
        dtype: Element type of the tensor the model takes.
        scale: Multiplier taking uint8 pixels into the value range the mean/std refer to.
        mean: Per-channel mean (in the model's colour order), subtracted after ``scale``.
        std: Per-channel standard deviation, divided after subtracting ``mean``.
        normalize_in_graph: True when the model does scale/mean/std itself and takes raw
            pixels (uint8, or float32 in 0..255) in ``color_order`` and ``layout``.
    """

    input_hw: tuple[int, int] = (224, 224)
    resize: str = "crop"
    resize_shorter: int = 256
    interpolation: str = "area"
    color_order: str = "rgb"
    layout: str = "nchw"
    dtype: str = "float32"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    normalize_in_graph: bool = False

    def __post_init__(self) -> None:
        self._check_types()
        _check_choice("resize", self.resize, RESIZE_POLICIES)
        _check_choice("interpolation", self.interpolation, INTERPOLATIONS)
        _check_choice("color_order", self.color_order, COLOR_ORDERS)
        _check_choice("layout", self.layout, LAYOUTS)
        _check_choice("dtype", self.dtype, DTYPES)
        height, width = self.input_hw
        if height < 1 or width < 1:
            raise BundleError(f"input contract: input_hw={self.input_hw} must be positive")
        if self.resize == "crop" and self.resize_shorter < min(height, width):
            raise BundleError(
                f"input contract: resize_shorter={self.resize_shorter} is smaller than the crop "
                f"{self.input_hw}; use resize_shorter >= {min(height, width)}"
            )
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise BundleError("input contract: mean and std need 3 values each, std > 0")

    def _check_types(self) -> None:
        def is_int(value: object) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        def is_number(value: object) -> bool:
            return (is_int(value) or isinstance(value, float)) and math.isfinite(value)

        checks = (
            (
                "input_hw",
                len(self.input_hw) == 2 and all(is_int(v) for v in self.input_hw),
                "two integers",
            ),
            ("resize_shorter", is_int(self.resize_shorter), "an integer"),
            ("scale", is_number(self.scale) and self.scale > 0, "a positive number"),
            ("mean", all(is_number(v) for v in self.mean), "three numbers"),
            ("std", all(is_number(v) for v in self.std), "three numbers"),
            ("normalize_in_graph", isinstance(self.normalize_in_graph, bool), "true or false"),
        )
        for text in (self.resize, self.interpolation, self.color_order, self.layout, self.dtype):
            if not isinstance(text, str):
                raise BundleError(f"input contract: {text!r} must be a string")
        for name, ok, expected in checks:
            if not ok:
                raise BundleError(
                    f"input contract: {name}={getattr(self, name)!r} must be {expected}"
                )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form stored in ``manifest.json``."""
        data = asdict(self)
        data["input_hw"] = list(self.input_hw)
        data["mean"] = list(self.mean)
        data["std"] = list(self.std)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputContract:
        """Build a contract from its manifest form, rejecting unknown or malformed fields."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise BundleError(f"input contract: unknown field(s) {sorted(unknown)}")
        try:
            values = dict(data)
            for key in ("input_hw", "mean", "std"):
                if key in values:
                    values[key] = tuple(values[key])
            return cls(**values)
        except (TypeError, ValueError) as err:
            raise BundleError(f"input contract is malformed: {err}") from err

    def tensor_shape(self, batch: int = 1) -> tuple[int, int, int, int]:
        """Shape of a batch of model inputs in this contract's layout."""
        height, width = self.input_hw
        if self.layout == "nchw":
            return (batch, 3, height, width)
        return (batch, height, width, 3)


@dataclass(frozen=True)
class OutputContract:
    """How to read the model's raw output vector.

    Attributes:
        kind: ``"logits"`` (softmax applied by edgevision) or ``"probabilities"``.
        scale: Multiplier for quantized outputs (e.g. 1/256 for a uint8 softmax).
        zero_point: Offset subtracted before ``scale`` for quantized outputs.
    """

    kind: str = "logits"
    scale: float = 1.0
    zero_point: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise BundleError(f"output contract: kind={self.kind!r} is not one of {OUTPUT_KINDS}")

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form stored in ``manifest.json``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutputContract:
        """Build an output contract from its manifest form."""
        try:
            return cls(**data)
        except TypeError as err:
            raise BundleError(f"output contract is malformed: {err}") from err


# The contract of the ImageNet weights in shared test data and of most torchvision/timm models.
IMAGENET_CONTRACT = InputContract()
