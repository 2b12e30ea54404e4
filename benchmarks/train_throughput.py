"""Training throughput of edgevision's step loop against a minimal plain PyTorch loop.

Both loops train the same architecture on the same in-memory batches (so image decoding is left
out of both), with the same batch size, image size, threads and precision, in interleaved
rounds so that machine drift hits both equally. edgevision's loop is the one ``train`` runs with
the default recipe: AdamW with two learning-rate groups, warm-up/cosine schedule, label
smoothing, gradient clipping and a weight EMA. Writes ``results/train_throughput_<device>.json``.

    python benchmarks/train_throughput.py [--arch torchvision:mobilenet_v2] [--batch 32]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _conditions import conditions  # noqa: E402

from edgevision.models import build_model  # noqa: E402
from edgevision.training import TrainConfig  # noqa: E402
from edgevision.training.loop import amp_dtype, autocast, resolve_device, train_epoch  # noqa: E402
from edgevision.training.recipe import ModelEMA  # noqa: E402
from edgevision.training.session import make_step  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="torchvision:mobilenet_v2")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--steps", type=int, default=4, help="timed steps per round and loop")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path)
    return p.parse_args()


def make_loader(args: argparse.Namespace, classes: int) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(args.batch * args.steps, 3, args.size, args.size, generator=generator)
    labels = torch.randint(0, classes, (len(images),), generator=generator)
    return DataLoader(TensorDataset(images, labels), batch_size=args.batch, shuffle=False)


class _OneSplit:
    """Just enough of ``Splits`` for make_step (class count, no class weighting)."""

    classes = ("a", "b")


def edgevision_loop(args, device, loader):
    torch.manual_seed(0)
    model = build_model(args.arch, 2).to(device)
    config = TrainConfig(data="-", epochs=100, batch_size=args.batch)
    step = make_step(config, model, _OneSplit(), device, len(loader))  # type: ignore[arg-type]
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    ema = ModelEMA(model, config.ema_decay)
    step.after_step = lambda: ema.update(model)

    def run() -> float:
        return train_epoch(step, loader)["train_images_per_s"]

    return run


def plain_loop(args, device, loader):
    torch.manual_seed(0)
    model = build_model(args.arch, 2).to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    criterion = nn.CrossEntropyLoss()
    precision = amp_dtype(device, True)

    def run() -> float:
        model.train()
        seen, start = 0, time.perf_counter()
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            if device.type == "cuda":
                images = images.contiguous(memory_format=torch.channels_last)
            with autocast(device, precision):
                loss = criterion(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            float(loss.detach())  # the same one host sync per step as edgevision's loop
            seen += len(images)
        return seen / (time.perf_counter() - start)

    return run


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    loader = make_loader(args, 2)
    loops = {
        "edgevision": edgevision_loop(args, device, loader),
        "plain": plain_loop(args, device, loader),
    }
    for run in loops.values():
        run()  # warm-up round (allocator, kernels, optimizer state)
    load_before = conditions(str(device))["load_average_1_5_15"]
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for round_index in range(args.rounds):
        order = list(loops) if round_index % 2 == 0 else list(reversed(loops))
        for name in order:
            rates[name].append(loops[name]())
    medians = {name: statistics.median(values) for name, values in rates.items()}
    result = {
        "benchmark": "train_throughput",
        "what": "training steps on in-memory batches (decode excluded), images/s",
        "arch": args.arch,
        "batch": args.batch,
        "image_size": args.size,
        "steps_per_round": args.steps,
        "rounds": args.rounds,
        "precision": str(amp_dtype(device, True) or torch.float32).replace("torch.", ""),
        "images_per_s": rates,
        "median_images_per_s": medians,
        "ratio_edgevision_over_plain": medians["edgevision"] / medians["plain"],
        "goal_ratio": 0.95,
        "conditions": {**conditions(str(device)), "load_average_before": load_before},
    }
    out = args.out or HERE / "results" / f"train_throughput_{device.type}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps({k: result[k] for k in ("median_images_per_s", "ratio_edgevision_over_plain")})
    )


if __name__ == "__main__":
    main()
