"""Session fixtures that train real models once (needs torch; see conftest.py).

``hymenoptera_checkpoint`` fine-tunes torchvision MobileNetV2 from the shared ImageNet weights
(with measured BatchNorm statistics) on hymenoptera ``train/`` with the default recipe and a
short schedule, validating on ``val/``. Other tests (export, eval) reuse its best checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Epochs of the short default-recipe run; about 30-60 s an epoch on 2 CPU cores.
HYMENOPTERA_EPOCHS = 4


def hymenoptera_config(shared: Path, out_dir: Path, weights_name: str, **overrides):
    """The default recipe on hymenoptera with the shared MobileNetV2 weights' contract."""
    from edgevision.training import TrainConfig

    values = dict(
        data=str(shared / "hymenoptera"),
        arch="torchvision:mobilenet_v2",
        weights=str(shared / "weights" / weights_name),
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        input_hw=(224, 224),
        resize_shorter=256,
        epochs=HYMENOPTERA_EPOCHS,
        seed=0,
        out_dir=str(out_dir),
        name="hymenoptera",
        threads=2,
    )
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="session")
def hymenoptera_training(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """The TrainResult of the default recipe on hymenoptera from the ``_bn`` weights."""
    pytest.importorskip("torch")
    from edgevision.training import train

    out = tmp_path_factory.mktemp("train_hymenoptera")
    config = hymenoptera_config(
        shared_data, out, "mobilenet_v2_imagenet_from_tflite_bn.safetensors"
    )
    return train(config)


@pytest.fixture(scope="session")
def hymenoptera_checkpoint(hymenoptera_training) -> Path:
    """best.pt of a MobileNetV2 fine-tuned on hymenoptera (ants, bees), val top-1 >= 93 %."""
    return hymenoptera_training.best_checkpoint
