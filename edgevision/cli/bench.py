"""``edgevision bench``: measure a bundle's latency, throughput and paced behaviour on this device.

Several variants, backends, devices or precisions given as comma lists are all loaded and
measured in interleaved rounds. Nothing falls back: a combination that cannot run here stops
the command with one line, and the result records what each backend actually ran.
"""

from __future__ import annotations

import argparse
import itertools
import logging
from pathlib import Path
from typing import Any

from edgevision.cli.argtypes import (
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)

logger = logging.getLogger(__name__)


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="measure latency and throughput of a bundle")
    p.add_argument("--bundle", action="append", required=True, help="bundle folder (repeatable)")
    p.add_argument("--variant", type=_csv, help="variant names, comma-separated")
    p.add_argument("--backend", type=_csv, help="onnxruntime, openvino, tensorrt (comma list)")
    p.add_argument("--device", type=_csv, default=["cpu"], help="device(s), default cpu")
    p.add_argument("--precision", type=_csv, help="fp32, fp16, int8: picks variants")
    p.add_argument(
        "--inference-precision",
        type=_csv,
        help="OpenVINO execution precision to force, e.g. f32 (true FP32) or bf16",
    )
    p.add_argument(
        "--threads", type=positive_int, help="intra-op threads (default: backend's choice)"
    )
    p.add_argument("--streams", type=positive_int, help="OpenVINO streams (default: from the hint)")
    p.add_argument("--hint", default="latency", choices=("latency", "throughput"))
    p.add_argument("--scenario", type=_csv, default=["single-stream", "throughput"],
                   help="single-stream, throughput, paced (comma list)")  # fmt: skip
    p.add_argument("--fps", type=positive_float, default=30.0, help="paced arrival rate")
    p.add_argument("--deadline-ms", type=positive_float, help="paced deadline (default 1000/fps)")
    p.add_argument("--in-flight", type=positive_int, help="throughput requests in flight")
    p.add_argument(
        "--batch", type=positive_int, default=1, help="throughput batch size (model only)"
    )
    p.add_argument("--warmup-count", type=non_negative_int, default=10)
    p.add_argument("--warmup-s", type=non_negative_float, default=1.0)
    p.add_argument("--min-duration-s", type=non_negative_float, default=5.0)
    p.add_argument("--min-count", type=positive_int, default=200)
    p.add_argument(
        "--rounds", type=positive_int, default=3, help="interleaving rounds per scenario"
    )
    p.add_argument(
        "--e2e-source",
        type=Path,
        help="time decode+preprocess+infer+postprocess on this image folder or video",
    )
    p.add_argument("--labelled", type=Path, help="class-per-folder images for a top-1 column")
    p.add_argument("--json", type=Path, help="write the result JSON here")
    p.add_argument("--csv", type=Path, help="write one CSV row per candidate and scenario")
    p.add_argument("--plot", type=Path, help="write a latency PNG here (needs matplotlib)")
    p.add_argument("--force", action="store_true", help="replace existing --json/--csv/--plot")
    p.set_defaults(func=run)


