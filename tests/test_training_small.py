"""Fast training tests on small real-photo subsets at small input sizes (2 CPU cores)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgevision.errors import DataError  # noqa: E402
from edgevision.models import load_checkpoint  # noqa: E402
from edgevision.training import TrainConfig, train  # noqa: E402

pytestmark = pytest.mark.torch

REPO = Path(__file__).resolve().parents[1]
BN_WEIGHTS = "mobilenet_v2_imagenet_from_tflite_bn.safetensors"


def link_subset(shared: Path, target: Path, *, train_per_class: int, val_per_class: int) -> Path:
    """A train/ + val/ folder of symlinks to the first hymenoptera photos of each class."""
    for part, count in (("train", train_per_class), ("val", val_per_class)):
        for cls in ("ants", "bees"):
            src = sorted((shared / "hymenoptera" / part / cls).glob("*.jpg"))[:count]
            (target / part / cls).mkdir(parents=True, exist_ok=True)
            for path in src:
                (target / part / cls / path.name).symlink_to(path)
    return target


def small_config(shared: Path, data: Path, out: Path, **overrides) -> TrainConfig:
    values = dict(
        data=str(data),
        weights=str(shared / "weights" / BN_WEIGHTS),
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        input_hw=(64, 64),
        resize_shorter=72,
        epochs=2,
        batch_size=16,
        seed=3,
        out_dir=str(out),
        threads=2,
    )
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def tiny_data(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return link_subset(
        shared_data, tmp_path_factory.mktemp("tiny"), train_per_class=24, val_per_class=16
    )


def test_same_seed_gives_identical_metrics(shared_data, tiny_data, tmp_path):
    first = train(small_config(shared_data, tiny_data, tmp_path, name="a"))
    second = train(small_config(shared_data, tiny_data, tmp_path, name="b"))
    keys = ("val_loss", "val_top1", "train_loss")
    assert [[r[k] for k in keys] for r in first.history] == [
        [r[k] for k in keys] for r in second.history
    ]
    a = load_checkpoint(first.best_checkpoint).state_dict
    b = load_checkpoint(second.best_checkpoint).state_dict
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_run_folder_contents_and_resolved_config(shared_data, tiny_data, tmp_path):
    result = train(small_config(shared_data, tiny_data, tmp_path, name="run", epochs=2))
    run = result.run_dir
    config = json.loads((run / "config.json").read_text())
    assert config["mean"] == [0.5, 0.5, 0.5] and config["input_hw"] == [64, 64]
    rows = json.loads((run / "metrics.json").read_text())
    assert [r["epoch"] for r in rows] == [0, 1]
    csv_lines = (run / "metrics.csv").read_text().splitlines()
    assert len(csv_lines) == 3 and "val_top1" in csv_lines[0]
    checkpoint = load_checkpoint(result.best_checkpoint)
    assert checkpoint.labels == ["ants", "bees"]
    assert checkpoint.contract.mean == (0.5, 0.5, 0.5) and checkpoint.contract.input_hw == (64, 64)
    assert checkpoint.metrics["val_top1"] == pytest.approx(result.best_metrics["val_top1"])
    report = json.loads((run / "report.json").read_text())
    assert report["count"] == 32 and set(report["per_class"]) == {"ants", "bees"}
    assert report["top1"] == pytest.approx(result.best_metrics["val_top1"], abs=1e-6)
    assert sum(map(sum, report["confusion"])) == 32
    from edgevision.images import load_image

    for picture in ("curves.png", "confusion.png", "worst.png"):
        assert load_image(run / picture).shape[0] > 100


def test_single_folder_is_split_with_the_seed(shared_data, tmp_path):
    flat = tmp_path / "flat"
    for cls in ("ants", "bees"):
        (flat / cls).mkdir(parents=True)
        for path in sorted((shared_data / "hymenoptera" / "val" / cls).glob("*.jpg"))[:15]:
            (flat / cls / path.name).symlink_to(path)
    config = small_config(shared_data, flat, tmp_path / "runs", epochs=1, name="split")
    result = train(config)
    data = load_checkpoint(result.best_checkpoint).data
    assert data["val_counts"] == {"ants": 3, "bees": 3}
    assert data["train_counts"] == {"ants": 12, "bees": 12}


def test_unreadable_files_are_skipped_with_one_warning_each(shared_data, tmp_path, caplog):
    data = link_subset(shared_data, tmp_path / "data", train_per_class=8, val_per_class=4)
    (data / "train" / "ants" / "empty.jpg").write_bytes(b"")
    (data / "train" / "bees" / "not an image.png").write_text("hello")
    (data / "val" / "bees" / "notes.txt").write_text("not an image suffix")
    gif = shared_data / "hymenoptera" / "train" / "ants" / "imageNotFound.gif"
    (data / "train" / "ants" / "imageNotFound.gif").symlink_to(gif)
    caplog.set_level(logging.WARNING)
    result = train(small_config(shared_data, data, tmp_path / "runs", epochs=1, name="bad"))
    summary = load_checkpoint(result.best_checkpoint).data
    assert summary["skipped_unreadable"] == 2
    assert summary["train_counts"] == {"ants": 9, "bees": 8}  # the GIF placeholder loads
    unreadable = [r for r in caplog.records if "unreadable image:" in r.getMessage()]
    assert len(unreadable) == 2
    assert any("skipped 2 unreadable" in r.getMessage() for r in caplog.records)


def test_class_without_readable_images_is_a_data_error(shared_data, tmp_path):
    data = link_subset(shared_data, tmp_path / "data", train_per_class=4, val_per_class=2)
    for path in (data / "train" / "bees").iterdir():
        path.unlink()
    (data / "train" / "bees" / "broken.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(DataError, match="no readable images"):
        train(small_config(shared_data, data, tmp_path / "runs", epochs=1))


def _cli(*args: str, env: dict | None = None) -> list[str]:
    return [sys.executable, "-m", "edgevision", *args]


def _train_args(
    shared: Path, data: Path, out: Path, name: str, epochs: int, batch: int = 8, *extra: str
) -> list[str]:
    return [
        "train", "--data", str(data), "--weights", str(shared / "weights" / BN_WEIGHTS),
        "--mean", "0.5", "--std", "0.5", "--input-size", "96", "--resize-shorter", "110",
        "--epochs", str(epochs), "--batch-size", str(batch), "--seed", "1", "--threads", "1",
        "--out", str(out), "--name", name, "--patience", "0", *extra,
    ]  # fmt: skip


def _wait_for_epochs(run_dir: Path, count: int, process: subprocess.Popen, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        metrics = run_dir / "metrics.json"
        if metrics.is_file():
            rows = json.loads(metrics.read_text())
            if len(rows) >= count:
                return rows
        assert process.poll() is None, "training ended before it could be killed"
        time.sleep(0.05)
    raise AssertionError(f"no {count} epochs within {timeout_s} s")


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_continues_from_last_epoch(shared_data, tmp_path):
    data = link_subset(shared_data, tmp_path / "data", train_per_class=40, val_per_class=10)
    out = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    reference = subprocess.run(
        _cli(*_train_args(shared_data, data, out, "reference", 3)), env=env, capture_output=True,
        text=True, timeout=600, check=True,
    )  # fmt: skip
    assert "best checkpoint" in reference.stdout

    killed = out / "killed"
    process = subprocess.Popen(
        _cli(*_train_args(shared_data, data, out, "killed", 3)), env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    rows = _wait_for_epochs(killed, 1, process, timeout_s=300)
    time.sleep(rows[0]["train_time_s"] / 2)  # about half-way through the second epoch
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    completed = load_checkpoint(killed / "last.pt").epoch
    assert completed in (0, 1)
    assert len(json.loads((killed / "metrics.json").read_text())) == completed + 1

    resumed = subprocess.run(
        _cli("train", "--resume", str(killed)), env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert f"after epoch {completed + 1}" in resumed.stderr
    final = json.loads((killed / "metrics.json").read_text())
    expected = json.loads((out / "reference" / "metrics.json").read_text())
    assert [r["epoch"] for r in final] == [0, 1, 2]
    # Per-epoch seeding plus restored optimizer/schedule/EMA state: the same numbers as a run
    # that was never interrupted.
    for got, want in zip(final, expected, strict=True):
        assert got["val_loss"] == pytest.approx(want["val_loss"], abs=1e-5)
        assert got["val_top1"] == pytest.approx(want["val_top1"])


FROZEN_BN = ("--bn-mode", "frozen")


@pytest.mark.slow
def test_torchrun_two_processes_matches_one_process(shared_data, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun not found beside the Python interpreter")
    data = link_subset(shared_data, tmp_path / "data", train_per_class=32, val_per_class=20)
    out = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    single = subprocess.run(
        _cli(*_train_args(shared_data, data, out, "one", 2, 16, *FROZEN_BN)), env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    double = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "edgevision",
         *_train_args(shared_data, data, out, "two", 2, 16, *FROZEN_BN)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert double.returncode == 0, double.stderr[-3000:]
    assert "rank 1 of 2" in double.stderr
    one = json.loads((out / "one" / "metrics.json").read_text())
    two = json.loads((out / "two" / "metrics.json").read_text())
    assert len(one) == len(two) == 2
    # Same global batch (16 = 2 x 8) and sample order, BatchNorm frozen so that per-process batch
    # statistics play no part; augmentation draws differ, so metrics agree within a tolerance.
    final_one, final_two = one[-1], two[-1]
    assert abs(final_one["val_top1"] - final_two["val_top1"]) <= 0.1
    assert abs(final_one["val_loss"] - final_two["val_loss"]) <= 0.15
    assert abs(final_one["train_loss"] - final_two["train_loss"]) <= 0.2
    assert min(final_one["val_top1"], final_two["val_top1"]) >= 0.6  # chance is 0.5
    assert np.isfinite([r["train_loss"] for r in two]).all()
    shutil.rmtree(out)


def test_folded_batchnorm_is_detected_only_in_the_folded_file(shared_data):
    from edgevision.models import build_model
    from edgevision.training.bn import has_folded_batchnorm
    from edgevision.training.session import batchnorm_policy

    weights = shared_data / "weights"
    folded = build_model(
        "torchvision:mobilenet_v2", 2, weights=weights / BN_WEIGHTS.replace("_bn", "")
    )
    measured = build_model("torchvision:mobilenet_v2", 2, weights=weights / BN_WEIGHTS)
    assert has_folded_batchnorm(folded) and not has_folded_batchnorm(measured)
    config = TrainConfig(data="x", weights=str(weights / BN_WEIGHTS.replace("_bn", "")))
    assert batchnorm_policy(config, folded) == (True, False)
    # A random start also has running stats 0/1, but it has no pretrained function to protect.
    scratch = build_model("torchvision:mobilenet_v2", 2)
    assert batchnorm_policy(TrainConfig(data="x"), scratch) == (False, False)


def test_low_momentum_batchnorm_is_recalibrated_to_the_data_statistics(shared_data, tiny_data):
    from edgevision.contract import InputContract
    from edgevision.images import scan_image_folder
    from edgevision.models import build_model
    from edgevision.training.bn import batchnorms, has_low_momentum, recalibrate_batchnorm
    from edgevision.training.data import EvalDataset, make_loader
    from edgevision.training.session import batchnorm_policy

    torch.manual_seed(0)
    model = build_model("torchvision:mobilenet_v3_small", 2)
    assert has_low_momentum(model)
    assert batchnorm_policy(TrainConfig(data="x", hub=False), model) == (False, True)
    folder = scan_image_folder(tiny_data / "train")
    loader = make_loader(
        EvalDataset(folder, InputContract(input_hw=(64, 64), resize_shorter=72)),
        batch_size=16, shuffle=False, workers=0, seed=0,
    )  # fmt: skip
    first_bn = batchnorms(model)[0]
    inputs: list[torch.Tensor] = []
    hook = first_bn.register_forward_pre_hook(lambda _m, args: inputs.append(args[0].detach()))
    seen = recalibrate_batchnorm(model, (x for x, _ in loader), device=torch.device("cpu"))
    hook.remove()
    assert seen == 48
    activations = torch.cat(inputs)
    expected_mean = activations.mean(dim=(0, 2, 3))
    assert torch.allclose(first_bn.running_mean, expected_mean, atol=1e-4)
    assert first_bn.momentum == pytest.approx(0.01)  # restored afterwards
    assert model.training  # the mode it had before


def test_optional_recipe_features_change_training(shared_data, tiny_data, tmp_path):
    base = train(small_config(shared_data, tiny_data, tmp_path, name="base", epochs=2))
    options = dict(freeze_epochs=1, augment="randaugment", mixup=0.2, cutmix=1.0)
    extra = train(
        small_config(shared_data, tiny_data, tmp_path, name="extra", epochs=2,
                     class_weighting=True, **options)
    )  # fmt: skip
    config = json.loads((extra.run_dir / "config.json").read_text())
    assert {key: config[key] for key in options} == options and config["class_weighting"]
    losses = [row["train_loss"] for row in extra.history]
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert losses != [row["train_loss"] for row in base.history]
    # Frozen-backbone warm-up still trains the head: the pretrained features separate the
    # classes well above chance (0.5) after it.
    assert extra.history[0]["val_top1"] > 0.6
