"""PyTorch → ONNX: dynamic batch, opset read back after export, onnxslim, external data.

The dynamo exporter (torch >= 2.9 default) may return a higher opset than asked for (17 → 18)
while only logging the failed down-conversion, so the opset recorded is the one read from the
file's ``opset_import``, never the one requested.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from edgevision.contract import InputContract
from edgevision.errors import ModelError

logger = logging.getLogger(__name__)

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
# Protobuf refuses single files above 2 GiB; larger models keep weights in a side file.
EXTERNAL_DATA_BYTES = 1_800_000_000


@dataclass
class ONNXArtifact:
    """An exported ONNX model on disk.

    Attributes:
        path: The ``.onnx`` file.
        files: Every file of the model (``.onnx`` plus external data, if any).
        opset_requested: Opset asked of the exporter.
        opset: Opset actually in the file.
        details: Facts for the manifest (exporter, versions, slimming, node counts).
    """

    path: Path
    files: list[Path]
    opset_requested: int
    opset: int
    details: dict = field(default_factory=dict)


def read_opset(model: onnx.ModelProto) -> int:
    """The default-domain opset a model declares."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    raise ModelError("the ONNX model declares no default-domain opset")


def _untraceable(err: Exception, arch: str) -> ModelError:
    # Exporter errors are long and chained; the user needs the operation that failed, which sits
    # in the innermost cause (an aten op, or the data-dependent expression torch.export hit).
    texts, cause = [], err
    while cause is not None and len(texts) < 10:
        texts.append(re.sub(r"\x1b\[[0-9;]*m", "", str(cause)))
        cause = cause.__cause__ or cause.__context__
    pattern = (
        r"(aten::[\w.]+|aten\.[\w.]+|torch\.ops\.[\w.]+|Could not [^\n]{0,160}"
        r"|data-dependent [^\n]{0,160}|[Uu]nsupported [^\n]{0,160})"
    )
    for text in reversed(texts):
        match = re.search(pattern, text)
        if match:
            what = match.group(1).strip()
            break
    else:
        what = texts[-1].strip().splitlines()[0][:200] if texts[-1].strip() else repr(err)
    return ModelError(
        f"cannot export {arch} to ONNX: the exporter failed at {what}; replace that operation "
        "in the model, or export the model to ONNX yourself and use --onnx FILE"
    )


def export_onnx(
    model,
    path: Path,
    *,
    contract: InputContract,
    batch_min: int = 1,
    batch_max: int = 1,
    opset: int = 18,
    arch: str = "model",
    slim: bool = True,
) -> ONNXArtifact:
    """Export an eval-mode torch module taking one NCHW float tensor.

    Args:
        model: The ``torch.nn.Module`` (eval mode).
        path: Target ``.onnx`` file; its folder must exist.
        contract: Input contract (for the example input's height and width).
        batch_min: Smallest batch.
        batch_max: Largest batch; above ``batch_min`` the batch axis is dynamic.
        opset: Opset to ask for; the real one is returned.
        arch: Architecture name for error messages.
        slim: Simplify the graph with onnxslim (constant folding, fusion, dead nodes).

    Raises:
        ModelError: The exporter cannot trace the model (names the failing operation).
    """
    import torch

    height, width = contract.input_hw
    example = torch.randn(max(2, batch_min), 3, height, width)
    dynamic = batch_max > batch_min
    shapes = (
        {"x": {0: torch.export.Dim("batch", min=batch_min, max=batch_max)}} if dynamic else None
    )
    try:
        with torch.no_grad():
            program = torch.onnx.export(
                _named_input(model),
                (example if dynamic else example[:batch_min],),
                dynamo=True,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=shapes,
                verbose=False,
            )
    except Exception as err:  # the exporter raises many unrelated types
        raise _untraceable(err, arch) from err
    proto = program.model_proto
    return _finish(proto, path, opset_requested=opset, slim=slim, torch_version=torch.__version__)


def _named_input(model):
    """Wrap a module so the exported input is called ``x`` whatever ``forward`` names it
    (``dynamic_shapes`` is keyed by that argument name)."""
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)

    return Wrapper(model).eval()


def _finish(
    proto: onnx.ModelProto, path: Path, *, opset_requested: int, slim: bool, torch_version: str
) -> ONNXArtifact:
    """Slim, save (external data when large) and describe an exported model."""
    nodes_before = len(proto.graph.node)
    if slim:
        import onnxslim

        proto = onnxslim.slim(proto)
    actual = read_opset(proto)
    if actual != opset_requested:
        logger.warning("asked the exporter for opset %d, it produced %d", opset_requested, actual)
    files = save_onnx(proto, path)
    details = {
        "exporter": "torch.onnx.export(dynamo=True)",
        "torch": torch_version,
        "onnx": onnx.__version__,
        "opset_requested": opset_requested,
        "opset": actual,
        "slimmed": slim,
        "nodes": {"exported": nodes_before, "final": len(proto.graph.node)},
    }
    if slim:
        import onnxslim

        details["onnxslim"] = getattr(onnxslim, "__version__", "unknown")
    return ONNXArtifact(path, files, opset_requested, actual, details)


def save_onnx(proto: onnx.ModelProto, path: Path) -> list[Path]:
    """Save a model as one file, or with ``<name>.data`` beside it when above ~1.8 GB.

    Returns:
        The files written (the model file first).
    """
    if proto.ByteSize() < EXTERNAL_DATA_BYTES:
        onnx.save_model(proto, str(path), save_as_external_data=False)
        return [path]
    data_name = path.name + ".data"
    onnx.save_model(
        proto,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=data_name,
        size_threshold=1024,
    )
    return [path, path.with_name(data_name)]


def onnx_files(path: Path) -> list[Path]:
    """The model file and every external-data file it references."""
    model = onnx.load(str(path), load_external_data=False)
    extra = set()
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                extra.add(path.parent / entry.value)
    return [path, *sorted(extra)]
