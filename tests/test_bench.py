"""Bench behaviour: statistics, timing policy, scenarios, interleaving, the CLI and its errors."""

from __future__ import annotations

import csv
import json
import shutil
import sys
import time

import numpy as np
import pytest
from test_bench_support import DelayedRuntime, make_tiny_bundle

from edgevision.benchmark.interleave import Candidate, Plan, measure
from edgevision.benchmark.scenarios import camera_paced, single_stream, summarize
from edgevision.benchmark.stats import quantile_ci, summarize_latencies
from edgevision.benchmark.timing import RunPolicy, warm_up
from edgevision.benchmark.workload import FrameSource, ModelOnly
from edgevision.cli.main import main
from edgevision.images import list_images, load_image
from edgevision.runtime import RuntimeOptions, open_runtime

OPENVINO = pytest.mark.openvino
FAST = ["--warmup-count", "3", "--warmup-s", "0.1", "--min-count", "30", "--min-duration-s",
        "0.3", "--rounds", "2"]  # fmt: skip


class SleepWork:
    """A workload whose iteration is a fixed sleep: known latency, no model."""

    timed_region = "model"
    batch_size = 1

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0

    def step(self) -> None:
        self.calls += 1
        time.sleep(self.seconds)


def test_summary_percentiles_on_known_samples():
    summary = summarize_latencies(np.arange(1, 1001, dtype=float))
    assert summary["count"] == 1000
    assert summary["p50"] == pytest.approx(500.5)
    assert summary["p90"] == pytest.approx(900.1)
    assert summary["min"] == 1 and summary["max"] == 1000
    assert summary["p50"] <= summary["p90"] <= summary["p95"] <= summary["p99"]
    low, high = summary["p90_ci95"]
    assert 870 < low < 900.1 < high < 930


def test_p90_interval_covers_the_true_quantile_at_its_confidence():
    rng = np.random.default_rng(1)
    true_p90 = -np.log(0.1)  # exponential(1)
    hits = 0
    for _ in range(400):
        low, high = quantile_ci(rng.exponential(size=200), 0.9)
        hits += low <= true_p90 <= high
    assert 0.92 <= hits / 400 <= 0.995  # 95 % nominal; order statistics are conservative


def test_p90_interval_is_open_when_samples_are_too_few():
    assert quantile_ci([1.0, 2.0, 3.0], 0.9)[1] is None


def test_policy_needs_both_count_and_duration():
    work = SleepWork(0.002)
    start = time.perf_counter()
    samples = single_stream(work, RunPolicy(min_count=5, min_duration_s=0.15))
    assert time.perf_counter() - start >= 0.15 and len(samples.latencies_ms) > 5
    exact = single_stream(SleepWork(0.0), RunPolicy(min_count=37, min_duration_s=0.0))
    assert len(exact.latencies_ms) == 37
    assert min(samples.latencies_ms) >= 2.0  # a 2 ms sleep never measures shorter
    timed = SleepWork(0.01)
    assert warm_up(timed.step, RunPolicy(warmup_count=2, warmup_s=0.1)) >= 9


def _paced(runtime, *, fps: float, frames: int) -> dict:
    work = ModelOnly(runtime)
    policy = RunPolicy(min_count=frames, min_duration_s=0.0)
    return summarize("paced", camera_paced(work, policy, fps=fps))


@pytest.fixture(scope="module")
def tiny_runtime(tmp_path_factory):
    """A sub-millisecond model, so scheduler noise on a busy machine stays far from deadlines."""
    bundle = make_tiny_bundle(tmp_path_factory.mktemp("paced") / "tiny")
    runtime = open_runtime(bundle, options=RuntimeOptions(threads=1))
    warm_up(ModelOnly(runtime).step, RunPolicy(warmup_count=5, warmup_s=0.0))
    return runtime


def test_paced_fast_model_misses_no_deadline(tiny_runtime):
    result = _paced(tiny_runtime, fps=5, frames=10)
    assert result["frames_processed"] == 10 and result["frames_dropped"] == 0
    assert result["deadline_miss_share"] == 0.0
    assert result["latency_ms"]["max"] < 200.0


@pytest.mark.parametrize("every", [1, 4])
def test_paced_delay_shows_the_miss_rate_it_implies(tiny_runtime, every):
    # fps 4 → 250 ms interval. A 300 ms delay makes the delayed frame late; the frame after it
    # waited about 50 ms plus two inferences and still makes its deadline, so exactly 1 frame in
    # `every` misses (every frame when every == 1: each then waits behind a delayed one).
    slow = DelayedRuntime(tiny_runtime, delay_s=0.3, every=every)
    result = _paced(slow, fps=4, frames=12)
    assert result["deadline_miss_share"] == pytest.approx(1.0 / every)
    late = result["frames_late"] + result["frames_dropped"]
    assert late == round(result["frames_arrived"] / every)


