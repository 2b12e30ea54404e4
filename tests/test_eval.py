"""``edgevision eval`` on a bundle (no torch) and on a checkpoint, plus the metric arithmetic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgevision.cli.main import main
from edgevision.evaluation import classification_report

REPO = Path(__file__).resolve().parents[1]

# The quantized MobileNet V2's top-1 for each sample photo (shared data's PROVENANCE).
SAMPLE_LABELS = {
    "parrot.jpg": "macaw",
    "hot_dog.jpg": "hotdog, hot dog, red hot",
    "cat_720p.jpg": "Egyptian cat",
    "owl.jpg": "ruffed grouse, partridge, Bonasa umbellus",
    "grace_hopper.bmp": "military uniform",
}


def test_report_arithmetic_on_known_scores():
    scores = np.array(
        [[0.9, 0.1, 0, 0, 0, 0], [0.2, 0.7, 0.1, 0, 0, 0], [0.6, 0.3, 0.1, 0, 0, 0],
         [0, 0, 0.1, 0.2, 0.3, 0.4]]
    )  # fmt: skip
    targets = np.array([0, 1, 1, 3])
    report = classification_report(scores, targets, list("abcdef"), paths=list("wxyz"))
    assert report.top1 == 0.5
    assert report.top5 == 1.0
    assert report.confusion[1] == [1, 1, 0, 0, 0, 0]
    assert report.per_class["a"]["precision"] == 0.5 and report.per_class["b"]["recall"] == 0.5
    assert report.per_class["d"]["recall"] == 0.0 and report.per_class["d"]["support"] == 1
    assert [w["path"] for w in report.worst] == ["y", "z"]  # most confident mistake first


def test_top5_absent_with_fewer_than_five_classes():
    report = classification_report(np.eye(3), np.arange(3), ["a", "b", "c"])
    assert report.top1 == 1.0 and report.top5 is None


def _samples_folder(shared: Path, root: Path) -> Path:
    for name, label in SAMPLE_LABELS.items():
        (root / label).mkdir(parents=True)
        (root / label / name).symlink_to(shared / "imagenet_samples" / name)
    return root


def test_eval_bundle_without_torch(shared_data, foreign_bundle, tmp_path):
    data = _samples_folder(shared_data, tmp_path / "samples")
    out = tmp_path / "report.json"
    script = (
        "import sys\n"
        "from edgevision.cli.main import main\n"
        f"code = main(['-q', 'eval', '--bundle', {str(foreign_bundle)!r}, '--data', "
        f"{str(data)!r}, '--json', {str(out)!r}])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["count"] == 5
    assert report["top1"] == 1.0 and report["top5"] == 1.0
    assert len(report["labels"]) == 1001
    assert "top-1: 100.00 %" in done.stdout


def test_eval_folder_with_unknown_class_is_one_line(shared_data, foreign_bundle, tmp_path, capsys):
    data = tmp_path / "data"
    (data / "not a label").mkdir(parents=True)
    (data / "not a label" / "owl.jpg").symlink_to(shared_data / "imagenet_samples" / "owl.jpg")
    assert main(["-q", "eval", "--bundle", str(foreign_bundle), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "not among the model's labels" in err


def test_eval_truncated_checkpoint_is_one_line(tmp_path, capsys):
    pytest.importorskip("torch")
    bad = tmp_path / "best.pt"
    bad.write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "data" / "a").mkdir(parents=True)
    (tmp_path / "data" / "b").mkdir(parents=True)
    code = main(["-q", "eval", "--checkpoint", str(bad), "--data", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err


@pytest.mark.torch
@pytest.mark.slow
def test_eval_checkpoint_matches_training_validation(
    shared_data, hymenoptera_checkpoint, hymenoptera_training, tmp_path, capsys
):
    out = tmp_path / "eval.json"
    picture = tmp_path / "confusion.png"
    code = main([
        "-q", "eval", "--checkpoint", str(hymenoptera_checkpoint), "--data",
        str(shared_data / "hymenoptera" / "val"), "--json", str(out), "--confusion", str(picture),
    ])  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["count"] == 153
    # Same preprocessing code as training-time validation: identical accuracy.
    assert report["top1"] == pytest.approx(hymenoptera_training.best_metrics["val_top1"])
    assert report["top5"] is None and sum(map(sum, report["confusion"])) == 153
    assert picture.stat().st_size > 1000
    assert "top-1:" in capsys.readouterr().out


def test_eval_keeps_an_existing_json_without_force(shared_data, foreign_bundle, tmp_path, capsys):
    data = _samples_folder(shared_data, tmp_path / "samples")
    out = tmp_path / "report.json"
    out.write_text("mine")
    args = ["-q", "eval", "--bundle", str(foreign_bundle), "--data", str(data), "--json", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and "--force" in err and len(err.splitlines()) == 1
    assert out.read_text() == "mine"
    assert main([*args, "--force"]) == 0
    assert json.loads(out.read_text())["count"] == 5


def test_eval_checkpoint_folder_suggests_best_pt(tmp_path, capsys):
    pytest.importorskip("torch")
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.pt").write_bytes(b"")
    (tmp_path / "data" / "a").mkdir(parents=True)
    code = main(["-q", "eval", "--checkpoint", str(run), "--data", str(tmp_path / "data")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "is a folder" in err and f"did you mean {run / 'best.pt'}?" in err


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_eval_batch_size_is_checked(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as stop:
        main(["eval", "--bundle", "b", "--data", "d", "--batch-size", value])
    assert stop.value.code == 2 and "--batch-size" in capsys.readouterr().err


def test_unreadable_weights_file_is_one_line(shared_data, tmp_path):
    pytest.importorskip("torch")
    from edgevision.errors import ModelError
    from edgevision.models import load_weights_file

    whole = shared_data / "weights"
    cut = tmp_path / "trunc.onnx"
    cut.write_bytes((whole / "mobilenet_v2_1.0_224_quant.onnx").read_bytes()[:100_000])
    with pytest.raises(ModelError) as caught:
        load_weights_file(cut)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and "weights_only" not in message
    assert message.startswith(f"cannot read weights from {cut}") and ".safetensors" in message


@pytest.mark.openvino
def test_eval_bundle_device_is_honoured_not_replaced(shared_data, foreign_bundle, tmp_path, capsys):
    pytest.importorskip("openvino")
    data = tmp_path / "data"
    (data / "macaw").mkdir(parents=True)
    (data / "macaw" / "parrot.jpg").symlink_to(shared_data / "imagenet_samples" / "parrot.jpg")
    args = ["-q", "eval", "--bundle", str(foreign_bundle), "--data", str(data)]
    assert main([*args, "--backend", "openvino", "--device", "GPU"]) == 2
    err = capsys.readouterr().err.strip()
    assert "OpenVINO device GPU is not present" in err and len(err.splitlines()) == 1
    report = tmp_path / "eval.json"
    assert main([*args, "--backend", "openvino", "--device", "cpu", "--json", str(report)]) == 0
    scores = json.loads(report.read_text())
    assert scores["count"] == 1 and scores["top1"] == 1.0  # the parrot is a macaw
