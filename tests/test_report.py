"""``edgevision report``: results from different devices/backends merged; schema versions."""

from __future__ import annotations

import json
import re

import pytest

from edgevision.benchmark.results import load_result
from edgevision.cli.main import main
from edgevision.errors import DataError

FAST = ["--warmup-count", "2", "--warmup-s", "0.05", "--min-count", "20", "--min-duration-s",
        "0.2", "--rounds", "1", "--scenario", "single-stream"]  # fmt: skip

V1_RESULT = {  # the single-run layout of the first bench (schema version 1)
    "schema_version": 1,
    "hostname": "jetson-orin",
    "cpu_model": "ARMv8 Processor rev 1 (v8l)",
    "backend": "onnxruntime",
    "device": "cpu",
    "precision": "fp32",
    "threads": 4,
    "latency_ms": {"count": 500, "p50": 7.25, "p90": 7.9, "p99": 9.1, "mean": 7.4},
    "throughput_images_per_s": 131.0,
}


@pytest.fixture(scope="module")
def two_devices(foreign_bundle, tmp_path_factory):
    """Two real results: ONNX Runtime and OpenVINO, the second stamped as another host."""
    folder = tmp_path_factory.mktemp("results")
    paths = []
    for backend, host in (("onnxruntime", None), ("openvino", "edge-box-2")):
        path = folder / f"{backend}.json"
        args = ["bench", "--bundle", str(foreign_bundle), "--backend", backend, "--threads", "1"]
        assert main([*args, *FAST, "--json", str(path)]) == 0
        if host:
            result = json.loads(path.read_text())
            result["host"]["hostname"] = host
            path.write_text(json.dumps(result))
        paths.append(path)
    return paths


def test_report_merges_two_devices_into_one_table_and_plot(two_devices, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", *map(str, two_devices), "--out", str(out)]) == 0
    markdown = (out / "report.md").read_text()
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table) == 4  # header, rule, two rows
    assert "p50 ms" in table[0] and "throughput images/s" in table[0]
    assert "onnxruntime/onnx-int8/cpu" in table[2] and "openvino/onnx-int8/cpu" in table[3]
    assert "| edge-box-2 |" in table[3]
    medians = [float(row.split("|")[8]) for row in table[2:]]
    expected = [load_result(p)["runs"][0]["scenarios"]["single-stream"]["latency_ms"]["p50"]
                for p in two_devices]  # fmt: skip
    assert medians == pytest.approx(expected, abs=1e-3)
    page = (out / "report.html").read_text()
    assert page.count("<tr>") == 3 and 'src="latency.png"' in page
    png = (out / "latency.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "edge-box-2" in capsys.readouterr().out


def test_version_1_result_is_converted(two_devices, tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps(V1_RESULT))
    converted = load_result(old)
    (run,) = converted["runs"]
    assert converted["schema_version"] == 2
    assert run["scenarios"]["single-stream"]["latency_ms"]["p50"] == 7.25
    assert run["scenarios"]["throughput"]["images_per_s"] == 131.0
    assert (run["device_used"], run["precision_used"]) == ("cpu", "fp32")
    out = tmp_path / "report"
    assert main(["report", str(old), str(two_devices[0]), "--out", str(out)]) == 0
    assert "| jetson-orin | ARMv8 Processor rev 1 (v8l) |" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (json.dumps({"schema": "edgevision-bench", "schema_version": 7, "runs": []}),
         "schema version 7; this edgevision reads versions 1 and 2"),
        (json.dumps({"schema": "something-else", "schema_version": 2}), "not an edgevision"),
        ("{not json", "not a readable JSON"),
        (json.dumps({"schema_version": 1, "backend": "x"}), "lacks a required field"),
    ],
)  # fmt: skip
def test_unreadable_result_is_refused_in_one_line(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(DataError, match="bad.json"):
        load_result(bad)
    out = tmp_path / "report"
    assert main(["report", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def _v2_result(**run_fields):
    run = {"label": "onnxruntime/onnx-fp32/cpu", "device_used": "cpu", "precision_used": "fp32",
           "scenarios": {"single-stream": {"latency_ms": {"count": 3, "p50": 2.5, "p90": 3.0,
                                                          "p99": 3.5}}},
           "samples_ms": {"single-stream": [2.0, 2.5, 3.5]}, "accuracy": None}  # fmt: skip
    run.update(run_fields)
    return {"schema": "edgevision-bench", "schema_version": 2, "host": {"hostname": "box"},
            "settings": {}, "runs": [run]}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scenarios": None}, "runs[0].scenarios"),
        ({"samples_ms": None}, "runs[0].samples_ms"),
        ({"samples_ms": {"single-stream": None}}, "runs[0].samples_ms.single-stream"),
        ({"scenarios": {"paced": None}}, "runs[0].scenarios.paced"),
        ({"scenarios": {"single-stream": {"latency_ms": None}}},
         "runs[0].scenarios.single-stream.latency_ms"),
        ({"scenarios": {"single-stream": {"latency_ms": {"p50": "fast"}}}},
         "runs[0].scenarios.single-stream.latency_ms.p50"),
        ({"cold_start": [1, 2]}, "runs[0].cold_start"),
        ({"label": 5}, "runs[0].label"),
    ],
)  # fmt: skip
def test_wrong_field_types_are_named_in_one_line(tmp_path, capsys, fields, field):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_v2_result(**fields)))
    out = tmp_path / "report"
    assert main(["report", str(bad), "--out", str(out), "--no-plot"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"bad.json: field {field} should be" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_null_host_and_accuracy_are_accepted(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_v2_result(cold_start=None) | {"host": None}))
    out = tmp_path / "report"
    assert main(["report", str(good), "--out", str(out), "--no-plot"]) == 0
    row = (out / "report.md").read_text().splitlines()[-1]
    assert "| 2.500 | 3.000 | 3.500 |" in row


def test_existing_report_is_kept_without_force(tmp_path, capsys):
    result = tmp_path / "r.json"
    result.write_text(json.dumps(_v2_result()))
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.md").write_text("mine")
    assert main(["report", str(result), "--out", str(out), "--no-plot"]) == 2
    err = capsys.readouterr().err.strip()
    assert "report.md" in err and "--force" in err and len(err.splitlines()) == 1
    assert (out / "report.md").read_text() == "mine" and not (out / "report.html").exists()
    assert main(["report", str(result), "--out", str(out), "--no-plot", "--force"]) == 0
    assert "| 2.500 |" in (out / "report.md").read_text()


def test_unwritable_report_folder_is_one_line(two_devices, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("kept")
    assert main(["report", *map(str, two_devices), "--out", str(blocker / "report")]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot write" in err and len(err.splitlines()) == 1
    assert blocker.read_text() == "kept"


def test_pipe_in_a_host_name_stays_inside_its_markdown_cell(two_devices, tmp_path):
    result = load_result(two_devices[1])
    result["host"]["hostname"] = "edge|box"
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(result))
    out = tmp_path / "report"
    assert main(["report", str(two_devices[0]), str(odd), "--out", str(out), "--no-plot"]) == 0
    lines = (out / "report.md").read_text().splitlines()
    header, _, *rows = [line for line in lines if line.startswith("|")]
    cells = [len(re.split(r"(?<!\\)\|", line)) for line in (header, *rows)]
    assert cells == [cells[0]] * 3 and "edge\\|box" in rows[1]
