"""OpenVINO IR variants converted from the exported ONNX model: FP32, FP16 weights, NNCF INT8.

Converting the ONNX file (not the torch module) keeps the dynamic batch axis and the same graph
the other variants come from.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from edgevision.errors import ModelError, missing_extra

logger = logging.getLogger(__name__)


def _openvino():
    try:
        import openvino
    except ImportError as err:
        raise missing_extra("openvino", "openvino") from err
    return openvino


def read_onnx(ov: Any, onnx_path: Path) -> Any:
    """Read an ONNX file into an OpenVINO model with the runtime's ONNX front end.

    This is the conversion ``ov.convert_model`` performs for an ONNX file, without the usage
    telemetry that the Python conversion tool sends from a forked helper process: an export tool
    should not reach for the network, and a fork of a multi-threaded process can hang.
    """
    try:
        return ov.Core().read_model(str(onnx_path))
    except RuntimeError as err:
        raise ModelError(f"OpenVINO cannot read {onnx_path}: {err}") from err


def write_ir(onnx_path: Path, xml_path: Path, *, precision: str) -> tuple[list[Path], dict]:
    """Convert ONNX to IR with FP32 (``fp32``) or FP16 (``fp16``) weights.

    ``ov.save_model`` compresses weights to FP16 unless told otherwise, so FP32 is explicit.
    """
    ov = _openvino()
    model = read_onnx(ov, onnx_path)
    ov.save_model(model, str(xml_path), compress_to_fp16=precision == "fp16")
    details = {"tool": f"openvino {ov.__version__}", "weights": precision}
    return [xml_path, xml_path.with_suffix(".bin")], details


def quantize_ir(
    onnx_path: Path,
    xml_path: Path,
    tensors: np.ndarray,
    *,
    ignored: list[str] | None = None,
) -> tuple[list[Path], dict]:
    """NNCF post-training INT8 quantization of the IR on preprocessed calibration tensors.

    Args:
        onnx_path: FP32 ONNX model (converted to IR first).
        xml_path: Where to write the INT8 IR.
        tensors: Calibration inputs (N first).
        ignored: ONNX node names (from the damage ranking) NNCF must leave in float.
    """
    ov = _openvino()
    try:
        import nncf
    except ImportError as err:
        raise missing_extra("nncf", "openvino") from err

    model = read_onnx(ov, onnx_path)
    dataset = nncf.Dataset([tensors[i : i + 1] for i in range(len(tensors))])
    ignored = ir_names_for(ignored, onnx_path, model) if ignored else []
    scope = nncf.IgnoredScope(names=ignored, validate=False) if ignored else None
    quantized = nncf.quantize(model, dataset, subset_size=len(tensors), ignored_scope=scope)
    ov.save_model(quantized, str(xml_path), compress_to_fp16=False)
    details = {
        "tool": f"nncf {nncf.__version__} on openvino {ov.__version__}",
        "calibration_images": int(len(tensors)),
        "calibration_method": "nncf default (min-max, fast bias correction)",
        "ignored_scope": list(ignored or []),
    }
    return [xml_path, xml_path.with_suffix(".bin")], details


def ir_names_for(onnx_nodes: list[str], onnx_path: Path, model) -> list[str]:
    """OpenVINO operation names that come from the given ONNX nodes (by name or output name).

    The ONNX frontend names the operations of one node after the node or its output tensor, and
    splits a Conv/Gemm with bias into the layer itself (``<name>/WithoutBiases``, the one NNCF
    quantizes) and the bias ``Add`` (``<name>``): every operation so named is returned, so the
    layer's weights really stay in float. Nodes without a match are dropped (logged).
    """
    import onnx

    names = [op.get_friendly_name() for op in model.get_ops()]
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    outputs = {node.name: list(node.output) for node in graph.node}
    found: list[str] = []
    for node in onnx_nodes:
        candidates = (node, *outputs.get(node, []))
        matches = [
            name for name in names if any(name == c or name.startswith(c + "/") for c in candidates)
        ]
        if not matches:
            logger.info("no OpenVINO operation matches ONNX node %s", node)
        found.extend(m for m in matches if m not in found)
    return found
