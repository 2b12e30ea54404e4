"""Export on real data: ONNX parity through the deployment path, foreign models, bad input."""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest

from edgevision.bundle import load_bundle
from edgevision.cli.main import main
from edgevision.contract import InputContract
from edgevision.errors import DataError
from edgevision.images import list_images, load_image
from edgevision.predict import Classifier
from edgevision.runtime import open_runtime

pytestmark = pytest.mark.torch

EXPECTED_SAMPLES = {  # shared/data/imagenet_samples/PROVENANCE.md (direct resize, RGB, no crop)
    "parrot.jpg": "macaw",
    "hot_dog.jpg": "hotdog",
    "cat_720p.jpg": "Egyptian cat",
    "owl.jpg": "ruffed grouse",
    "grace_hopper.bmp": "military uniform",
}


def test_hymenoptera_onnx_parity_recorded(hymenoptera_bundle, shared_data):
    bundle = load_bundle(hymenoptera_bundle)  # verifies every sha256
    variant = bundle.variant("onnx-fp32")
    fidelity = variant.fidelity
    assert fidelity["images"] == 153 and fidelity["reference"] == "pytorch fp32"
    assert fidelity["top1_agreement"] >= 99.0 and fidelity["passed"]
    assert fidelity["max_abs_logit_diff"] < 1e-3
    assert fidelity["val_top1"] >= 90.0
    assert fidelity["batch_selftest"] == {**fidelity["batch_selftest"], "passed": True}
    assert fidelity["batch_selftest"]["sizes"] == [1, 2, 4]
    # The opset recorded is the one in the file, not the one asked for.
    model = onnx.load(str(bundle.file(variant)), load_external_data=False)
    assert variant.details["opset"] == next(o.version for o in model.opset_import if not o.domain)
    provenance = bundle.manifest.provenance
    assert len(provenance["source_sha256"]) == 64 and provenance["arch"].endswith("mobilenet_v2")
    assert provenance["training_data"]["classes"] == ["ants", "bees"]
    # The recorded accuracy is what the deployment path gives, image by image.
    classifier = Classifier(open_runtime(bundle), k=1)
    val = shared_data / "hymenoptera" / "val"
    hits = sum(classifier.predict(load_image(p)).top1 == p.parent.name for p in list_images(val))
    assert round(hits / 153 * 100, 3) == pytest.approx(fidelity["val_top1"], abs=0.01)


def test_imagenet_bundle_is_the_unchanged_1000_class_model(imagenet_bundle, shared_data):
    bundle = load_bundle(imagenet_bundle)
    assert len(bundle.labels) == 1000 and bundle.labels[0] == "tench, Tinca tinca"
    assert bundle.contract.mean == (0.5, 0.5, 0.5) and bundle.contract.resize_shorter == 256
    fidelity = bundle.variant("onnx-fp32").fidelity
    assert fidelity["top1_agreement"] >= 99.0 and "val_top1" not in fidelity
    top1 = Classifier(open_runtime(bundle)).predict(
        load_image(shared_data / "imagenet_samples" / "hot_dog.jpg")
    )
    assert top1.top1 == "hotdog, hot dog, red hot"


def _foreign_args(shared_data, out):
    weights = shared_data / "weights"
    return [
        "export", "--onnx", str(weights / "mobilenet_v2_1.0_224_quant.onnx"),
        "--labels", str(weights / "imagenet_labels.txt"), "--out", str(out),
        "--val-data", str(shared_data / "imagenet_samples"),
        "--resize", "direct", "--layout", "nhwc", "--dtype", "uint8", "--normalize-in-graph",
        "--output-kind", "probabilities", "--output-scale", "0.00390625", "--batch-max", "1",
    ]  # fmt: skip


def test_foreign_onnx_becomes_a_bundle_with_provenance_top1(shared_data, tmp_path, capsys):
    out = tmp_path / "foreign"
    assert main(_foreign_args(shared_data, out)) == 0
    assert "onnx-fp32" in capsys.readouterr().out  # the fidelity table
    bundle = load_bundle(out)
    assert len(bundle.labels) == 1001 and bundle.manifest.output.kind == "probabilities"
    fidelity = bundle.variant("onnx-fp32").fidelity
    assert fidelity["nonfinite_outputs"] == 0 and fidelity["images"] == 5
    classifier = Classifier(open_runtime(bundle))
    for path in list_images(shared_data / "imagenet_samples"):
        assert (
            classifier.predict(load_image(path)).top1.split(",")[0] == EXPECTED_SAMPLES[path.name]
        )


