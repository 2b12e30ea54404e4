"""``edgevision export``: checkpoint, weights or foreign ONNX → bundle, with a fidelity table."""

from __future__ import annotations

import argparse
import logging
import sys

from edgevision.cli.argtypes import (
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from edgevision.errors import ConfigError


def _finite_float(text: str) -> float:
    """Any finite float (a zero point may be negative)."""
    import math

    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a float") from err
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number")
    return value


def add_parser(subparsers) -> None:
    """Register ``export`` and its options."""
    parser = subparsers.add_parser("export", help="export a verified bundle", description=__doc__)
    src = parser.add_argument_group("source (one of)")
    src.add_argument("--checkpoint", help="edgevision checkpoint (.pt) from 'train'")
    src.add_argument("--arch", help="architecture for --weights, e.g. torchvision:mobilenet_v2")
    src.add_argument("--weights", help="weights file (.safetensors/.pt) for --arch")
    src.add_argument("--onnx", help="a model trained elsewhere, as ONNX")
    src.add_argument("--labels", help="label file, one class a line (with --weights or --onnx)")
    parser.add_argument("-o", "--out", required=True, help="bundle folder to write")
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        help="profile name or TOML path; repeat for several variants",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing bundle")
    data = parser.add_argument_group("images")
    data.add_argument(
        "--data", help="image folder with train/ and val/ (default: the checkpoint's)"
    )
    data.add_argument("--calib-data", help="calibration images (default: train side of --data)")
    data.add_argument("--val-data", help="validation images for the fidelity checks")
    over = parser.add_argument_group("profile overrides (apply to every profile)")
    over.add_argument("--batch-max", type=positive_int)
    over.add_argument("--opset", type=positive_int)
    over.add_argument("--calibration-images", type=positive_int)
    over.add_argument("--calibration-method", choices=("minmax", "entropy", "percentile"))
    over.add_argument("--fidelity-images", type=non_negative_int)
    over.add_argument("--min-agreement", type=non_negative_float, help="percent")
    over.add_argument("--max-int8-drop", type=non_negative_float, help="points")
    over.add_argument("--threads", type=non_negative_int, help="0: backend chooses")
    over.add_argument("--accuracy-aware", action="store_true", default=None)
    over.add_argument(
        "--fuse-preprocessing",
        action="store_true",
        help="fuse colour order, layout and normalisation into the graph",
    )
    contract = parser.add_argument_group("input/output contract (--weights, --onnx)")
    contract.add_argument("--input-size", type=positive_int, nargs=2, metavar=("H", "W"))
    contract.add_argument("--resize", choices=("crop", "direct"))
    contract.add_argument("--resize-shorter", type=positive_int)
    contract.add_argument("--interpolation", choices=("area", "bilinear", "bicubic", "nearest"))
    contract.add_argument("--color-order", choices=("rgb", "bgr"))
    contract.add_argument("--layout", choices=("nchw", "nhwc"))
    contract.add_argument("--dtype", choices=("float32", "float16", "uint8"))
    contract.add_argument("--scale", type=positive_float)
    contract.add_argument("--mean", type=non_negative_float, nargs=3)
    contract.add_argument("--std", type=positive_float, nargs=3)
    contract.add_argument("--normalize-in-graph", action="store_true", default=None)
    contract.add_argument("--output-kind", choices=("logits", "probabilities"))
    contract.add_argument("--output-scale", type=positive_float)
    contract.add_argument("--output-zero-point", type=_finite_float)
    parser.set_defaults(func=run)


OVERRIDES = {
    "batch_max": "batch_max",
    "opset": "opset",
    "calibration_images": "calibration_images",
    "calibration_method": "calibration_method",
    "fidelity_images": "fidelity_images",
    "min_agreement": "thresholds.min_agreement",
    "max_int8_drop": "thresholds.max_int8_drop",
    "threads": "runtime.threads",
    "accuracy_aware": "accuracy_aware",
}


def _contract(args, base):
    from dataclasses import replace

    from edgevision.contract import InputContract, OutputContract

    fields = {
        "input_hw": tuple(args.input_size) if args.input_size else None,
        "resize": args.resize,
        "resize_shorter": args.resize_shorter,
        "interpolation": args.interpolation,
        "color_order": args.color_order,
        "layout": args.layout,
        "dtype": args.dtype,
        "scale": args.scale,
        "mean": tuple(args.mean) if args.mean else None,
        "std": tuple(args.std) if args.std else None,
        "normalize_in_graph": args.normalize_in_graph,
    }
    contract = replace(
        base or InputContract(), **{k: v for k, v in fields.items() if v is not None}
    )
    output = {
        "kind": args.output_kind,
        "scale": args.output_scale,
        "zero_point": args.output_zero_point,
    }
    return contract, OutputContract(**{k: v for k, v in output.items() if v is not None})


def _source(args):
    from edgevision.export import sources

    given = [x for x in ("checkpoint", "weights", "onnx") if getattr(args, x)]
    if len(given) != 1:
        raise ConfigError("give exactly one source: --checkpoint, --arch with --weights, or --onnx")
    if args.checkpoint:
        return sources.from_checkpoint(args.checkpoint)
    if not args.labels:
        raise ConfigError(f"--{given[0]} needs --labels FILE (one class name a line)")
    labels = sources.read_labels(args.labels)
    if args.weights:
        if not args.arch:
            raise ConfigError("--weights needs --arch NAME (see 'edgevision models')")
        from edgevision.models import default_contract

        contract, _ = _contract(args, default_contract(args.arch))
        return sources.from_weights(args.arch, args.weights, labels, contract)
    contract, output = _contract(args, None)
    return sources.from_onnx(args.onnx, labels, contract, output)


CONTRACT_FLAGS = (
    "input_size", "resize", "resize_shorter", "interpolation", "color_order", "layout", "dtype",
    "scale", "mean", "std", "normalize_in_graph", "output_kind", "output_scale",
    "output_zero_point",
)  # fmt: skip


def _check_contract_flags(args) -> None:
    """A checkpoint carries the contract it was trained with; contract flags would be ignored."""
    if not args.checkpoint:
        return
    given = [name for name in CONTRACT_FLAGS if getattr(args, name) is not None]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise ConfigError(
            f"{flag} applies to --weights and --onnx only: a checkpoint keeps the input contract "
            "it was trained with; drop the flag (or retrain with other settings)"
        )


def _check_input_size(source, profiles) -> None:
    """Refuse a profile ``input_hw`` other than the bundle's: one contract holds for all variants.

    For a checkpoint the size is the one the model was trained at; for weights or ONNX it is
    set by ``--input-size``.
    """
    height, width = source.contract.input_hw
    for profile in profiles:
        if not profile.input_hw or tuple(profile.input_hw) == (height, width):
            continue
        asked = f"profile {profile.name!r} asks input_hw={list(profile.input_hw)}"
        if source.kind == "checkpoint":
            raise ConfigError(
                f"{asked} but the model was trained at {height} x {width}; remove input_hw "
                "from the profile or retrain at that size (train --input-size)"
            )
        raise ConfigError(
            f"{asked} but the bundle input is {height} x {width}; every variant of a bundle "
            "shares one input size: pass --input-size H W and drop input_hw from the profile"
        )


def _profiles(args):
    from edgevision.export.profiles import apply_overrides, load_profile

    overrides = {path: getattr(args, name) for name, path in OVERRIDES.items()}
    return [apply_overrides(load_profile(p), overrides) for p in args.profile or ["ort-x86-fp32"]]


def _data_folder(args, source):
    if args.data or args.val_data:
        return args.data
    from pathlib import Path

    root = source.data.get("root")
    if not isinstance(root, str):
        return None
    # Training records its train/ folder; export wants the folder holding train/ and val/.
    if Path(root).name == "train" and (Path(root).parent / "val").is_dir():
        return str(Path(root).parent)
    return root


def print_table(manifest, seconds: dict[str, float], out=None) -> None:
    """One row per variant: what ran and how it compared with PyTorch (to stdout by default)."""
    out = out or sys.stdout
    head = (
        "variant",
        "ran as",
        "agree %",
        "max|Δlogit|",
        "top-1",
        "top-5",
        "int8 drop",
        "batch test",
        "s",
        "ok",
    )
    rows = [head]
    for v in manifest.variants:
        f = v.fidelity
        ran = (
            f"{f.get('backend', '-')}/{f.get('precision_used', '-')}"
            if "backend" in f
            else "device"
        )
        batch = f.get("batch_selftest", {})
        rows.append(
            (
                v.name,
                ran,
                _fmt(f.get("top1_agreement")),
                _fmt(f.get("max_abs_logit_diff"), 4),
                _fmt(f.get("val_top1")),
                _fmt(f.get("val_top5")),
                _fmt(f.get("int8_drop")),
                ("ok" if batch.get("passed") else "FAIL") if batch else "-",
                _fmt(seconds.get(v.name), 1),
                "yes" if f.get("passed", True) else "NO",
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)), file=out)


def _fmt(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def run(args: argparse.Namespace) -> int:
    """Export a bundle and print its fidelity table."""
    import torch

    from edgevision.export import export_bundle, resolve_images

    # The exporters log every graph pass at INFO; keep them to warnings unless -v was given.
    for noisy in ("onnx_ir", "onnxscript", "torch.onnx", "onnxslim"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    torch.set_num_threads(max(1, min(torch.get_num_threads(), args.threads or 64)))
    _check_contract_flags(args)
    profiles = _profiles(args)
    source = _source(args)
    _check_input_size(source, profiles)
    images = resolve_images(
        labels=source.labels,
        data=_data_folder(args, source),
        calibration=args.calib_data,
        validation=args.val_data,
    )
    result = export_bundle(
        source,
        args.out,
        profiles,
        images,
        force=args.force,
        fuse_preprocessing=args.fuse_preprocessing,
        on_step=lambda text: print(f"export: {text}", file=sys.stderr),
    )
    print_table(result.manifest, result.seconds)
    print(f"bundle written: {result.path}")
    return 0
