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


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('input_hw = ["a", "b"]\n', r"profile 'bad': input_hw=\['a', 'b'\] should be a list of"),
        ('input_hw = [224, "x"]\n', "input_hw=.* should be a list of integers"),
        ("input_hw = 224\n", "input_hw=224 should be a list of integers"),
        ("input_hw = [true, 224]\n", "should be a list of integers"),
        ("per_channel = 1\n", "per_channel=1 should be bool"),
        ("batch_max = nan\n", "batch_max=nan should be int"),
        ("[thresholds]\nmin_agreement = nan\n", "min_agreement=nan is out of range"),
        ("[thresholds]\nmax_int8_drop = inf\n", "max_int8_drop=inf is out of range"),
        ('[runtime]\nthreads = "4"\n', "threads='4' should be int"),
        ("runtime = 3\n", "runtime must be a table"),
    ],
)  # fmt: skip
def test_every_field_is_type_checked(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_profile(path)


def test_profiles_built_in_code_are_type_checked_too():
    from edgevision.export.profiles import ExportProfile

    with pytest.raises(ConfigError, match="input_hw=.* should be a list of integers"):
        ExportProfile(name="code", input_hw=[224, "x"]).validate()
    with pytest.raises(ConfigError, match="opset='18' should be int"):
        ExportProfile(name="code", opset="18").validate()


def _source(kind: str, hw: tuple[int, int]):
    from edgevision.contract import InputContract
    from edgevision.export.sources import ExportSource

    return ExportSource(kind, ["a", "b"], InputContract(input_hw=hw, resize="direct"))


def test_profile_input_size_other_than_the_checkpoint_is_refused(tmp_path):
    from edgevision.cli.export import _check_input_size

    path = tmp_path / "big.toml"
    path.write_text("input_hw = [48, 48]\n")
    profile = load_profile(path)
    with pytest.raises(ConfigError, match="'big' asks input_hw=\\[48, 48\\] but the model was "
                                          "trained at 32 x 32"):  # fmt: skip
        _check_input_size(_source("checkpoint", (32, 32)), [profile])
    with pytest.raises(ConfigError, match="pass --input-size H W"):
        _check_input_size(_source("onnx", (32, 32)), [profile])
    _check_input_size(_source("checkpoint", (48, 48)), [profile])  # same size: accepted
    _check_input_size(_source("checkpoint", (32, 32)), [load_profile("ort-x86-fp32")])


@pytest.fixture
def weights_dir(shared_data):
    return shared_data / "weights"


def _export_fails(args, capsys) -> str:
    from edgevision.cli.main import main

    assert main(["export", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.torch
def test_truncated_onnx_is_refused_and_the_bundle_kept(weights_dir, tmp_path, capsys):
    whole = (weights_dir / "mobilenet_v2_1.0_224_quant.onnx").read_bytes()
    cut = tmp_path / "trunc.onnx"
    cut.write_bytes(whole[: len(whole) // 2])
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text("{}")
    args = ["--onnx", str(cut), "--labels", str(weights_dir / "imagenet_labels.txt")]
    err = _export_fails([*args, "-o", str(bundle), "--force"], capsys)
    assert "cannot read ONNX model" in err and "truncated or not ONNX" in err
    assert (bundle / "manifest.json").read_text() == "{}"


@pytest.mark.torch
@pytest.mark.parametrize("count", [2, 1000])
def test_onnx_labels_must_match_the_outputs(weights_dir, tmp_path, capsys, count):
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"class{i}\n" for i in range(count)))
    model = weights_dir / "mobilenet_v2_1.0_224_quant.onnx"
    err = _export_fails(["--onnx", str(model), "--labels", str(labels), "-o",
                         str(tmp_path / "b")], capsys)  # fmt: skip
    assert f"labels file has {count} lines but the model outputs 1001 classes" in err
    assert not (tmp_path / "b").exists()


@pytest.mark.torch
def test_weights_labels_must_match_the_classifier(weights_dir, tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("ants\nbees\n")
    weights = weights_dir / "mobilenet_v2_imagenet_from_tflite.safetensors"
    err = _export_fails(["--arch", "torchvision:mobilenet_v2", "--weights", str(weights),
                         "--labels", str(labels), "-o", str(tmp_path / "b")], capsys)  # fmt: skip
    assert "labels file has 2 lines but the model outputs 1000 classes" in err


@pytest.mark.torch
def test_contract_flags_with_a_checkpoint_are_refused(tmp_path, capsys):
    err = _export_fails(["--checkpoint", str(tmp_path / "x.pt"), "--input-size", "48", "48",
                         "-o", str(tmp_path / "b")], capsys)  # fmt: skip
    assert "--input-size applies to --weights and --onnx only" in err


@pytest.mark.torch
def test_checkpoint_folder_gets_a_hint(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.pt").write_bytes(b"")
    err = _export_fails(["--checkpoint", str(run), "-o", str(tmp_path / "b")], capsys)
    assert "is a folder" in err and f"did you mean {run / 'best.pt'}" in err


@pytest.mark.parametrize(
    "flags",
    [["--batch-max", "0"], ["--threads", "-3"], ["--min-agreement", "nan"],
     ["--input-size", "224", "x"], ["--scale", "inf"], ["--output-zero-point", "nan"]],
)  # fmt: skip
def test_numeric_export_flags_are_checked(tmp_path, capsys, flags):
    from edgevision.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main(["export", "--onnx", "m.onnx", "-o", str(tmp_path / "b"), *flags])
    assert stop.value.code == 2 and flags[0] in capsys.readouterr().err
