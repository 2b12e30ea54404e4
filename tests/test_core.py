"""Core pieces shared by every command: images, preprocessing, bundles, the ONNX Runtime backend."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from edgevision.bundle import load_bundle
from edgevision.contract import InputContract
from edgevision.errors import BundleError, DataError
from edgevision.images import list_images, load_image, scan_image_folder, split_image_folder
from edgevision.predict import Classifier
from edgevision.preprocess import preprocess
from edgevision.runtime import open_runtime

EXPECTED_SAMPLES = {  # from shared/data/imagenet_samples/PROVENANCE.md
    "parrot.jpg": "macaw",
    "hot_dog.jpg": "hotdog",
    "cat_720p.jpg": "Egyptian cat",
    "owl.jpg": "ruffed grouse",
    "grace_hopper.bmp": "military uniform",
}


def test_foreign_bundle_top1_matches_provenance(foreign_bundle, shared_data):
    classifier = Classifier(open_runtime(foreign_bundle))
    for path in list_images(shared_data / "imagenet_samples"):
        answer = classifier.predict(load_image(path))
        assert answer.top1.split(",")[0] == EXPECTED_SAMPLES[path.name]
        assert 0.0 < answer.scores[0] <= 1.0


def test_crop_preprocessing_shape_and_values():
    frame = np.full((480, 640, 3), (255, 0, 0), dtype=np.uint8)  # pure blue in BGR
    contract = InputContract(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    tensor = preprocess(frame, contract)
    assert tensor.shape == (3, 224, 224) and tensor.dtype == np.float32
    # RGB order: red and green are -1, blue is +1 after (x/255 - 0.5) / 0.5.
    assert np.allclose(tensor[0], -1.0) and np.allclose(tensor[1], -1.0)
    assert np.allclose(tensor[2], 1.0)


def test_preprocess_accepts_grey_and_16_bit_frames():
    contract = InputContract(resize="direct", input_hw=(32, 48))
    grey = np.full((60, 80), 128, dtype=np.uint8)
    wide = np.full((60, 80, 3), 128 * 257, dtype=np.uint16)
    assert np.allclose(preprocess(grey, contract), preprocess(wide, contract))


def test_image_modes_people_have(tmp_path):
    rgb = Image.new("RGB", (40, 30), (0, 204, 51))  # web-safe: survives the palette
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg")
    rgb.convert("P").save(tmp_path / "palette.gif")
    Image.fromarray(np.full((30, 40), 65535, dtype=np.uint16)).save(tmp_path / "deep.png")
    rgba = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    rgba.save(tmp_path / "transparent ünïcode.png")
    assert load_image(tmp_path / "cmyk.jpg").shape == (30, 40, 3)
    assert tuple(load_image(tmp_path / "palette.gif")[0, 0]) == (51, 204, 0)
    assert load_image(tmp_path / "deep.png").min() == 255
    assert load_image(tmp_path / "transparent ünïcode.png").min() == 255  # composited on white


def test_exif_rotation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise on display
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_image(tmp_path / "rotated.jpg").shape == (40, 20, 3)


def test_corrupt_and_empty_images_raise_data_error(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    for name in ("empty.jpg", "text.png", "missing.jpg"):
        with pytest.raises(DataError):
            load_image(tmp_path / name)


def test_scan_and_split_hymenoptera(shared_data):
    folder = scan_image_folder(shared_data / "hymenoptera" / "train")
    assert folder.classes == ("ants", "bees")
    assert folder.class_counts() == {"ants": 124, "bees": 121}
    train, val = split_image_folder(folder, val_fraction=0.2, seed=3)
    assert len(train) + len(val) == 245
    assert {s.path for s in train.samples}.isdisjoint({s.path for s in val.samples})
    again, _ = split_image_folder(folder, val_fraction=0.2, seed=3)
    assert again.samples == train.samples


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        scan_image_folder(tmp_path / "nope")
    (tmp_path / "only_files").mkdir()
    with pytest.raises(DataError, match="no class folders"):
        scan_image_folder(tmp_path / "only_files")
    (tmp_path / "empty_class" / "cats").mkdir(parents=True)
    with pytest.raises(DataError, match="holds no images"):
        scan_image_folder(tmp_path / "empty_class")


def test_bundle_manifest_errors(foreign_bundle, tmp_path):
    with pytest.raises(BundleError, match="not a bundle"):
        load_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(tmp_path)
    data = json.loads((foreign_bundle / "manifest.json").read_text())
    data["schema_version"] = 99
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match="schema_version"):
        load_bundle(tmp_path)


def test_tampered_model_file_is_refused(foreign_bundle, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(foreign_bundle, copy)
    with open(copy / "model.onnx", "r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(copy)


def _edited_copy(bundle, tmp_path, edit):
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(bundle, copy)
    data = json.loads((copy / "manifest.json").read_text())
    edit(data)
    (copy / "manifest.json").write_text(json.dumps(data))
    return copy


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(labels=m["labels"][:2]), "lists 2 labels"),
        (lambda m: m["input"].update(input_hw=[100, 100]), "rejects the manifest's input"),
        (lambda m: m["input"].update(dtype="float32", normalize_in_graph=False), "takes uint8"),
        (lambda m: m["input"].update(input_hw=[224.5, 224]), "two integers"),
        (lambda m: m.update(input=None), "must be a JSON object"),
        (lambda m: m["variants"][0].update(sha256=5), "must be a dict"),
        (lambda m: m["variants"][0].update(sha256={}), "no sha256 recorded"),
        (lambda m: m["variants"][0].update(file="/etc/passwd"), "not a path inside"),
        (lambda m: m["variants"][0].update(file="../model.onnx"), "not a path inside"),
    ],
)
def test_hand_edited_manifests_are_refused_at_open(foreign_bundle, tmp_path, edit, message):
    copy = _edited_copy(foreign_bundle, tmp_path, edit)
    with pytest.raises(BundleError, match=message):
        open_runtime(copy)


def test_self_test_times_the_first_inference(foreign_bundle):
    runtime = open_runtime(foreign_bundle)
    assert runtime.first_inference_ms is not None and runtime.first_inference_ms > 0


@pytest.mark.openvino
def test_openvino_reads_a_reused_input_buffer_afresh(foreign_bundle, shared_data):
    """OpenVINO binds the caller's array without copying and skips re-binding the same array;
    a buffer refilled in place with each photo must still give that photo's answer, equal to
    ONNX Runtime's on the same bytes, and a returned output must not change afterwards."""
    pytest.importorskip("openvino")
    ov_runtime = open_runtime(foreign_bundle, backend="openvino")
    ort_runtime = open_runtime(foreign_bundle, backend="onnxruntime")
    contract = ov_runtime.contract
    buffer = np.empty((1, *preprocess(np.zeros((8, 8, 3), np.uint8), contract).shape), np.uint8)
    outputs = []
    for path in list_images(shared_data / "imagenet_samples"):
        buffer[0] = preprocess(load_image(path), contract)
        outputs.append(ov_runtime.infer(buffer))
        expected = ort_runtime.infer(buffer)
        assert outputs[-1].argmax() == expected.argmax()
        # The two backends' uint8 kernels round differently: a few 1/256 steps apart.
        assert np.abs(outputs[-1].astype(int) - expected.astype(int)).max() <= 8
    kept = outputs[0].copy()
    ov_runtime.infer(np.ascontiguousarray(buffer[:, ::-1]))  # a different array, flipped rows
    assert np.array_equal(outputs[0], kept)
    assert len({int(o.argmax()) for o in outputs}) == len(outputs)  # every photo differs
