"""Value of transfer learning: the default recipe on hymenoptera from pretrained vs random weights.

Trains torchvision MobileNetV2 with the same default recipe, epochs and seed three times: from
the shared ImageNet weights with measured BatchNorm statistics (``_bn``), from the folded-BN
file (BatchNorm frozen automatically), and from random initialisation. Writes
``results/transfer_vs_scratch.json``.

    python benchmarks/transfer_vs_scratch.py [--epochs 4] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _conditions import conditions  # noqa: E402

from edgevision.training import TrainConfig, train  # noqa: E402

VARIANTS = {
    "pretrained_bn": "mobilenet_v2_imagenet_from_tflite_bn.safetensors",
    "pretrained_folded_bn": "mobilenet_v2_imagenet_from_tflite.safetensors",
    "random_init": None,
}


def run_variant(shared: Path, weights: str | None, epochs: int, out: Path) -> dict:
    config = TrainConfig(
        data=str(shared / "hymenoptera"),
        arch="torchvision:mobilenet_v2",
        weights=str(shared / "weights" / weights) if weights else None,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        input_hw=(224, 224),
        resize_shorter=256,
        epochs=epochs,
        patience=0,
        seed=0,
        threads=2,
        out_dir=str(out),
    )
    start = time.perf_counter()
    result = train(config)
    return {
        "weights": weights,
        "best_val_top1": result.best_metrics["val_top1"],
        "best_epoch": result.best_metrics["epoch"] + 1,
        "val_top1_per_epoch": [row["val_top1"] for row in result.history],
        "bn_frozen": result.bn_frozen,
        "wall_s": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--out", type=Path, default=HERE / "results" / "transfer_vs_scratch.json")
    args = p.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.variants.split(","):
            results[name] = run_variant(args.data, VARIANTS[name], args.epochs, Path(tmp))
            print(name, json.dumps(results[name]), flush=True)
    document = {
        "benchmark": "transfer_vs_scratch",
        "what": "best validation top-1 on hymenoptera val (153 photos), default recipe, seed 0",
        "arch": "torchvision:mobilenet_v2",
        "epochs": args.epochs,
        "input_contract": "RGB, shorter side 256, centre crop 224, mean = std = 0.5",
        "results": results,
        "conditions": conditions("cpu"),
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