def test_existing_bundle_is_kept_without_force(shared_data, tmp_path, capsys):
    out = tmp_path / "keep"
    assert main(_foreign_args(shared_data, out)) == 0
    before = (out / "manifest.json").read_bytes()
    assert main(_foreign_args(shared_data, out)) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "manifest.json").read_bytes() == before
    assert main([*_foreign_args(shared_data, out), "--force"]) == 0
    assert load_bundle(out).variant("onnx-fp32").fidelity["passed"]


def test_bad_source_and_profile_input_exit_2(shared_data, tmp_path, capsys):
    args = _foreign_args(shared_data, tmp_path / "x")
    assert main([*args, "--profile", "ort-x86-int9"]) == 2
    assert "did you mean 'ort-x86-int8'" in capsys.readouterr().err
    missing = [a if a != str(shared_data / "weights" / "imagenet_labels.txt") else "nope.txt"
               for a in args]  # fmt: skip
    assert main(missing) == 2
    assert "labels file not found" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_too_few_calibration_images_is_one_clear_error(shared_data, tmp_path):
    from edgevision.export.quantize import calibration_tensors

    folder = tmp_path / "calib"
    folder.mkdir()
    for path in list_images(shared_data / "imagenet_samples")[:3]:
        shutil.copy(path, folder / path.name)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="at least 20 readable training images, found 3"):
        calibration_tensors(list_images(folder), InputContract(), count=300)
    (folder / "broken.jpg").unlink()
    tensors = calibration_tensors(list_images(folder), InputContract(), count=3)
    assert tensors.shape == (3, 3, 224, 224) and np.isfinite(tensors).all()


def test_untraceable_model_names_the_operation(tmp_path):
    import torch

    from edgevision.errors import ModelError
    from edgevision.export.onnx import export_onnx

    class DataDependent(torch.nn.Module):
        def forward(self, x):
            # A Python branch on a tensor value: no graph can hold it.
            return x.mean((2, 3))[:, :2] if float(x.sum()) > 0 else x.mean((2, 3))[:, 1:]

    with pytest.raises(
        ModelError, match="cannot export odd to ONNX: the exporter failed at (Could not guard|aten)"
    ):
        export_onnx(
            DataDependent(),
            tmp_path / "m.onnx",
            contract=InputContract(input_hw=(8, 8), resize_shorter=8),
            batch_max=2,
            arch="odd",
        )


def test_disk_full_mid_export_leaves_earlier_bundle_and_no_partial(
    shared_data, tmp_path, monkeypatch
):
    import errno

    from edgevision.export import fidelity

    out = tmp_path / "bundle"
    assert main(_foreign_args(shared_data, out)) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fidelity, "check_variant", disk_full)
    with pytest.raises(OSError, match="No space left"):
        main([*_foreign_args(shared_data, out), "--force"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # no .partial folder left


def test_fused_preprocessing_takes_bgr_uint8_and_keeps_parity(
    hymenoptera_checkpoint, hymenoptera_bundle, shared_data, tmp_path
):
    from edgevision.export import (
        apply_overrides,
        export_bundle,
        from_checkpoint,
        load_profile,
        resolve_images,
    )

    source = from_checkpoint(hymenoptera_checkpoint)
    images = resolve_images(labels=source.labels, data=shared_data / "hymenoptera")
    profile = apply_overrides(load_profile("ort-x86-fp32"), {"fidelity_images": 40})
    result = export_bundle(source, tmp_path / "fused", [profile], images, fuse_preprocessing=True)
    bundle = load_bundle(result.path)
    contract = bundle.contract
    assert (contract.dtype, contract.layout, contract.color_order) == ("uint8", "nhwc", "bgr")
    fidelity = bundle.variant("onnx-fp32").fidelity
    assert fidelity["top1_agreement"] >= 99.0 and fidelity["max_abs_logit_diff"] < 1e-3
    frame = load_image(shared_data / "hymenoptera" / "val" / "bees" / "10870992_eebeeb3a12.jpg")
    runtime = open_runtime(bundle)
    assert Classifier(runtime).prepare(frame).dtype == np.uint8
    plain = Classifier(open_runtime(hymenoptera_bundle)).predict(frame)
    fused = Classifier(runtime).predict(frame)
    assert fused.labels == plain.labels
    assert np.allclose(fused.scores, plain.scores, atol=1e-4)