def test_interleaved_rounds_rotate_and_collect_for_every_candidate(foreign_bundle):
    runtimes = [
        open_runtime(foreign_bundle, backend=b, options=RuntimeOptions(threads=1))
        for b in ("onnxruntime", "openvino")
    ]
    candidates = [Candidate(r.backend, r, ModelOnly(r)) for r in runtimes]
    order: list[str] = []
    policy = RunPolicy(warmup_count=1, warmup_s=0.0, min_count=9, min_duration_s=0.0)
    measure(
        candidates, Plan(policy=policy, rounds=3), on_slice=lambda s, r, c: order.append(c.label)
    )
    assert order == ["onnxruntime", "openvino", "openvino", "onnxruntime"] + [
        "onnxruntime",
        "openvino",
    ]
    for candidate in candidates:
        assert len(candidate.samples["single-stream"].latencies_ms) == 9


def test_frame_source_loops_a_video(shared_data):
    source = FrameSource(shared_data / "video" / "tree.avi")  # 68 decodable frames
    frames = [source.next_frame() for _ in range(150)]
    assert all(f.shape == (240, 320, 3) for f in frames)
    assert np.array_equal(frames[0], frames[68])
    folder = FrameSource(shared_data / "imagenet_samples")  # 5 photos of different sizes
    shapes = [folder.next_frame().shape for _ in range(10)]
    expected = [load_image(p).shape for p in list_images(shared_data / "imagenet_samples")]
    assert shapes == expected + expected


