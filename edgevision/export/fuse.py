"""Preprocessing fused into the ONNX graph: the model then takes BGR uint8 NHWC frames directly.

Prefix nodes: Cast(uint8 → float) → Transpose (N, h, w, 3) → (N, 3, h, w) → channel reorder when
the model wants RGB → one Mul and one Sub per channel (``x * scale / std - mean / std``). Geometry
(resize, crop) stays on the host: it depends on the frame size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgevision.contract import InputContract
from edgevision.export.onnx import save_onnx


def fuse_preprocessing(path: Path, contract: InputContract) -> dict:
    """Rewrite ``path`` in place so its input is (N, h, w, 3) uint8 BGR.

    Returns:
        Details for the manifest (what the prefix does).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    old = graph.input[0]
    batch = old.type.tensor_type.shape.dim[0]
    height, width = contract.input_hw
    raw_name, float_name = "frames_bgr_uint8", "input_float_nhwc"
    gain = np.float32(contract.scale) / np.asarray(contract.std, np.float32)
    offset = np.asarray(contract.mean, np.float32) / np.asarray(contract.std, np.float32)
    order = [2, 1, 0] if contract.color_order == "rgb" else [0, 1, 2]
    constants = [
        numpy_helper.from_array(np.asarray(order, np.int64), "fuse_channel_order"),
        numpy_helper.from_array(gain.reshape(1, 3, 1, 1), "fuse_gain"),
        numpy_helper.from_array(offset.reshape(1, 3, 1, 1), "fuse_offset"),
    ]
    nodes = [
        helper.make_node("Cast", [raw_name], [float_name], to=TensorProto.FLOAT),
        helper.make_node("Transpose", [float_name], ["fuse_nchw_bgr"], perm=[0, 3, 1, 2]),
        helper.make_node("Gather", ["fuse_nchw_bgr", "fuse_channel_order"], ["fuse_nchw"], axis=1),
        helper.make_node("Mul", ["fuse_nchw", "fuse_gain"], ["fuse_scaled"]),
        helper.make_node("Sub", ["fuse_scaled", "fuse_offset"], [old.name]),
    ]
    new_input = helper.make_tensor_value_info(
        raw_name, TensorProto.UINT8, [batch.dim_param or batch.dim_value, height, width, 3]
    )
    graph.initializer.extend(constants)
    rest = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + rest)
    graph.input.remove(old)
    graph.input.insert(0, new_input)
    save_onnx(model, path)
    return {"prefix": "cast, NHWC→NCHW, BGR→" + contract.color_order.upper() + ", scale/mean/std"}