def _combinations(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every bundle × backend × variant × precision × device × inference precision asked for.

    With no --variant, --backend or --precision, every variant of each bundle is measured on
    its own backend, skipping (with a warning) those whose backend is not installed here.
    """
    keys = ("bundle", "backend", "variant", "precision", "device", "inference_precision")
    if not (args.variant or args.backend or args.precision):
        combos = []
        for bundle in args.bundle:
            for variant in _runnable_variants(bundle):
                for device, hint in itertools.product(
                    args.device, args.inference_precision or [None]
                ):
                    values = (bundle, None, variant, None, device, hint)
                    combos.append(dict(zip(keys, values, strict=True)))
        return combos
    axes = itertools.product(
        args.bundle,
        args.backend or [None],
        args.variant or [None],
        args.precision or [None],
        args.device,
        args.inference_precision or [None],
    )
    return [dict(zip(keys, combo, strict=True)) for combo in axes]


def _runnable_variants(bundle: Path) -> list[str | None]:
    import importlib.util

    from edgevision.bundle import load_bundle
    from edgevision.runtime import default_backend

    modules = {"onnxruntime": "onnxruntime", "openvino": "openvino", "tensorrt": "tensorrt"}
    names: list[str | None] = []
    for variant in load_bundle(bundle, verify=False).manifest.variants:
        backend = default_backend(variant)
        if importlib.util.find_spec(modules[backend]) is None:
            logger.warning("skipping variant %s: %s is not installed here", variant.name, backend)
            continue
        names.append(variant.name)
    return names or [None]


def _label(combo: dict[str, Any], runtime: Any, many_bundles: bool) -> str:
    parts = [runtime.backend, runtime.variant.name, runtime.device_used.lower()]
    if combo["inference_precision"]:
        parts.append(combo["inference_precision"])
    if many_bundles:
        parts.insert(0, Path(combo["bundle"]).name)
    return "/".join(parts)


def _open_candidate(args: argparse.Namespace, combo: dict[str, Any], many: bool):
    from edgevision.benchmark.accuracy import labelled_accuracy
    from edgevision.benchmark.coldstart import open_with_cold_start
    from edgevision.benchmark.interleave import Candidate
    from edgevision.benchmark.workload import EndToEnd, ModelOnly
    from edgevision.errors import ConfigError
    from edgevision.runtime import RuntimeOptions

    options = RuntimeOptions(
        device=combo["device"], threads=args.threads, streams=args.streams, hint=args.hint,
        inference_precision=combo["inference_precision"],
    )  # fmt: skip
    runtime, cold = open_with_cold_start(
        combo["bundle"], backend=combo["backend"], variant=combo["variant"],
        precision=combo["precision"], options=options,
    )  # fmt: skip
    # Backends without these knobs would ignore them; a result must not claim them.
    if options.inference_precision and runtime.backend != "openvino":
        raise ConfigError(f"--inference-precision applies to openvino only, not {runtime.backend}")
    if options.streams and runtime.backend == "onnxruntime":
        raise ConfigError("--streams applies to openvino/tensorrt; onnxruntime has no streams")
    if args.e2e_source:
        if args.batch != 1:
            raise ConfigError("--batch applies to model-only runs; drop it with --e2e-source")
        workload = EndToEnd(runtime, args.e2e_source)
    else:
        workload = ModelOnly(runtime, batch_size=args.batch)
    accuracy = labelled_accuracy(runtime, args.labelled) if args.labelled else None
    return Candidate(_label(combo, runtime, many), runtime, workload, cold, accuracy)


def _plan(args: argparse.Namespace):
    from edgevision.benchmark.interleave import Plan
    from edgevision.benchmark.scenarios import SCENARIOS
    from edgevision.benchmark.timing import RunPolicy
    from edgevision.errors import ConfigError

    unknown = [s for s in args.scenario if s not in SCENARIOS]
    if unknown or not args.scenario:
        raise ConfigError(f"unknown scenario {unknown}; choose from {', '.join(SCENARIOS)}")
    policy = RunPolicy(
        warmup_count=args.warmup_count, warmup_s=args.warmup_s,
        min_count=args.min_count, min_duration_s=args.min_duration_s,
    )  # fmt: skip
    return Plan(
        scenarios=tuple(args.scenario), policy=policy, rounds=args.rounds, fps=args.fps,
        deadline_ms=args.deadline_ms, in_flight=args.in_flight,
    )  # fmt: skip


def format_table(runs: list[dict[str, Any]]) -> str:
    """A plain-text table: one line per candidate and scenario (ms, images/s, %)."""
    header = ("candidate", "device", "prec", "region", "scenario", "count", "p50", "p90",
              "p99", "mean", "img/s", "miss%", "top1%")  # fmt: skip
    lines = [header]
    for run in runs:
        top1 = (run.get("accuracy") or {}).get("top1")
        for name, figures in run["scenarios"].items():
            lat = figures["latency_ms"]
            miss = figures.get("deadline_miss_share")
            lines.append((
                run["label"], str(run["device_used"]), str(run["precision_used"]),
                run["timed_region"], name, str(lat.get("count")),
                *(f"{lat[k]:.3f}" for k in ("p50", "p90", "p99", "mean")),
                f"{figures['images_per_s']:.1f}",
                "-" if miss is None else f"{100 * miss:.1f}",
                "-" if top1 is None else f"{100 * top1:.1f}",
            ))  # fmt: skip
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in lines)


def run(args: argparse.Namespace) -> int:
    from edgevision.benchmark import host, interleave, results

    # Step 1: resolve what to measure and load every candidate (cold start timed on the way).
    plan = _plan(args)
    _check_outputs(args)
    conditions = host.conditions()
    many = len(args.bundle) > 1
    candidates = [_open_candidate(args, c, many) for c in _combinations(args)]
    labels = [c.label for c in candidates]
    for index, candidate in enumerate(candidates):
        if labels.count(candidate.label) > 1:  # the same thing asked for twice: keep both apart
            candidate.label = f"{candidate.label}#{labels[:index].count(candidate.label) + 1}"

    # Step 2: measure all candidates in interleaved rounds.
    def progress(scenario: str, round_index: int, candidate: Any) -> None:
        logger.info("%s round %d/%d: %s", scenario, round_index + 1, plan.rounds, candidate.label)

    interleave.measure(candidates, plan, on_slice=progress)

    # Step 3: assemble the result, print the table, write the files asked for.
    runs = [interleave.run_record(c, plan, bundle=str(c.runtime.bundle.path)) for c in candidates]
    settings = {"scenarios": list(plan.scenarios), "policy": plan.policy.to_dict(),
                "rounds": plan.rounds, "e2e_source": str(args.e2e_source or "") or None,
                "labelled": str(args.labelled or "") or None}  # fmt: skip
    conditions["load_average_after"] = host.conditions()["load_average"]
    command = ["edgevision", *getattr(args, "argv", ["bench"])]
    result = results.new_result(host=conditions, settings=settings, runs=runs, command=command)
    print(format_table(runs))
    _write_outputs(args, result)
    for c in candidates:
        c.runtime.close()
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse unusable output paths before measuring rather than after."""
    from edgevision.errors import ConfigError
    from edgevision.fsutil import check_writable

    seen: dict[Path, str] = {}
    for flag in ("json", "csv", "plot"):
        path = getattr(args, flag)
        if path is None:
            continue
        if path.resolve() in seen:
            raise ConfigError(
                f"--{flag} and --{seen[path.resolve()]} both name {path}; give each its own file"
            )
        seen[path.resolve()] = flag
        if path.is_dir():
            raise ConfigError(f"--{flag} {path} is a folder; give a file name")
        if path.exists() and not args.force:
            raise ConfigError(
                f"--{flag} {path} already exists; choose another file or pass --force to replace it"
            )
        check_writable(path)
    if args.plot:
        from edgevision.benchmark.plots import require_matplotlib

        require_matplotlib()


def _write_outputs(args: argparse.Namespace, result: dict[str, Any]) -> None:
    from edgevision.benchmark import results

    if args.json:
        results.write_json(args.json, result)
        print(f"result JSON: {args.json}")
    if args.csv:
        results.write_csv(args.csv, result)
        print(f"result CSV: {args.csv}")
    if args.plot:
        from edgevision.benchmark.plots import plot_latency
        from edgevision.benchmark.report import result_rows

        plot_latency([r.series for r in result_rows(result, "")], args.plot)
        print(f"latency plot: {args.plot}")
