"""TensorRT engines built on the device from the bundle's ONNX, cached by everything they depend on.

An engine only runs on the TensorRT version and GPU it was built for, so the bundle ships the
ONNX (FP16 ONNX for fp16, Q/DQ ONNX for int8) and the device builds the engine on first use. On
TensorRT 11 networks are strongly typed (the ONNX decides each layer's precision); on 10.x the
FP16/INT8 builder flags are set instead. This module never imports torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from edgevision.errors import BackendUnavailableError, ModelError, missing_extra

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on; a cached engine with another key is never loaded."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    input_name: str
    min_shape: tuple[int, ...]
    opt_shape: tuple[int, ...]
    max_shape: tuple[int, ...]
    onnx_sha256: str

    def digest(self) -> str:
        """A short stable hash of the key, used in the cache file name."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def file_name(self) -> str:
        return f"model-{self.precision}-{self.digest()}.engine"


def major_version(version: str) -> int:
    """Major number of a TensorRT version string (``"10.13.0.35"`` → 10)."""
    try:
        return int(version.split(".")[0])
    except ValueError as err:
        raise BackendUnavailableError(f"cannot read TensorRT version {version!r}") from err


def build_mode(version: str, precision: str) -> dict[str, object]:
    """How to ask this TensorRT version for ``precision``.

    Returns:
        ``{"strongly_typed": bool, "flags": [BuilderFlag names]}``.

    Raises:
        BackendUnavailableError: TensorRT older than 10 (no explicit-quantization-only path).
    """
    major = major_version(version)
    if major < 10:
        raise BackendUnavailableError(
            f"TensorRT {version} is too old; edgevision needs TensorRT 10 or newer"
        )
    if major >= 11:
        # Strongly typed: precision comes from the ONNX (FP16 weights, Q/DQ nodes); no flags.
        return {"strongly_typed": True, "flags": []}
    flags = {"fp32": [], "fp16": ["FP16"], "int8": ["INT8", "FP16"]}[precision]
    return {"strongly_typed": False, "flags": flags}


def trtexec_command(
    onnx_file: str, key: EngineKey, *, engine_file: str, timing_cache: str = "timing.cache"
) -> str:
    """The ``trtexec`` line that builds the same engine by hand (written into the bundle)."""
    shape = lambda dims: "x".join(str(d) for d in dims)  # noqa: E731
    parts = [
        "trtexec",
        f"--onnx={onnx_file}",
        f"--saveEngine={engine_file}",
        f"--minShapes={key.input_name}:{shape(key.min_shape)}",
        f"--optShapes={key.input_name}:{shape(key.opt_shape)}",
        f"--maxShapes={key.input_name}:{shape(key.max_shape)}",
        f"--timingCacheFile={timing_cache}",
    ]
    mode = build_mode(key.tensorrt_version, key.precision)
    if mode["strongly_typed"]:
        parts.append("--stronglyTyped")
    parts += [f"--{flag.lower()}" for flag in mode["flags"]]
    return " ".join(parts)


def shapes_for(input_shape: tuple[int, ...], batch_min: int, batch_max: int):
    """Min/opt/max profile shapes for a batch-first input (opt = 1: live loops run batch 1)."""
    rest = tuple(input_shape[1:])
    return (batch_min, *rest), (max(batch_min, 1), *rest), (batch_max, *rest)


def _tensorrt():
    try:
        import tensorrt
    except ImportError as err:
        raise missing_extra("tensorrt", "tensorrt") from err
    return tensorrt


def build_engine(onnx_path: Path, key: EngineKey, *, timing_cache: Path | None = None) -> bytes:
    """Build a serialized engine from an ONNX file with the documented TensorRT Python API.

    Raises:
        ModelError: The parser rejects the ONNX model or the build fails.
    """
    trt = _tensorrt()
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    mode = build_mode(trt.__version__, key.precision)
    flags = (
        1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if mode["strongly_typed"] else 0
    )
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT cannot parse {onnx_path}: {errors}")

    config = builder.create_builder_config()
    for flag in mode["flags"]:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    profile = builder.create_optimization_profile()
    profile.set_shape(key.input_name, key.min_shape, key.opt_shape, key.max_shape)
    config.add_optimization_profile(profile)
    cache = _load_timing_cache(config, timing_cache)

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelError(f"TensorRT failed to build an engine from {onnx_path} (see its log)")
    if timing_cache is not None:
        timing_cache.write_bytes(memoryview(cache.serialize()))
    return bytes(serialized)


def _load_timing_cache(config, path: Path | None):
    # The timing cache keeps kernel timings across builds: rebuilding after a cache miss on the
    # same GPU takes seconds instead of minutes.
    data = path.read_bytes() if path is not None and path.is_file() else b""
    cache = config.create_timing_cache(data)
    config.set_timing_cache(cache, ignore_mismatch=False)
    return cache


def cached_engine(
    onnx_path: Path, key: EngineKey, cache_dir: Path, *, rebuild: bool = True
) -> Path:
    """Return the engine for ``key`` from ``cache_dir``, building it when absent.

    Args:
        rebuild: Build when no engine matches; False refuses with a clear message instead.

    Raises:
        BackendUnavailableError: No matching engine and ``rebuild`` is False.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    engine = cache_dir / key.file_name()
    if engine.is_file():
        return engine
    stale = sorted(p.name for p in cache_dir.glob(f"model-{key.precision}-*.engine"))
    if not rebuild:
        raise BackendUnavailableError(
            f"no TensorRT engine in {cache_dir} matches this GPU/TensorRT/ONNX ({key.digest()}); "
            f"found {stale or 'none'}; allow a rebuild or run 'edgevision export' on this device"
        )
    if stale:
        logger.info("engine cache: %s were built for another key; building a new one", stale)
    from edgevision.fsutil import atomic_write_bytes

    atomic_write_bytes(
        engine, build_engine(onnx_path, key, timing_cache=cache_dir / "timing.cache")
    )
    return engine
