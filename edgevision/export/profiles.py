"""Export profiles: typed target recipes read from TOML, then overridden by command-line flags.

A profile names one artifact (backend + precision) and everything needed to make and check it:
input size, batch range, opset, calibration, fidelity thresholds and the runtime options the
fidelity check runs with. Unknown keys and out-of-range values are rejected with one line that
says what was wrong (and, for a misspelt key, which key was probably meant).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgevision.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

PROFILE_DIR = Path(__file__).resolve().parents[2] / "export" / "profiles"
BACKENDS = ("onnxruntime", "openvino", "tensorrt")
PRECISIONS = ("fp32", "fp16", "int8")
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")


@dataclass
class Thresholds:
    """Limits a variant must meet or export fails.

    Attributes:
        min_agreement: Minimum top-1 agreement with the PyTorch model, in percent.
        max_int8_drop: Largest allowed validation top-1 drop of an INT8 variant against FP32,
            in points (agreement drop when the validation images carry no labels).
    """

    min_agreement: float = 99.0
    max_int8_drop: float = 1.0


@dataclass
class RuntimeSettings:
    """Runtime options the fidelity check uses (what the target runs with).

    Attributes:
        device: Backend device name.
        threads: Intra-op threads (0 lets the backend choose).
        inference_precision: OpenVINO execution precision hint (``"f32"``, ``"bf16"``, ``"f16"``);
            empty keeps the device default, which is recorded as run.
    """

    device: str = "cpu"
    threads: int = 0
    inference_precision: str = ""


@dataclass
class ExportProfile:
    """One artifact to produce and the checks it must pass.

    Attributes:
        name: Profile name (file stem when read from a file).
        target: Free-text description of the device it is for.
        backend: ``onnxruntime``, ``openvino`` or ``tensorrt``.
        precision: ``fp32``, ``fp16`` or ``int8``.
        input_hw: Model input size; empty keeps the checkpoint's contract.
        batch_min: Smallest batch the artifact accepts.
        batch_max: Largest batch (dynamic batch when above ``batch_min``).
        opset: ONNX opset to ask the exporter for (the real one is read back and recorded).
        calibration_images: Training images used for INT8 calibration.
        calibration_method: ``minmax``, ``entropy`` or ``percentile``.
        per_channel: Per-channel weight quantization (ONNX Runtime INT8).
        accuracy_aware: Keep the most damaging layers in float until the INT8 drop is in limit.
        fidelity_images: Most validation images the fidelity check uses (0 = all).
        thresholds: Fidelity limits.
        runtime: Runtime options of the fidelity check.
    """

    name: str = "custom"
    target: str = ""
    backend: str = "onnxruntime"
    precision: str = "fp32"
    input_hw: list[int] = field(default_factory=list)
    batch_min: int = 1
    batch_max: int = 8
    opset: int = 18
    calibration_images: int = 300
    calibration_method: str = "minmax"
    per_channel: bool = True
    accuracy_aware: bool = False
    fidelity_images: int = 0
    thresholds: Thresholds = field(default_factory=Thresholds)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)

    @property
    def variant_name(self) -> str:
        """Variant name in the bundle: format-precision, e.g. ``openvino-int8``."""
        return f"{format_of(self.backend)}-{self.precision}"

    def validate(self) -> ExportProfile:
        """Check every value's range; returns self so calls can chain."""
        where = f"profile {self.name!r}"
        # Profiles built in code skip _fill's type checks; ranges below assume numbers.
        _check_types(self, where)
        _choice(where, "backend", self.backend, BACKENDS)
        _choice(where, "precision", self.precision, PRECISIONS)
        _choice(where, "calibration_method", self.calibration_method, CALIBRATION_METHODS)
        _range(where, "batch_min", self.batch_min, 1, 1024)
        _range(where, "batch_max", self.batch_max, self.batch_min, 1024)
        _range(where, "opset", self.opset, 13, 23)
        _range(where, "calibration_images", self.calibration_images, 1, 100_000)
        _range(where, "fidelity_images", self.fidelity_images, 0, 1_000_000)
        _range(where, "thresholds.min_agreement", self.thresholds.min_agreement, 0.0, 100.0)
        _range(where, "thresholds.max_int8_drop", self.thresholds.max_int8_drop, 0.0, 100.0)
        _range(where, "runtime.threads", self.runtime.threads, 0, 256)
        if self.input_hw and (len(self.input_hw) != 2 or min(self.input_hw) < 8):
            raise ConfigError(f"{where}: input_hw={self.input_hw} must be [height, width] >= 8")
        if self.backend == "tensorrt" and self.precision == "fp32":
            raise ConfigError(f"{where}: TensorRT profiles build fp16 or int8 engines")
        return self


