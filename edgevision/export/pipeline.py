"""``export`` end to end: source → artifacts → fidelity per variant → bundle renamed into place.

Everything is written into a temporary sibling of the output folder; a variant outside its
profile's limits raises :class:`~edgevision.errors.FidelityError` before the rename, so an earlier
bundle at the output path stays as it was.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgevision.bundle import Bundle, Manifest, Variant, sha256_file, write_manifest
from edgevision.contract import InputContract
from edgevision.errors import EdgevisionError, FidelityError
from edgevision.export import damage, fidelity
from edgevision.export.profiles import ExportProfile, format_of
from edgevision.export.sources import ExportImages, ExportSource, host_facts
from edgevision.fsutil import atomic_write_text, staged_dir
from edgevision.runtime import RuntimeOptions

logger = logging.getLogger(__name__)

DAMAGE_FILE = "int8-damage.json"
RANKING_IMAGES = 16  # calibration images for the per-layer ranking (about 1 s an image on 2 cores)


@dataclass
class ExportResult:
    """What export produced: the bundle folder, its manifest and wall time per variant."""

    path: Path
    manifest: Manifest
    seconds: dict[str, float] = field(default_factory=dict)


class _Build:
    """State shared by the steps of one export (the staging folder, reference, tensors)."""

    def __init__(self, source, stage: Path, images: ExportImages, contract: InputContract):
        self.source = source
        self.stage = stage
        self.images = images
        self.contract = contract
        self.reference: fidelity.ReferenceSet | None = None
        self.base: Path = stage / "model.onnx"
        self.files: dict[str, list[Path]] = {}
        self._tensors: dict[int, np.ndarray] = {}
        self.variants: list[Variant] = []
        self.failures: dict[str, list[str]] = {}
        self.ranking: list[dict[str, Any]] | None = None
        # Filled as artifacts are written: manifest details and the batch range of model.onnx.
        self.base_details: dict[str, Any] = {}
        self.base_batch: dict[str, int] = {"min": 1, "max": 1}
        self.fp16_details: dict[str, Any] = {}
        self.int8_details: dict[str, Any] = {}

    def tensors(self, count: int) -> np.ndarray:
        """Calibration inputs in the bundle's contract, cached per count."""
        from edgevision.export.quantize import calibration_tensors

        if count not in self._tensors:
            self._tensors[count] = calibration_tensors(
                self.images.calibration, self.contract, count=count
            )
        return self._tensors[count]

    def relative(self, files: list[Path]) -> dict[str, str]:
        return {str(p.relative_to(self.stage)): sha256_file(p) for p in files}


