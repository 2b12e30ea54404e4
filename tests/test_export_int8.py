"""All variants in one bundle (issue 4), INT8 damage report and accuracy-aware fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgevision.bundle import load_bundle
from edgevision.errors import FidelityError

pytestmark = [pytest.mark.torch, pytest.mark.openvino, pytest.mark.slow]

# Reachable with a few layers in float: one validation photo (0.65 point) of slack.
REACHABLE_DROP = 0.7

ALL_PROFILES = [
    "ort-x86-int8",
    "openvino-cpu-fp32",
    "openvino-cpu-fp16",
    "openvino-cpu-int8",
    "jetson-trt-fp16",
    "jetson-trt-int8",
]


@pytest.fixture(scope="session")
def hymenoptera_source(hymenoptera_checkpoint, shared_data):
    from edgevision.export import from_checkpoint, resolve_images

    source = from_checkpoint(hymenoptera_checkpoint)
    images = resolve_images(labels=source.labels, data=shared_data / "hymenoptera")
    return source, images


@pytest.fixture(scope="session")
def all_variants_bundle(hymenoptera_source, tmp_path_factory) -> Path:
    """Every shipped CPU/Jetson profile in one bundle, default calibration (all 245 images),
    default limits (no accuracy-aware fallback)."""
    from _fixtures_export import export_for_tests

    source, images = hymenoptera_source
    out = tmp_path_factory.mktemp("export_all") / "bundle"
    return export_for_tests(source, out, ALL_PROFILES, images)


def test_all_variants_meet_issue_4_limits(all_variants_bundle):
    bundle = load_bundle(all_variants_bundle)
    names = {v.name for v in bundle.manifest.variants}
    assert names == {
        "onnx-fp32", "onnx-int8", "openvino-fp32", "openvino-fp16", "openvino-int8",
        "tensorrt-fp16", "tensorrt-int8",
    }  # fmt: skip
    fp32 = bundle.variant("onnx-fp32").fidelity["val_top1"]
    for name in ("onnx-int8", "openvino-int8"):
        fidelity = bundle.variant(name).fidelity
        assert fidelity["precision_used"] == "int8" and fidelity["passed"]
        assert fp32 - fidelity["val_top1"] <= 1.0, name
        assert fidelity["int8_drop"] == pytest.approx(fp32 - fidelity["val_top1"], abs=1e-3)
    fp16 = bundle.variant("openvino-fp16").fidelity
    assert fp16["top1_agreement"] >= 99.5 and fp16["nonfinite_outputs"] == 0
    ir32 = bundle.variant("openvino-fp32").fidelity
    assert ir32["precision_used"] == "fp32" and ir32["top1_agreement"] >= 99.0
    quant = bundle.variant("onnx-int8").details
    assert quant["activations"] == "uint8" and quant["weights"] == "int8 per-channel"
    assert quant["calibration_images"] == 245 and quant["format"] == "QDQ"
    trt = bundle.variant("tensorrt-int8")
    assert (
        trt.file == "model-int8.onnx" and "--stronglyTyped" in trt.details["trtexec"]["tensorrt11"]
    )
    assert (bundle.path / "openvino" / "model-fp16.bin").stat().st_size < (
        bundle.path / "openvino" / "model-fp32.bin"
    ).stat().st_size * 0.6


def test_tight_int8_limit_fails_with_ranking_then_accuracy_aware_passes(
    hymenoptera_source, tmp_path
):
    """64 calibration images cost the hymenoptera MobileNetV2 a real INT8 drop (about 2 points
    measured); limit 0.0 refuses it with every quantized layer ranked, and the accuracy-aware
    fallback reaches the reachable limit by keeping the worst-ranked layers in float."""
    import onnx
    from _fixtures_export import export_for_tests

    source, images = hymenoptera_source
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "keep.txt").write_text("an earlier bundle")
    tight = {
        "calibration_images": 64,
        "thresholds.min_agreement": 100.0,
        "thresholds.max_int8_drop": 0.0,
    }
    with pytest.raises(FidelityError, match="most damaging INT8 layers: node_"):
        export_for_tests(source, out, ["ort-x86-int8"], images, force=True, **tight)
    assert (out / "keep.txt").read_text() == "an earlier bundle"  # untouched, not replaced
    report = json.loads((tmp_path / "bundle.failed-export.json").read_text())
    refused = next(v for v in report["variants"] if v["name"] == "onnx-int8")
    assert refused["fidelity"]["int8_drop"] > 0.0  # the drop is real and measured
    ranking = report["int8_damage_ranking"]
    sqnr = [entry["sqnr_db"] for entry in ranking]
    assert sqnr == sorted(sqnr) and sqnr[0] < 40.0 and all(0.0 < v < 999.0 for v in sqnr)
    assert all(0.9 < entry["cosine"] <= 1.0 for entry in ranking)

    reachable = {**tight, "thresholds.min_agreement": 98.0, "accuracy_aware": True}
    reachable["thresholds.max_int8_drop"] = REACHABLE_DROP
    bundle = load_bundle(
        export_for_tests(source, tmp_path / "aware", ["ort-x86-int8"], images, **reachable)
    )
    # Every Conv/Gemm of the FP32 graph is ranked, by its real node name, each once.
    graph = onnx.load(str(bundle.path / "model.onnx"), load_external_data=False).graph
    layers = {node.name for node in graph.node if node.op_type in ("Conv", "Gemm")}
    assert len(ranking) == len(layers) == 53 and {e["node"] for e in ranking} == layers
    variant = bundle.variant("onnx-int8")
    attempts = variant.details["accuracy_aware"]
    assert attempts[0]["layers_in_float"] == 0 and attempts[0]["int8_drop"] > REACHABLE_DROP
    assert attempts[-1]["passed"] and not any(a["passed"] for a in attempts[:-1])
    assert variant.fidelity["passed"] and variant.fidelity["int8_drop"] <= REACHABLE_DROP
    excluded = variant.details["nodes_excluded"]
    assert 0 < len(excluded) < len(layers) and excluded == attempts[-1]["nodes_excluded"]
    # The bundle's own ranking (recomputed on the same images) leads with the excluded layers.
    saved = json.loads((bundle.path / "int8-damage.json").read_text())
    assert excluded == [e["node"] for e in saved["ranking"][: len(excluded)]]
    assert saved["accuracy_aware_onnx-int8"] == attempts
    # What was excluded really runs in float: its weights are plain float initializers in the
    # shipped file (the activation it reads may still pass Q/DQ for the layer that made it).
    int8 = onnx.load(str(bundle.path / variant.file), load_external_data=False).graph
    dequantized = {o for n in int8.node if n.op_type == "DequantizeLinear" for o in n.output}
    floats = {i.name for i in int8.initializer if i.data_type == onnx.TensorProto.FLOAT}
    kept = [n for n in int8.node if n.name in excluded]
    assert len(kept) == len(excluded)
    assert all(n.input[1] in floats and n.input[1] not in dequantized for n in kept)
