"""ONNX files as export writes them: external data for large models, opset read back."""

from __future__ import annotations

import pytest


def test_large_models_keep_weights_in_external_data(tmp_path, monkeypatch):
    onnx = pytest.importorskip("onnx")
    import numpy as np
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    from edgevision.export import onnx as onnx_export

    weight = np.arange(3 * 512, dtype=np.float32).reshape(3, 512)  # 6 KiB: externalised
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 512])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    monkeypatch.setattr(onnx_export, "EXTERNAL_DATA_BYTES", 0)  # treat it as a huge model
    files = onnx_export.save_onnx(model, tmp_path / "model.onnx")
    assert [f.name for f in files] == ["model.onnx", "model.onnx.data"]
    assert onnx_export.onnx_files(tmp_path / "model.onnx") == files
    assert onnx_export.read_opset(onnx.load(str(files[0]), load_external_data=False)) == 18
    session = onnxruntime.InferenceSession(str(files[0]))
    x = np.ones((1, 3), np.float32)
    assert np.allclose(session.run(None, {"x": x})[0], x @ weight)
