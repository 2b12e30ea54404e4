"""Where INT8 hurts: rank quantized layers by the error each one adds, and fall back layer by layer.

For every Conv/Gemm/MatMul the quantizer turned into Q/DQ form, the piece of the Q/DQ graph from
the float activation it reads to the dequantized output the next layer reads (input
Quantize/Dequantize, dequantized weights and bias, the layer, and the output Quantize/Dequantize
that also stands in for a fused Clip/Relu) is cut out with ``onnx.utils.Extractor`` and fed the
*FP32* model's own activations. Its output is compared with the FP32 model's tensor of the same
name, so each layer is measured alone, with no error carried in from the layers before it: the
signal to quantization-noise ratio (SQNR, dB; lower is worse) and the cosine similarity. Layers
are ranked by that SQNR, worst first, and the accuracy-aware fallback keeps the first k of them in
float, doubling k on each attempt.

Matching is by the names ``quantize_static`` keeps: the layer node keeps its name, its output is
the float name of the (possibly fused) activation, and the activation it reads is the input of
the QuantizeLinear in front of it; a graph output keeps its name on the last DequantizeLinear.
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

RANKED_OPS = ("Conv", "Gemm", "MatMul")
BATCH = 8  # images per FP32 run: all exposed activations of one batch are held at once


@dataclass
class _Layer:
    """One quantized layer: where its piece of the Q/DQ graph starts and ends, and the FP32 twin."""

    node: str
    op: str
    float_input: str  # FP32 activation fed to the piece (input of the QuantizeLinear)
    qdq_output: str  # what the next layer reads in the Q/DQ model
    reference: str  # the FP32 model's tensor the output is compared with
    session: Any = None
    signal: float = 0.0
    noise: float = 0.0
    dot: float = 0.0
    norms: tuple[float, float] = (0.0, 0.0)


def _quantized_layers(qdq, fp32_names: set[str]) -> list[_Layer]:
    """The ranked-op nodes of the Q/DQ model whose activation input went through Q/DQ."""
    producers = {out: node for node in qdq.graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in qdq.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    layers = []
    for node in qdq.graph.node:
        if node.op_type not in RANKED_OPS:
            continue
        dq = producers.get(node.input[0])
        is_dq = dq is not None and dq.op_type == "DequantizeLinear"
        q = producers.get(dq.input[0]) if is_dq else None
        if q is None or q.op_type != "QuantizeLinear":
            continue  # kept in float (excluded) or not quantized by this tool
        output = node.output[0]
        after = [n for n in consumers.get(output, []) if n.op_type == "QuantizeLinear"]
        after_dq = consumers.get(after[0].output[0], []) if after else []
        qdq_output = after_dq[0].output[0] if after_dq else output
        reference = output if output in fp32_names else qdq_output
        if q.input[0] not in fp32_names or reference not in fp32_names:
            logger.info("damage: no FP32 tensor matches quantized layer %s; not ranked", node.name)
            continue
        layers.append(_Layer(node.name, node.op_type, q.input[0], qdq_output, reference))
    return layers


def _piece(qdq, layer: _Layer):
    """The nodes between ``layer.float_input`` and ``layer.qdq_output`` as a model of their own.

    Walks upstream from the output, stopping at the float input and at initializers (weights,
    scales, zero points are copied: a few hundred KB per layer at most).
    """
    import onnx

    producers = {out: node for node in qdq.graph.node for out in node.output}
    weights = {init.name: init for init in qdq.graph.initializer}
    nodes, used, pending = [], {}, [layer.qdq_output]
    while pending:
        name = pending.pop()
        if name == layer.float_input or name in used or not name:
            continue
        if name in weights:
            used[name] = weights[name]
            continue
        node = producers[name]
        used[name] = None
        if node not in nodes:
            nodes.append(node)
            pending.extend(node.input)
    order = {id(node): i for i, node in enumerate(qdq.graph.node)}
    nodes.sort(key=lambda node: order[id(node)])
    float_type = onnx.TensorProto.FLOAT
    graph = onnx.helper.make_graph(
        nodes,
        f"damage-{layer.node}",
        [onnx.helper.make_tensor_value_info(layer.float_input, float_type, None)],
        [onnx.helper.make_tensor_value_info(layer.qdq_output, float_type, None)],
        [init for init in used.values() if init is not None],
    )
    return onnx.helper.make_model(graph, opset_imports=qdq.opset_import, ir_version=qdq.ir_version)


def _tensor_names(model) -> set[str]:
    names = {i.name for i in model.graph.input}
    return names | {out for node in model.graph.node for out in node.output}


def _expose(model, names: list[str], path: Path) -> None:
    """Save ``model`` with ``names`` added as graph outputs (weights beside it, any size)."""
    import onnx

    present = {o.name for o in model.graph.output}
    for name in names:
        if name not in present:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
            present.add(name)
    onnx.save(model, str(path), save_as_external_data=True, location=path.name + ".data")


def _session(path_or_bytes):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(path_or_bytes, options, providers=["CPUExecutionProvider"])


def _accumulate(layer: _Layer, reference: np.ndarray, noisy: np.ndarray) -> None:
    # float32 BLAS dot products (one difference copy); float64 was 10x slower on 2 cores and
    # each sum is added into a Python float, so batches do not accumulate float32 rounding.
    ref = np.ascontiguousarray(reference, dtype=np.float32).ravel()
    out = np.ascontiguousarray(noisy, dtype=np.float32).ravel()
    diff = ref - out
    ref_sq, out_sq = float(np.dot(ref, ref)), float(np.dot(out, out))
    layer.signal += ref_sq
    layer.noise += float(np.dot(diff, diff))
    layer.dot += float(np.dot(ref, out))
    layer.norms = (layer.norms[0] + ref_sq, layer.norms[1] + out_sq)


def rank_layers(fp32_path: Path, int8_path: Path, tensors: np.ndarray) -> list[dict[str, Any]]:
    """Rank the quantized layers of ``int8_path``, each measured alone on FP32 activations.

    Args:
        fp32_path: The FP32 ONNX model.
        int8_path: Its Q/DQ INT8 copy (``quantize_static`` output).
        tensors: Calibration inputs; processed ``BATCH`` at a time (one FP32 run exposes every
            ranked layer's input and output, about 20 MB an image for MobileNetV2 at 224).

    Returns:
        One entry per quantized layer, lowest SQNR (most damaging) first: node name, op, output
        tensor, ``sqnr_db`` and ``cosine`` of the layer's dequantized output against FP32.
    """
    import onnx

    fp32 = onnx.load(str(fp32_path))
    qdq = onnx.load(str(int8_path))
    layers = _quantized_layers(qdq, _tensor_names(fp32))
    for layer in layers:
        layer.session = _session(_piece(qdq, layer).SerializeToString())
    needed = sorted({name for layer in layers for name in (layer.float_input, layer.reference)})
    input_name = fp32.graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="edgevision-damage-") as work:
        exposed = Path(work) / "fp32.onnx"
        _expose(fp32, needed, exposed)
        del fp32  # the weights now live in the file; keep one copy in memory, not two
        session = _session(str(exposed))
        for start in range(0, len(tensors), BATCH):
            values = session.run(needed, {input_name: tensors[start : start + BATCH]})
            acts = dict(zip(needed, values, strict=True))
            for layer in layers:
                noisy = layer.session.run(None, {layer.float_input: acts[layer.float_input]})[0]
                _accumulate(layer, acts[layer.reference], noisy)
    ranking = [_entry(layer) for layer in layers]
    ranking.sort(key=lambda entry: entry["sqnr_db"])
    return ranking


def _entry(layer: _Layer) -> dict[str, Any]:
    ratio = max(layer.signal, 1e-30) / layer.noise if layer.noise else math.inf
    sqnr = 10.0 * math.log10(ratio) if math.isfinite(ratio) else math.inf
    cosine = layer.dot / max(math.sqrt(layer.norms[0] * layer.norms[1]), 1e-30)
    return {
        "node": layer.node,
        "op": layer.op,
        "output": layer.reference,
        "sqnr_db": round(sqnr, 3) if math.isfinite(sqnr) else 999.0,
        "cosine": round(cosine, 6),
    }


def fallback_steps(ranking: list[dict[str, Any]], *, max_layers: int | None = None) -> list[int]:
    """How many top-ranked layers to keep in float at each accuracy-aware attempt: 1, 2, 4, ...

    Doubling bounds the attempts to about log2(layers) + 1 (7 for MobileNetV2's 53), each one a
    full re-quantization and validation run; the last attempt keeps every ranked layer in float.
    """
    limit = min(len(ranking), max_layers or len(ranking))
    steps, count = [], 1
    while count < limit:
        steps.append(count)
        count *= 2
    return [*steps, limit] if limit else []


def format_ranking(ranking: list[dict[str, Any]], *, top: int = 5) -> str:
    """One-line summary of the worst layers for error messages."""
    worst = ", ".join(f"{e['node']} (SQNR {e['sqnr_db']:.1f} dB)" for e in ranking[:top])
    return f"most damaging INT8 layers: {worst}" if worst else "no quantized layers ranked"
