"""FP16 ONNX for GPU runtimes (TensorRT, ONNX Runtime CUDA): weights and compute in half,
inputs and outputs kept float32 so the input contract does not change.
"""

from __future__ import annotations

from pathlib import Path

from edgevision.export.onnx import save_onnx


def convert_fp16(fp32_path: Path, fp16_path: Path) -> tuple[list[Path], dict]:
    """Write an FP16 copy of an FP32 ONNX model.

    Casts are inserted at the graph input and output (float32 in, float32 out). On a CPU
    execution provider such a model runs slower than FP32 (ONNX Runtime CPU has few FP16 kernels
    and casts around the rest); it is meant for GPUs.

    Returns:
        The files written and details for the manifest.
    """
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(fp32_path))
    half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
    files = save_onnx(half, fp16_path)
    return files, {"tool": "onnxruntime.transformers.float16", "io_types": "float32"}
