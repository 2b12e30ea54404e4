"""Where INT8 hurts: rank quantized layers by the error they add, and fall back layer by layer.

Both the FP32 and the Q/DQ model are run on calibration images with every convolution/GEMM
output exposed (ONNX Runtime's ``qdq_loss_debug`` helpers). For each such layer the signal to
quantization-noise ratio (SQNR, dB) of its output against FP32 is compared with the SQNR of the
activation it reads: the difference is the error that layer adds. Layers adding the most are
the first kept in float by the accuracy-aware fallback.
"""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

RANKED_OPS = ("Conv", "Gemm", "MatMul")
CLEAN_SQNR_DB = 100.0  # SQNR assigned to the graph input (no quantization error yet)


def _producers(model) -> tuple[dict[str, Any], set[str]]:
    producers = {out: node for node in model.graph.node for out in node.output}
    return producers, {i.name for i in model.graph.input}


def _input_sqnr(node, producers, errors: dict[str, dict], inputs: set[str]) -> float:
    """SQNR of the activation a node reads: walk upstream past unranked single-input ops."""
    tensor = node.input[0]
    for _ in range(50):  # bounded walk; CNN glue between ranked layers is a few ops at most
        if tensor in errors:
            return errors[tensor]["xmodel_err"]
        if tensor in inputs or tensor not in producers:
            return CLEAN_SQNR_DB
        tensor = producers[tensor].input[0]
    return CLEAN_SQNR_DB


def rank_layers(fp32_path: Path, int8_path: Path, tensors: np.ndarray) -> list[dict[str, Any]]:
    """Rank the quantized layers of ``int8_path`` by the SQNR (dB) each one loses.

    Args:
        fp32_path: The FP32 ONNX model.
        int8_path: Its Q/DQ INT8 copy.
        tensors: Calibration inputs (a few dozen are enough; all are kept in memory twice).

    Returns:
        One entry per layer, most damaging first: node name, output tensor, added_db and the
        output's SQNR against FP32.
    """
    import onnx
    from onnxruntime.quantization import qdq_loss_debug as qdq

    from edgevision.export.quantize import _reader

    model = onnx.load(str(fp32_path), load_external_data=False)
    input_name = model.graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="edgevision-damage-") as work:
        fp32_aug, int8_aug = Path(work) / "fp32.onnx", Path(work) / "int8.onnx"
        qdq.modify_model_output_intermediate_tensors(str(fp32_path), str(fp32_aug), RANKED_OPS)
        qdq.modify_model_output_intermediate_tensors(str(int8_path), str(int8_aug), RANKED_OPS)
        float_acts = qdq.collect_activations(str(fp32_aug), _reader(tensors, input_name))
        int8_acts = qdq.collect_activations(str(int8_aug), _reader(tensors, input_name))
    # Match by tensor name: the Q/DQ model keeps every layer's float output name, also where the
    # quantizer fused the activation after it (so qdq_loss_debug's own matching misses it).
    errors = {
        name: {"xmodel_err": sqnr_db(float_acts[name], int8_acts[name])}
        for name in float_acts
        if name in int8_acts
    }
    producers, inputs = _producers(model)
    ranking = []
    for tensor, err in errors.items():
        node = producers.get(tensor)
        if node is None or node.op_type not in RANKED_OPS or not math.isfinite(err["xmodel_err"]):
            continue
        added = _input_sqnr(node, producers, errors, inputs) - err["xmodel_err"]
        ranking.append(
            {
                "node": node.name,
                "op": node.op_type,
                "output": tensor,
                "added_db": round(float(added), 3),
                "sqnr_vs_fp32_db": round(float(err["xmodel_err"]), 3),
            }
        )
    ranking.sort(key=lambda entry: entry["added_db"], reverse=True)
    return ranking


def sqnr_db(reference: list[np.ndarray], noisy: list[np.ndarray]) -> float:
    """Signal to quantization-noise ratio in dB over all images (inf when identical)."""
    signal = sum(float(np.sum(np.square(r.astype(np.float64)))) for r in reference)
    noise = sum(
        float(np.sum(np.square(r.astype(np.float64) - n.astype(np.float64))))
        for r, n in zip(reference, noisy, strict=True)
    )
    if noise == 0.0:
        return math.inf
    return 10.0 * math.log10(max(signal, 1e-30) / noise)


def fallback_steps(ranking: list[dict[str, Any]], *, max_layers: int | None = None) -> list[int]:
    """How many top-ranked layers to keep in float at each accuracy-aware attempt: 1, 2, 4, ..."""
    limit = min(len(ranking), max_layers or len(ranking))
    steps, count = [], 1
    while count < limit:
        steps.append(count)
        count *= 2
    return [*steps, limit] if limit else []


def format_ranking(ranking: list[dict[str, Any]], *, top: int = 5) -> str:
    """One-line summary of the worst layers for error messages."""
    worst = ", ".join(f"{e['node']} (+{e['added_db']:.1f} dB)" for e in ranking[:top])
    return f"most damaging INT8 layers: {worst}" if worst else "no quantized layers ranked"