def _check_types(obj: Any, where: str, prefix: str = "") -> None:
    """Every field of a profile (and its tables) has the type of its default."""
    for item in dataclasses.fields(obj):
        key, value = prefix + item.name, getattr(obj, item.name)
        default = getattr(type(obj)(), item.name)
        if dataclasses.is_dataclass(default):
            if type(value) is not type(default):
                raise ConfigError(f"{where}: {key} must be a table ([{key}])")
            _check_types(value, where, prefix=f"{key}.")
        elif isinstance(default, list):
            _int_list(where, key, value)
        elif isinstance(default, bool) != isinstance(value, bool) or not isinstance(
            value, (float, int) if isinstance(default, float) else type(default)
        ):
            raise ConfigError(
                f"{where}: {key}={value!r} should be {type(default).__name__}, "
                f"not {type(value).__name__}"
            )


def format_of(backend: str) -> str:
    """The bundle format a backend's artifact has."""
    return {"onnxruntime": "onnx", "openvino": "openvino", "tensorrt": "tensorrt"}[backend]


def _choice(where: str, key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{where}: {key}={value!r} is not one of {', '.join(choices)}")


def _range(where: str, key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{where}: {key}={value} is out of range; use {low} to {high}")


def _fill(cls: type, data: dict[str, Any], where: str) -> Any:
    """Build dataclass ``cls`` from a TOML table, rejecting unknown keys and wrong types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(fields)}"
            )
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")
        default = getattr(cls(), key)
        if dataclasses.is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {key} must be a table ([{key}])")
            value = _fill(type(default), value, f"{where} [{key}]")
        elif isinstance(default, list):
            _int_list(where, key, value)
        elif isinstance(default, bool) != isinstance(value, bool) or not isinstance(
            value, (type(default), int) if isinstance(default, float) else type(default)
        ):
            raise ConfigError(
                f"{where}: {key}={value!r} should be {type(default).__name__}, "
                f"not {type(value).__name__}"
            )
        values[key] = value
    return cls(**values)


def _int_list(where: str, key: str, value: Any) -> None:
    """``value`` must be a list of integers (booleans are not integers here)."""
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        raise ConfigError(f"{where}: {key}={value!r} should be a list of integers, e.g. [224, 224]")


def profile_from_dict(data: dict[str, Any], *, name: str) -> ExportProfile:
    """Build and validate a profile from its TOML form."""
    profile = _fill(ExportProfile, {"name": name, **data}, f"profile {name!r}")
    return profile.validate()


def available_profiles() -> list[str]:
    """Names of the profiles shipped in ``export/profiles``."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | os.PathLike[str]) -> ExportProfile:
    """Read a profile by shipped name (``ort-x86-int8``) or by path to a TOML file.

    Raises:
        ConfigError: Unknown name, unreadable TOML, unknown key or value out of range.
    """
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = PROFILE_DIR / f"{name_or_path}.toml"
        if not path.is_file():
            names = available_profiles()
            close = difflib.get_close_matches(str(name_or_path), names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"unknown export profile {str(name_or_path)!r}; {hint}shipped: {', '.join(names)}"
            )
    if not path.is_file():
        raise ConfigError(f"profile file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"profile {path} is not valid TOML: {err}") from err
    return profile_from_dict(data, name=path.stem)


def apply_overrides(profile: ExportProfile, overrides: dict[str, Any]) -> ExportProfile:
    """Return a copy with flag values (dotted keys for tables, None = not given) applied."""
    data = dataclasses.asdict(profile)
    for key, value in overrides.items():
        if value is None:
            continue
        table, _, leaf = key.rpartition(".")
        (data[table] if table else data)[leaf] = value
    name = data.pop("name")
    return profile_from_dict(data, name=name)
