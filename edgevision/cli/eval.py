"""``edgevision eval``: accuracy of a checkpoint or a bundle on a labelled image folder.

With ``--bundle`` it runs the device runtime and needs no torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgevision.cli.argtypes import positive_int


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``eval``."""
    p = subparsers.add_parser("eval", help="top-1/top-5, per-class scores, confusion matrix")
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--checkpoint", help="a training checkpoint (.pt, needs torch)")
    model.add_argument("--bundle", help="a bundle folder (runs without torch)")
    p.add_argument("--data", required=True, help="class-per-folder images named after the labels")
    p.add_argument("--backend", help="bundle backend: onnxruntime, openvino, tensorrt")
    p.add_argument("--precision", choices=("fp32", "fp16", "int8"), help="bundle variant")
    p.add_argument("--batch-size", type=positive_int, default=16)
    p.add_argument(
        "--device",
        help="checkpoint: auto (default), cpu, cuda; bundle: the backend's device, e.g. cpu or "
        "OpenVINO GPU (never replaced by another one)",
    )
    p.add_argument("--json", dest="json_path", help="write the full report as JSON here")
    p.add_argument("--confusion", help="write the confusion matrix as PNG here (matplotlib)")
    p.add_argument("--force", action="store_true", help="replace existing --json/--confusion")
    p.set_defaults(func=run)


def _table(report) -> str:
    width = max(8, *(len(name) for name in report.labels))
    lines = [f"{'class':<{width}}  precision  recall     f1  support"]
    for name in report.labels:
        s = report.per_class[name]
        lines.append(
            f"{name:<{width}}  {100 * s['precision']:8.1f}%  {100 * s['recall']:5.1f}%  "
            f"{100 * s['f1']:5.1f}%  {int(s['support']):7d}"
        )
    lines.append(f"images: {report.count}   top-1: {100 * report.top1:.2f} %")
    if report.top5 is not None:
        lines[-1] += f"   top-5: {100 * report.top5:.2f} %"
    return "\n".join(lines)


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse output files that exist (without --force) or are folders, before scoring."""
    from edgevision.errors import ConfigError

    for flag, value in (("json", args.json_path), ("confusion", args.confusion)):
        if value is None:
            continue
        path = Path(value)
        if path.is_dir():
            raise ConfigError(f"--{flag} {path} is a folder; give a file name")
        if path.exists() and not args.force:
            raise ConfigError(
                f"--{flag} {path} already exists; choose another file or pass --force to replace it"
            )


def run(args: argparse.Namespace) -> int:
    """Score the model, print the table, optionally write JSON and the confusion PNG."""
    from tqdm import tqdm

    from edgevision.evaluation import evaluate_bundle, evaluate_checkpoint
    from edgevision.fsutil import atomic_write_text

    _check_outputs(args)
    with tqdm(unit="img", desc="eval", file=sys.stderr, disable=args.quiet) as bar:
        if args.bundle:
            report = evaluate_bundle(
                args.bundle,
                args.data,
                backend=args.backend,
                precision=args.precision,
                device=args.device,
                batch_size=args.batch_size,
                progress=bar.update,
            )
        else:
            report = evaluate_checkpoint(
                args.checkpoint,
                args.data,
                device=args.device or "auto",
                batch_size=args.batch_size,
                progress=bar.update,
            )
    print(_table(report))
    if args.json_path:
        atomic_write_text(args.json_path, json.dumps(report.to_dict(), indent=2) + "\n")
    if args.confusion:
        from edgevision.training.plots import plot_confusion

        plot_confusion(report.confusion, report.labels, args.confusion)
    return 0
