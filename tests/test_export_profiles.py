"""Export profiles: shipped recipes load, typos and out-of-range values are refused."""

from __future__ import annotations

import pytest

from edgevision.errors import ConfigError
from edgevision.export.profiles import (
    apply_overrides,
    available_profiles,
    load_profile,
)

REQUIRED = {
    "ort-x86-fp32": ("onnxruntime", "fp32"),
    "ort-x86-int8": ("onnxruntime", "int8"),
    "ort-rpi-fp32": ("onnxruntime", "fp32"),
    "ort-rpi-int8": ("onnxruntime", "int8"),
    "openvino-cpu-fp32": ("openvino", "fp32"),
    "openvino-cpu-fp16": ("openvino", "fp16"),
    "openvino-cpu-int8": ("openvino", "int8"),
    "jetson-trt-fp16": ("tensorrt", "fp16"),
    "jetson-trt-int8": ("tensorrt", "int8"),
}


def test_shipped_profiles_cover_the_targets():
    assert set(REQUIRED) <= set(available_profiles())
    for name, (backend, precision) in REQUIRED.items():
        profile = load_profile(name)
        assert (profile.backend, profile.precision) == (backend, precision)
    assert load_profile("ort-x86-int8").calibration_images == 300
    assert load_profile("ort-rpi-int8").runtime.threads == 4
    assert load_profile("openvino-cpu-fp32").runtime.inference_precision == "f32"


def test_unknown_key_gets_did_you_mean(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('backend = "onnxruntime"\ncalibration_imgs = 10\n')
    with pytest.raises(ConfigError, match="did you mean 'calibration_images'"):
        load_profile(path)
    path.write_text("[thresholds]\nmin_agrement = 99.0\n")
    with pytest.raises(ConfigError, match="did you mean 'min_agreement'"):
        load_profile(path)


def test_values_out_of_range_or_of_wrong_type(tmp_path):
    path = tmp_path / "bad.toml"
    for text, match in (
        ("batch_max = 0\n", "batch_max=0 is out of range"),
        ('precision = "int4"\n', "precision='int4' is not one of"),
        ("[thresholds]\nmin_agreement = 101.0\n", "min_agreement=101.0 is out of range"),
        ('opset = "18"\n', "should be int"),
        ("opset = [", "not valid TOML"),
    ):
        path.write_text(text)
        with pytest.raises(ConfigError, match=match):
            load_profile(path)


def test_unknown_profile_name_suggests_a_shipped_one():
    with pytest.raises(ConfigError, match="did you mean 'ort-x86-int8'"):
        load_profile("ort-x86-int9")


def test_flags_override_profile_fields():
    base = load_profile("ort-x86-int8")
    changed = apply_overrides(
        base,
        {"calibration_images": 50, "thresholds.max_int8_drop": 2.5, "runtime.threads": None},
    )
    assert changed.calibration_images == 50 and changed.thresholds.max_int8_drop == 2.5
    assert changed.runtime.threads == base.runtime.threads
    assert base.calibration_images == 300  # the loaded profile is not mutated
    with pytest.raises(ConfigError, match="out of range"):
        apply_overrides(base, {"calibration_images": 0})