def export_bundle(
    source: ExportSource,
    output: str | Path,
    profiles: list[ExportProfile],
    images: ExportImages,
    *,
    force: bool = False,
    fuse_preprocessing: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> ExportResult:
    """Make a bundle with one variant per profile, each checked before the bundle is kept.

    Args:
        source: The model to export.
        output: Bundle folder to create (replaced only with ``force``).
        profiles: One per variant; the first ``onnxruntime fp32`` variant is always included.
        images: Calibration and validation images.
        force: Replace an existing bundle at ``output``.
        fuse_preprocessing: Put colour order, layout and normalisation into the graph so the
            bundle takes BGR uint8 NHWC frames.
        on_step: Called with a short description before each step (CLI progress).

    Raises:
        FidelityError: A variant fails its limits; nothing is written at ``output``.
        EdgevisionError: Bad input (existing output, unreadable images, untraceable model...).
    """
    output = Path(output)
    step = on_step or (lambda text: logger.info("%s", text))
    _refuse_existing(output, force)
    contract = _bundle_contract(source.contract, fuse_preprocessing)
    profiles = _with_base_profile(profiles)
    seconds: dict[str, float] = {}
    with staged_dir(output, force=force) as stage:
        build = _Build(source, stage, images, contract)
        step("decoding validation images and running the PyTorch reference")
        build.reference = _reference(source, images, profiles)
        started = time.perf_counter()
        step("writing model.onnx")
        _write_base(build, profiles, fuse_preprocessing)
        seconds["onnx-base"] = round(time.perf_counter() - started, 2)
        for profile in profiles:
            started = time.perf_counter()
            step(f"{profile.variant_name}: building and checking ({profile.name})")
            _produce(build, profile)
            seconds[profile.variant_name] = round(time.perf_counter() - started, 2)
        manifest = _manifest(build, profiles, fuse_preprocessing)
        write_manifest(stage, manifest)
        if build.failures:
            _report_failure(build, output, manifest)
    return ExportResult(output, manifest, seconds)


def _refuse_existing(output: Path, force: bool) -> None:
    # Checked before any slow work; staged_dir checks again at the moment of the rename.
    if output.exists() and not force and (not output.is_dir() or any(output.iterdir())):
        raise EdgevisionError(
            f"{output} already exists; choose another output folder or pass --force to replace it"
        )


def _bundle_contract(contract: InputContract, fuse: bool) -> InputContract:
    if not fuse:
        return contract
    from dataclasses import replace

    return replace(
        contract, color_order="bgr", layout="nhwc", dtype="uint8", normalize_in_graph=True
    )


def _with_base_profile(profiles: list[ExportProfile]) -> list[ExportProfile]:
    """Put an ONNX FP32 profile first (every bundle carries model.onnx), dropping duplicates."""
    from edgevision.export.profiles import load_profile

    seen, ordered = set(), []
    if not any(p.variant_name == "onnx-fp32" for p in profiles):
        base = load_profile("ort-x86-fp32")
        if profiles:  # the base variant follows what the other profiles ask of the checks
            base.batch_max = max(p.batch_max for p in profiles)
            base.fidelity_images = profiles[0].fidelity_images
        profiles = [base, *profiles]
    # ONNX FP32 first (every other artifact derives from it), TensorRT last (it reuses the ONNX
    # files other variants made and checked).
    rank = {"onnx-fp32": 0}
    for profile in sorted(
        profiles, key=lambda p: rank.get(p.variant_name, 2 if p.backend == "tensorrt" else 1)
    ):
        if profile.variant_name in seen:
            raise EdgevisionError(
                f"two profiles make the variant {profile.variant_name}; give each target once"
            )
        seen.add(profile.variant_name)
        ordered.append(profile)
    return ordered


def _reference(source, images: ExportImages, profiles) -> fidelity.ReferenceSet:
    limit = (
        max(p.fidelity_images for p in profiles) if all(p.fidelity_images for p in profiles) else 0
    )
    frames, labels = fidelity.load_frames(images.validation, images.validation_labels, limit=limit)
    logits = None
    if source.model is not None:
        logits = fidelity.torch_logits(source.model, frames, source.contract)
    return fidelity.ReferenceSet(frames, labels, logits)


def _write_base(build: _Build, profiles: list[ExportProfile], fuse: bool) -> None:
    """model.onnx: exported from PyTorch, or the foreign file copied (with its external data)."""
    from edgevision.export.onnx import export_onnx, onnx_files, read_opset, save_onnx

    source = build.source
    if source.model is not None:
        artifact = export_onnx(
            source.model,
            build.base,
            contract=source.contract,
            batch_min=min(p.batch_min for p in profiles),
            batch_max=max(p.batch_max for p in profiles),
            opset=profiles[0].opset,
            arch=source.arch,
        )
        build.base_details = artifact.details
    else:
        import onnx

        if len(onnx_files(source.onnx_path)) == 1:
            shutil.copyfile(source.onnx_path, build.base)
        else:
            # External data names its file inside the model; re-saving writes model.onnx.data
            # and the matching location (the whole model passes through memory once).
            save_onnx(onnx.load(str(source.onnx_path)), build.base)
        model = onnx.load(str(build.base), load_external_data=False)
        build.base_details = {
            "exporter": "foreign ONNX (copied unchanged)",
            "opset": read_opset(model),
        }
    if fuse:
        from edgevision.export.fuse import fuse_preprocessing

        build.base_details["fused_preprocessing"] = fuse_preprocessing(build.base, source.contract)
    build.files["base"] = onnx_files(build.base)
    build.base_batch = _onnx_batch(build.base, profiles)


def _onnx_batch(path: Path, profiles) -> dict[str, int]:
    """The batch range model.onnx accepts: fixed when its batch axis is a number."""
    import onnx

    dim = (
        onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim[0]
    )
    if dim.HasField("dim_value") and dim.dim_value > 0:
        return {"min": dim.dim_value, "max": dim.dim_value}
    return {"min": min(p.batch_min for p in profiles), "max": max(p.batch_max for p in profiles)}


def _options(profile: ExportProfile) -> RuntimeOptions:
    settings = profile.runtime
    return RuntimeOptions(
        device=settings.device,
        threads=settings.threads or None,
        inference_precision=settings.inference_precision or None,
    )


def _make_artifact(build: _Build, profile: ExportProfile, excluded: list[str]):
    """Write the files of one profile's variant; returns (main file, files, details)."""
    from edgevision.export import fp16, openvino, quantize

    stage, precision = build.stage, profile.precision
    kind = profile.backend if profile.backend == "openvino" else "onnx"
    if kind == "onnx" and precision == "fp32":
        return build.base, build.files["base"], dict(build.base_details)
    if kind == "onnx" and precision == "fp16":
        target = stage / "model-fp16.onnx"
        if target.name not in build.files:
            build.files[target.name], build.fp16_details = fp16.convert_fp16(build.base, target)
        return target, build.files[target.name], dict(build.fp16_details)
    if kind == "onnx":
        target = stage / "model-int8.onnx"
        if profile.backend == "tensorrt" and target.name in build.files:
            return target, build.files[target.name], dict(build.int8_details)
        tensors = build.tensors(profile.calibration_images)
        details = quantize.quantize_onnx(
            build.base,
            target,
            tensors,
            method=profile.calibration_method,
            per_channel=profile.per_channel,
            nodes_to_exclude=excluded,
        )
        return target, [target], details
    (stage / "openvino").mkdir(exist_ok=True)
    target = stage / "openvino" / f"model-{precision}.xml"
    if precision == "int8":
        tensors = build.tensors(profile.calibration_images)
        files, details = openvino.quantize_ir(build.base, target, tensors, ignored=excluded)
    else:
        files, details = openvino.write_ir(build.base, target, precision=precision)
    return target, files, details


def _produce(build: _Build, profile: ExportProfile) -> None:
    """Build one variant, check it, and for INT8 fall back layer by layer when asked."""
    if profile.backend == "tensorrt":
        build.variants.append(_tensorrt_variant(build, profile))
        return
    variant, failures = _build_and_check(build, profile, excluded=[])
    if failures and profile.precision == "int8" and "int8_drop" in variant.fidelity:
        variant, failures = _int8_damage(build, profile, variant, failures)
    build.variants.append(variant)
    if failures:
        build.failures[variant.name] = failures


def _build_and_check(build: _Build, profile: ExportProfile, *, excluded: list[str]):
    main, files, details = _make_artifact(build, profile, excluded)
    batch = dict(build.base_batch)
    if batch["max"] > batch["min"]:
        batch = {"min": profile.batch_min, "max": min(profile.batch_max, batch["max"])}
    variant = Variant(
        name=profile.variant_name,
        format=format_of(profile.backend),
        precision=profile.precision,
        file=str(main.relative_to(build.stage)),
        sha256=build.relative(files),
        batch=batch,
        details={**details, "profile": profile.name, "target": profile.target},
    )
    bundle = Bundle(build.stage, _manifest(build, [], False, variants=[variant]))
    variant.fidelity = fidelity.check_variant(
        bundle, variant, build.reference, options=_options(profile)
    )
    top1 = (build.reference.accuracy() or {}).get("val_top1")
    variant.fidelity["reference_val_top1"] = top1
    failures = fidelity.judge(
        variant.fidelity,
        precision=profile.precision,
        min_agreement=profile.thresholds.min_agreement,
        max_int8_drop=profile.thresholds.max_int8_drop,
        reference_top1=top1,
    )
    variant.fidelity["thresholds"] = {
        "min_agreement": profile.thresholds.min_agreement,
        "max_int8_drop": profile.thresholds.max_int8_drop,
    }
    return variant, failures


def _int8_damage(build: _Build, profile: ExportProfile, variant: Variant, failures: list[str]):
    """Rank the layers; with accuracy_aware, keep the worst ones in float until within limits.

    Each attempt re-quantizes with the top k ranked layers excluded and re-measures the drop on
    the validation images, k = 1, 2, 4, ... up to every ranked layer (about log2(layers) + 1
    attempts, each a full quantization and fidelity run); every attempt is logged and recorded.
    """
    if build.ranking is None:
        build.ranking = _rank(build, profile)
    variant.details["damage_ranking_file"] = DAMAGE_FILE
    if not profile.accuracy_aware:
        failures.append(damage.format_ranking(build.ranking))
        return variant, failures
    attempts = [_attempt([], variant, failures)]
    for count in damage.fallback_steps(build.ranking):
        excluded = [entry["node"] for entry in build.ranking[:count]]
        variant, failures = _build_and_check(build, profile, excluded=excluded)
        attempts.append(_attempt(excluded, variant, failures))
        logger.info(
            "accuracy-aware %s: %d layer(s) in float -> INT8 drop %s (limit %s)",
            variant.name,
            count,
            variant.fidelity.get("int8_drop"),
            profile.thresholds.max_int8_drop,
        )
        if not failures:
            break
    variant.details.update(accuracy_aware=attempts, damage_ranking_file=DAMAGE_FILE)
    _write_damage(build, {f"accuracy_aware_{variant.name}": attempts})
    if failures:
        failures.append(damage.format_ranking(build.ranking))
    return variant, failures


def _attempt(excluded: list[str], variant: Variant, failures: list[str]) -> dict[str, Any]:
    return {
        "layers_in_float": len(excluded),
        "nodes_excluded": list(excluded),
        "int8_drop": variant.fidelity.get("int8_drop"),
        "val_top1": variant.fidelity.get("val_top1"),
        "passed": not failures,
    }


def _rank(build: _Build, profile: ExportProfile) -> list[dict[str, Any]]:
    """Rank layers on an ORT Q/DQ model (also for OpenVINO: NNCF reads the same ONNX names)."""
    from edgevision.export.quantize import quantize_onnx

    tensors = build.tensors(profile.calibration_images)
    probe = build.stage / "model-int8.onnx"
    if profile.backend != "onnxruntime" or not probe.is_file():
        probe = build.stage / ".ranking-int8.onnx"
        quantize_onnx(build.base, probe, tensors, method=profile.calibration_method)
    started = time.perf_counter()
    ranking = damage.rank_layers(build.base, probe, tensors[:RANKING_IMAGES])
    logger.info(
        "damage ranking: %d quantized layers on %d images in %.1f s; %s",
        len(ranking),
        min(len(tensors), RANKING_IMAGES),
        time.perf_counter() - started,
        damage.format_ranking(ranking),
    )
    if probe.name.startswith("."):
        probe.unlink()
    _write_damage(
        build,
        {
            "method": "per-layer SQNR/cosine of each quantized layer alone on FP32 activations",
            "images": int(min(len(tensors), RANKING_IMAGES)),
            "ranking": ranking,
        },
    )
    return ranking


def _write_damage(build: _Build, fields: dict[str, Any]) -> None:
    """Merge ``fields`` into the bundle's damage report (ranking, then fallback attempts)."""
    path = build.stage / DAMAGE_FILE
    data = json.loads(path.read_text()) if path.is_file() else {}
    atomic_write_text(path, json.dumps({**data, **fields}, indent=2) + "\n")


def _tensorrt_variant(build: _Build, profile: ExportProfile) -> Variant:
    """A TensorRT variant: the ONNX its engine is built from (on the device) plus trtexec lines.

    The ONNX file itself (FP16, or the Q/DQ INT8 one) is checked here with ONNX Runtime on the CPU
    against the same limits; the engine's own check happens on the device.
    """
    from dataclasses import replace

    from edgevision.export import tensorrt

    onnx_profile = replace(
        profile, backend="onnxruntime", runtime=replace(profile.runtime, device="cpu")
    )
    checked = next((v for v in build.variants if v.name == onnx_profile.variant_name), None)
    if checked is None:
        checked, failures = _build_and_check(build, onnx_profile, excluded=[])
        if failures:
            build.failures[profile.variant_name] = failures
    height, width = build.contract.input_hw
    shapes = tensorrt.shapes_for((1, 3, height, width), profile.batch_min, profile.batch_max)
    key = tensorrt.EngineKey(
        "10", "<gpu>", "<sm>", profile.precision, "input", *shapes, checked.sha256[checked.file]
    )
    commands = {
        f"tensorrt{major}": tensorrt.trtexec_command(
            checked.file,
            replace(key, tensorrt_version=major),
            engine_file=f"model-{profile.precision}.engine",
        )
        for major in ("10", "11")
    }
    engine = (
        "built on the device on first use, cached by TensorRT version, GPU, compute "
        "capability, precision, shapes and ONNX sha256"
    )
    fidelity = {
        **checked.fidelity,
        "checked_on": f"{checked.name} with onnxruntime cpu; the engine is checked on the device",
    }
    return Variant(
        name=profile.variant_name,
        format="tensorrt",
        precision=profile.precision,
        file=checked.file,
        sha256=dict(checked.sha256),
        batch={"min": profile.batch_min, "max": profile.batch_max},
        details={
            **checked.details,
            "profile": profile.name,
            "target": profile.target,
            "engine": engine,
            "trtexec": commands,
        },
        fidelity=fidelity,
    )


def _manifest(build: _Build, profiles, fuse: bool, *, variants=None) -> Manifest:
    source = build.source
    provenance = {
        **source.provenance,
        "images": build.images.summary,
        "export_host": host_facts(),
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "profiles": [p.name for p in profiles],
        "source_contract": source.contract.to_dict() if fuse else None,
    }
    return Manifest(
        labels=list(source.labels),
        input=build.contract,
        output=source.output,
        variants=list(variants if variants is not None else build.variants),
        provenance=provenance,
    )


def _report_failure(build: _Build, output: Path, manifest: Manifest) -> None:
    """Write the would-be manifest beside the output (for inspection) and raise."""
    report = output.with_name(f"{output.name}.failed-export.json")
    data = manifest.to_dict()
    if build.ranking is not None:
        data["int8_damage_ranking"] = build.ranking
    atomic_write_text(report, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    summary = "; ".join(f"{name}: {', '.join(f)}" for name, f in build.failures.items())
    raise FidelityError(f"export refused, no bundle written: {summary} (details: {report})")