def test_bad_end_to_end_source_is_one_line(foreign_bundle, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    for source, message in (("missing", "not found"), ("empty", "holds no images"),
                            ("broken.mp4", "broken.mp4")):  # fmt: skip
        args = ["bench", "--bundle", str(foreign_bundle), "--e2e-source", str(tmp_path / source)]
        assert main([*args, *FAST]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1


def test_bench_json_records_what_ran(foreign_bundle, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["bench", "--bundle", str(foreign_bundle), "--threads", "2", *FAST,
                 "--scenario", "single-stream,throughput", "--json", str(out),
                 "--csv", str(tmp_path / "r.csv"), "--plot", str(tmp_path / "r.png")])  # fmt: skip
    assert code == 0
    assert "single-stream" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["schema"] == "edgevision-bench" and result["schema_version"] == 2
    assert result["command"][:4] == ["edgevision", "bench", "--bundle", str(foreign_bundle)]
    host = result["host"]
    assert host["cpu_model"] and host["cpu_cores"] >= 1 and host["memory_gib"] > 0
    assert host["versions"]["onnxruntime"] and host["versions"]["python"]
    assert host["load_average"] is not None
    (run,) = result["runs"]
    assert (run["backend"], run["device_used"], run["precision_used"]) == (
        "onnxruntime",
        "cpu",
        "int8",
    )
    assert run["threads"] == 2 and run["timed_region"] == "model"
    assert run["cold_start"]["load_ms"] > 0 and run["cold_start"]["first_inference_ms"] > 0
    single = run["scenarios"]["single-stream"]["latency_ms"]
    assert single["count"] >= 30
    assert single["p50"] <= single["p90"] <= single["p99"] <= single["max"]
    assert single["min"] <= single["mean"] <= single["max"]
    assert len(run["samples_ms"]["single-stream"]) == single["count"]
    assert run["scenarios"]["throughput"]["images_per_s"] > 0
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [r["scenario"] for r in rows] == ["single-stream", "throughput"]
    assert float(rows[0]["p50_ms"]) == single["p50"]
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_end_to_end_with_accuracy(foreign_bundle, shared_data, tmp_path):
    # Labelled copy of the five samples; the owl goes under "macaw", so 4 of 5 are right.
    classes = {"parrot.jpg": "macaw", "hot_dog.jpg": "hotdog, hot dog, red hot",
               "cat_720p.jpg": "Egyptian cat", "grace_hopper.bmp": "military uniform",
               "owl.jpg": "macaw"}  # fmt: skip
    for name, label in classes.items():
        (tmp_path / "labelled" / label).mkdir(parents=True, exist_ok=True)
        (tmp_path / "labelled" / label / name).write_bytes(
            (shared_data / "imagenet_samples" / name).read_bytes()
        )
    out = tmp_path / "e2e.json"
    code = main(["bench", "--bundle", str(foreign_bundle), *FAST, "--scenario", "single-stream",
                 "--e2e-source", str(shared_data / "video" / "cup.mp4"),
                 "--labelled", str(tmp_path / "labelled"), "--json", str(out)])  # fmt: skip
    assert code == 0
    (run,) = json.loads(out.read_text())["runs"]
    assert run["timed_region"] == "end-to-end"
    assert run["accuracy"]["images"] == 5 and run["accuracy"]["top1"] == pytest.approx(0.8)


@pytest.mark.openvino
def test_openvino_true_fp32_is_what_the_result_says(tmp_path):
    bundle = make_tiny_bundle(tmp_path / "tiny", with_ir=True)
    out = tmp_path / "ov.json"
    code = main(["bench", "--bundle", str(bundle), "--backend", "openvino", "--variant", "ov-fp32",
                 "--inference-precision", "f32", *FAST, "--json", str(out)])  # fmt: skip
    assert code == 0
    (run,) = json.loads(out.read_text())["runs"]
    assert run["precision_used"] == "fp32" and run["runtime"]["precision_used"] == "fp32"
    assert run["device_used"] == "CPU" and run["inference_precision"] == "f32"


@pytest.mark.openvino
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--backend", "onnxruntime", "--variant", "ov-fp32"], "ONNX Runtime runs ONNX variants"),
        (["--backend", "openvino", "--device", "GPU"], "OpenVINO device GPU is not present"),
        (["--backend", "onnxruntime", "--inference-precision", "f32"], "applies to openvino"),
        (["--backend", "tpu"], "unknown backend"),
        (["--precision", "int8"], "has no variant"),
        (["--scenario", "offline"], "unknown scenario"),
        (["--backend", "openvino", "--inference-precision", "bogus"], "Wrong value bogus"),
    ],
)
def test_bench_refuses_what_cannot_run_here(tmp_path, capsys, extra, message):
    bundle = make_tiny_bundle(tmp_path / "tiny", with_ir=True)
    assert main(["bench", "--bundle", str(bundle), *FAST, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_bench_names_the_extra_of_a_missing_backend(tmp_path, capsys, monkeypatch):
    bundle = make_tiny_bundle(tmp_path / "tiny")
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if never installed
    assert main(["bench", "--bundle", str(bundle), "--backend", "openvino", *FAST]) == 2
    assert "pip install 'edgevision[openvino]'" in capsys.readouterr().err


def test_throughput_in_batches_counts_images(tmp_path):
    bundle = make_tiny_bundle(tmp_path / "tiny")
    out = tmp_path / "b.json"
    args = ["bench", "--bundle", str(bundle), "--scenario", "throughput", "--batch", "4"]
    assert main([*args, *FAST, "--json", str(out)]) == 0
    (run,) = json.loads(out.read_text())["runs"]
    figures = run["scenarios"]["throughput"]
    assert run["batch_size"] == 4 and figures["images"] == 4 * figures["latency_ms"]["count"]
    assert figures["images_per_s"] == pytest.approx(figures["images"] / figures["duration_s"], 1e-3)
    assert main([*args[:-1], "16", *FAST]) == 2  # the variant's batch limit is 8


def test_same_candidate_twice_is_measured_under_two_labels(tmp_path):
    bundle = make_tiny_bundle(tmp_path / "tiny")
    out = tmp_path / "twice.json"
    args = ["bench", "--bundle", str(bundle), "--device", "cpu,cpu", "--scenario", "single-stream"]
    assert main([*args, *FAST, "--json", str(out)]) == 0
    labels = [run["label"] for run in json.loads(out.read_text())["runs"]]
    assert labels == ["onnxruntime/onnx-fp32/cpu#1", "onnxruntime/onnx-fp32/cpu#2"]


def test_unusable_outputs_are_refused_before_measuring(
    foreign_bundle, tmp_path, capsys, monkeypatch
):
    args = ["bench", "--bundle", str(foreign_bundle), "--min-duration-s", "60"]
    assert main([*args, "--json", str(tmp_path)]) == 2  # would run a minute if not refused
    assert "is a folder" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the report extra is absent
    assert main([*args, "--plot", str(tmp_path / "p.png")]) == 2
    assert "pip install 'edgevision[report]'" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--json", "--csv", "--plot"])
def test_existing_outputs_are_kept_without_force(tmp_path, capsys, flag):
    bundle = make_tiny_bundle(tmp_path / "tiny")
    kept = tmp_path / "old.out"
    kept.write_text("mine")
    args = ["bench", "--bundle", str(bundle), "--min-duration-s", "60", flag, str(kept)]
    assert main(args) == 2  # would run a minute if not refused before measuring
    err = capsys.readouterr().err.strip()
    assert f"{flag} {kept} already exists" in err and "--force" in err
    assert len(err.splitlines()) == 1 and kept.read_text() == "mine"


def test_force_replaces_an_existing_json(tmp_path):
    bundle = make_tiny_bundle(tmp_path / "tiny")
    out = tmp_path / "b.json"
    out.write_text("mine")
    args = ["bench", "--bundle", str(bundle), "--scenario", "single-stream", "--json", str(out)]
    assert main([*args, *FAST, "--force"]) == 0
    assert json.loads(out.read_text())["runs"][0]["scenarios"]["single-stream"]


@pytest.mark.parametrize(
    "flags",
    [["--min-duration-s", "nan"], ["--min-duration-s", "inf"], ["--fps", "nan"],
     ["--batch", "0"], ["--deadline-ms", "-5"], ["--in-flight", "0"], ["--threads", "-3"],
     ["--streams", "0"], ["--warmup-count", "-1"], ["--warmup-s", "-0.5"], ["--rounds", "0"],
     ["--min-count", "0"]],
)  # fmt: skip
def test_numeric_flags_are_checked_by_argparse(capsys, flags):
    with pytest.raises(SystemExit) as stop:
        main(["bench", "--bundle", "b", *flags])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and flags[0] in err and "Traceback" not in err


@pytest.mark.openvino
def test_bench_measures_every_variant_by_default(tmp_path, capsys):
    pytest.importorskip("openvino")
    bundle = make_tiny_bundle(tmp_path / "bundle", with_ir=True)
    out = tmp_path / "r.json"
    assert main(["bench", "--bundle", str(bundle), *FAST, "--json", str(out)]) == 0
    runs = json.loads(out.read_text())["runs"]
    assert sorted((r["variant"], r["backend"]) for r in runs) == [
        ("onnx-fp32", "onnxruntime"),
        ("ov-fp32", "openvino"),
    ]


def _cpu_lacks(capability: str) -> bool:
    import openvino as ov

    return capability not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


@pytest.mark.openvino
def test_precision_the_cpu_cannot_execute_is_refused_not_relabelled(tmp_path, capsys):
    pytest.importorskip("openvino")
    if not _cpu_lacks("BF16"):
        pytest.skip("this CPU executes bf16; the refusal needs one that does not")
    bundle = make_tiny_bundle(tmp_path / "tiny", with_ir=True)
    args = ["bench", "--bundle", str(bundle), "--backend", "openvino", "--variant", "ov-fp32"]
    assert main([*args, "--inference-precision", "bf16", *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot execute bf16 here" in err and "at fp32" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("backend", ["onnxruntime", pytest.param("openvino", marks=OPENVINO)])
def test_batch_the_model_cannot_take_is_one_line(foreign_bundle, tmp_path, capsys, backend):
    """A hand-edited manifest promising batches of 4 to a batch-1 model."""
    if backend == "openvino":
        pytest.importorskip("openvino")
    edited = tmp_path / "bundle"
    shutil.copytree(foreign_bundle, edited)
    manifest = json.loads((edited / "manifest.json").read_text())
    manifest["variants"][0]["batch"] = {"min": 1, "max": 4}
    (edited / "manifest.json").write_text(json.dumps(manifest))
    args = ["bench", "--bundle", str(edited), "--backend", backend, "--scenario", "throughput"]
    assert main([*args, "--batch", "4", *FAST, "--json", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot run an input of shape (4, 224, 224, 3)" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r.json").exists()


def test_clashing_or_unwritable_outputs_are_refused_before_measuring(tmp_path, capsys):
    bundle = make_tiny_bundle(tmp_path / "tiny")
    same = tmp_path / "same.json"
    start = time.perf_counter()
    assert main(["bench", "--bundle", str(bundle), *FAST, "--json", str(same),
                 "--csv", str(same)]) == 2  # fmt: skip
    assert "--csv and --json both name" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["bench", "--bundle", str(bundle), *FAST,
                 "--json", str(blocker / "r.json")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert f"cannot write {blocker / 'r.json'}" in err and len(err.splitlines()) == 1
    assert time.perf_counter() - start < 5  # refused up front, not after the measurement
    assert not same.exists() and blocker.read_text() == "not a folder"
