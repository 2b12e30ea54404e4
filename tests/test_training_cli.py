"""``edgevision train`` / ``models`` on bad input: one clear line, exit code 2, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from edgevision.cli.main import main  # noqa: E402

pytestmark = pytest.mark.torch

BN_WEIGHTS = "mobilenet_v2_imagenet_from_tflite_bn.safetensors"


def _folder(root: Path, shared: Path, classes: dict[str, str], count: int = 3) -> Path:
    """Class folders of symlinks to hymenoptera val photos: {new class name: source class}."""
    for name, source in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for path in sorted((shared / "hymenoptera" / "val" / source).glob("*.jpg"))[:count]:
            (root / name / path.name).symlink_to(path)
    return root


def _run_train(capsys, *args: str) -> tuple[int, str]:
    code = main(["-q", "train", "--input-size", "32", "--resize-shorter", "36", *args])
    return code, capsys.readouterr().err


def _assert_one_error_line(stderr: str, *words: str) -> None:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, stderr
    for word in words:
        assert word in errors[0], errors[0]


def test_missing_data_folder(tmp_path, capsys):
    code, err = _run_train(capsys, "--data", str(tmp_path / "nope"), "--no-pretrained")
    assert code == 2
    _assert_one_error_line(err, "not found", "nope")


def test_single_class_folder(shared_data, tmp_path, capsys):
    data = _folder(tmp_path / "data", shared_data, {"ants": "ants"})
    code, err = _run_train(capsys, "--data", str(data), "--no-pretrained", "--out", str(tmp_path))
    assert code == 2
    _assert_one_error_line(err, "single class", "two class folders")


def test_train_and_val_classes_differ(shared_data, tmp_path, capsys):
    data = tmp_path / "data"
    _folder(data / "train", shared_data, {"ants": "ants", "bees": "bees"})
    _folder(data / "val", shared_data, {"ants": "ants", "wasps": "bees"})
    code, err = _run_train(capsys, "--data", str(data), "--no-pretrained", "--out", str(tmp_path))
    assert code == 2
    _assert_one_error_line(err, "missing ['bees']", "unexpected ['wasps']")


def test_all_images_of_a_class_corrupt(shared_data, tmp_path, capsys):
    data = _folder(tmp_path / "data", shared_data, {"ants": "ants"})
    (data / "bees").mkdir()
    (data / "bees" / "zero.jpg").write_bytes(b"")
    (data / "bees" / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    code, err = _run_train(capsys, "--data", str(data), "--no-pretrained", "--out", str(tmp_path))
    assert code == 2
    _assert_one_error_line(err, "bees", "no readable images")


def test_weights_for_another_architecture(shared_data, tmp_path, capsys):
    data = _folder(tmp_path / "data", shared_data, {"ants": "ants", "bees": "bees"})
    weights = shared_data / "weights" / BN_WEIGHTS
    code, err = _run_train(
        capsys, "--data", str(data), "--arch", "torchvision:resnet18", "--weights", str(weights),
        "--out", str(tmp_path / "runs"),
    )  # fmt: skip
    assert code == 2
    _assert_one_error_line(err, "missing", "unexpected", "conv1.weight", "--arch")
    assert not (tmp_path / "runs").exists()  # no empty run folder left behind


def test_existing_run_folder_is_not_overwritten(shared_data, tmp_path, capsys):
    data = _folder(tmp_path / "data", shared_data, {"ants": "ants", "bees": "bees"})
    mine = tmp_path / "runs" / "exp"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me")
    code, err = _run_train(
        capsys, "--data", str(data), "--no-pretrained", "--out", str(tmp_path / "runs"),
        "--name", "exp",
    )  # fmt: skip
    assert code == 2
    _assert_one_error_line(err, "already exists", "--resume")
    assert (mine / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_bad_flag_value(tmp_path, capsys):
    code, err = _run_train(capsys, "--data", str(tmp_path), "--epochs", "0")
    assert code == 2
    _assert_one_error_line(err, "--epochs")


def test_models_lists_matching_architectures(capsys):
    assert main(["models", "*mobilenet_v3_small*"]) == 0
    names = capsys.readouterr().out.split()
    assert "torchvision:mobilenet_v3_small" in names
    assert all("mobilenet_v3_small" in n for n in names)
    assert main(["models", "no_such_net_*"]) == 2


@pytest.mark.cuda
def test_batch_too_large_for_the_gpu_suggests_a_smaller_one():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    from edgevision.training.loop import _oom_error

    err = _oom_error(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), 512)
    assert "--batch-size 256" in str(err)
