"""``edgevision train``: fine-tune a classifier on an image folder and write a run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _floats3(text: str) -> tuple[float, float, float]:
    values = [float(v) for v in text.replace(",", " ").split()]
    if len(values) == 1:
        values *= 3
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected 1 or 3 numbers, got {text!r}")
    return (values[0], values[1], values[2])


def _size(text: str) -> tuple[int, int]:
    values = [int(v) for v in text.lower().replace("x", " ").replace(",", " ").split()]
    if len(values) == 1:
        values *= 2
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}")
    return (values[0], values[1])


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``train`` and its flags (defaults are the default fine-tuning recipe)."""
    p = subparsers.add_parser("train", help="fine-tune a classifier on an image folder")
    p.add_argument("--data", help="image folder: train/ + val/ sub-folders, or one folder to split")
    p.add_argument("--arch", default="torchvision:mobilenet_v2", help="torchvision:/timm: name")
    p.add_argument("--weights", help="pretrained weights file (.safetensors, .pt/.pth)")
    p.add_argument("--no-pretrained", action="store_true", help="start from random weights")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last epoch")
    p.add_argument("--out", default="runs", help="parent folder of run folders")
    p.add_argument("--name", help="run folder name (default: run-<time stamp>)")
    contract = p.add_argument_group("input contract (default: the architecture's own)")
    contract.add_argument("--input-size", type=_size, help="N or HxW")
    contract.add_argument("--resize-shorter", type=int, help="shorter side before the centre crop")
    contract.add_argument("--resize", choices=("crop", "direct"))
    contract.add_argument("--mean", type=_floats3, help="1 or 3 values, e.g. 0.5")
    contract.add_argument("--std", type=_floats3, help="1 or 3 values, e.g. 0.5")
    contract.add_argument("--interpolation", choices=("area", "bilinear", "bicubic", "nearest"))
    contract.add_argument("--color-order", choices=("rgb", "bgr"))
    recipe = p.add_argument_group("recipe")
    recipe.add_argument("--epochs", type=int, help="maximum epochs (default 10)")
    recipe.add_argument("--freeze-epochs", type=int, default=0, help="head-only warm-up epochs")
    recipe.add_argument("--batch-size", type=int, default=32, help="global batch size")
    recipe.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of the head")
    recipe.add_argument("--backbone-lr-scale", type=float, default=0.1)
    recipe.add_argument("--weight-decay", type=float, default=0.05)
    recipe.add_argument("--warmup-epochs", type=float, default=0.5)
    recipe.add_argument("--crop-scale-min", type=float, default=0.5, help="random crop area")
    recipe.add_argument("--color-jitter", type=float, default=0.2)
    recipe.add_argument("--label-smoothing", type=float, default=0.1)
    recipe.add_argument("--ema-decay", type=float, default=0.99, help="0 turns EMA off")
    recipe.add_argument("--clip-grad-norm", type=float, default=1.0, help="0 turns it off")
    recipe.add_argument("--patience", type=int, default=5, help="early stopping; 0 turns it off")
    recipe.add_argument("--class-weighting", action="store_true")
    recipe.add_argument(
        "--augment", choices=("none", "randaugment", "trivialaugment"), default="none"
    )
    recipe.add_argument("--mixup", type=float, default=0.0, help="MixUp alpha (0: off)")
    recipe.add_argument("--cutmix", type=float, default=0.0, help="CutMix alpha (0: off)")
    recipe.add_argument("--bn-mode", choices=("auto", "train", "frozen"), default="auto")
    recipe.add_argument("--bn-recalibrate", choices=("auto", "always", "never"), default="auto")
    recipe.add_argument("--val-fraction", type=float, default=0.2)
    recipe.add_argument("--seed", type=int, default=0)
    speed = p.add_argument_group("speed")
    speed.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    speed.add_argument("--no-amp", action="store_true", help="full fp32 on CUDA")
    speed.add_argument("--compile", action="store_true", help="torch.compile the model")
    speed.add_argument("--workers", type=int, default=0, help="data loader processes")
    speed.add_argument("--threads", type=int, help="torch CPU threads")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace):
    """Fill a TrainConfig from the parsed flags."""
    from edgevision.errors import ConfigError
    from edgevision.training import TrainConfig

    if not args.data:
        raise ConfigError("no data folder given; pass --data FOLDER (or --resume RUN_DIR)")
    return TrainConfig(
        data=args.data,
        arch=args.arch,
        weights=args.weights,
        hub=args.weights is None and not args.no_pretrained,
        input_hw=args.input_size,
        resize_shorter=args.resize_shorter,
        resize=args.resize,
        mean=args.mean,
        std=args.std,
        interpolation=args.interpolation,
        color_order=args.color_order,
        val_fraction=args.val_fraction,
        epochs=10 if args.epochs is None else args.epochs,
        freeze_epochs=args.freeze_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        backbone_lr_scale=args.backbone_lr_scale,
        weight_decay=args.weight_decay,
        warmup_epochs=args.warmup_epochs,
        crop_scale_min=args.crop_scale_min,
        color_jitter=args.color_jitter,
        label_smoothing=args.label_smoothing,
        ema_decay=args.ema_decay,
        clip_grad_norm=args.clip_grad_norm,
        patience=args.patience,
        class_weighting=args.class_weighting,
        augment=args.augment,
        mixup=args.mixup,
        cutmix=args.cutmix,
        bn_mode=args.bn_mode,
        bn_recalibrate=args.bn_recalibrate,
        seed=args.seed,
        device=args.device,
        amp=not args.no_amp,
        compile=args.compile,
        workers=args.workers,
        threads=args.threads,
        out_dir=args.out,
        name=args.name,
    )


def _progress_callbacks(disable: bool):
    """tqdm bar per epoch, fed by the library's callbacks."""
    from tqdm import tqdm

    from edgevision.training import Callbacks

    bars: dict[str, tqdm] = {}

    def start(epoch: int, epochs: int, images: int) -> None:
        bars["bar"] = tqdm(
            total=images,
            desc=f"epoch {epoch + 1}/{epochs}",
            unit="img",
            file=sys.stderr,
            disable=disable,
            leave=True,
        )

    def batch(count: int) -> None:
        bars["bar"].update(count)

    def end(epoch: int, row: dict) -> None:
        bar = bars.pop("bar")
        top5 = f" top-5 {100 * row['val_top5']:.1f} %" if row.get("val_top5") is not None else ""
        bar.set_postfix_str(
            f"loss {row['train_loss']:.3f} val top-1 {100 * row['val_top1']:.1f} %{top5}"
        )
        bar.close()

    return Callbacks(epoch_start=start, batch=batch, epoch_end=end)


def run(args: argparse.Namespace) -> int:
    """Train (or resume) and print where the run folder and best checkpoint are."""
    import os

    from edgevision.training import TrainConfig, train

    if args.resume:
        resume = Path(args.resume)
        config = TrainConfig.read(resume / "config.json")
        if args.epochs is not None:  # an explicit --epochs extends or shortens the resumed run
            config.epochs = args.epochs
    else:
        resume = None
        config = config_from_args(args)
    main_process = int(os.environ.get("RANK", "0")) == 0
    callbacks = _progress_callbacks(disable=args.quiet or not main_process)
    result = train(config, resume=resume, callbacks=callbacks)
    if main_process:
        best = result.best_metrics
        print(f"run folder: {result.run_dir}")
        print(
            f"best checkpoint: {result.best_checkpoint} "
            f"(epoch {best['epoch'] + 1}, val top-1 {100 * best['val_top1']:.1f} %)"
        )
    return 0
