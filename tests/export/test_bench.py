"""`har bench` end to end on tiny trained models: every variant, every field, a readable picture.

One LRCN (the session's tiny model) and one ConvLSTM trained here for one
epoch are benchmarked once, with one timing round; the tests read what that
run wrote. The models are not good and the machine is shared, so numbers are
checked for sanity (ranges, p95 >= p50), never against fixed values.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from har.cli.main import app
from har.edge.bench import ROW_FIELDS
from har.export.bench import FAMILIES, STREAMING_QUANTS, WINDOW_QUANTS, Family, dataset_drift, pareto_front
from har.export.bench.goals import GOALS
from har.models.folder import ModelFolder as ModelDir

THREADS = ["1"]
VARIANTS = {(f, q) for f in FAMILIES for q in ("keras", *WINDOW_QUANTS)} | {
    ("lrcn", f"streaming-{q}") for q in STREAMING_QUANTS}
BACKENDS = ("ai-edge-litert", "tflite-runtime")


@pytest.fixture(scope="module")
def bench(tiny_synth, tiny_model_dir, tmp_path_factory):
    pytest.importorskip("tensorflow")
    from har.train.config import load_config
    from har.train.fit import train

    root = tmp_path_factory.mktemp("bench")
    models = root / "artifacts"
    models.mkdir()
    (models / "lrcn").symlink_to(tiny_model_dir, target_is_directory=True)
    # 8 frames: the unrolled ConvLSTM converts several times faster than at the usual 20
    train(load_config(None, dict(model="convlstm", data=str(tiny_synth), epochs=1, out=str(models), seq_len=8,
                                 cache_dir=str(root / "cache"), clips_per_video=1, val_fraction=0.25)))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # no .venv-tflrt here: its rows must be marked skipped, with the reason
        res = CliRunner().invoke(app, ["bench", "--models", str(models), "--out", str(root / "out"),
                                       "--threads", ",".join(THREADS), "--samples", "8", "--rounds", "1",
                                       "--passes", "1"])
    assert res.exit_code == 0, res.output
    out = root / "out"
    return SimpleNamespace(out=out, output=res.output, report=json.loads((out / "bench.json").read_text()))


def test_writes_json_table_and_a_readable_png(bench):
    assert {"bench.json", "bench.md", "pareto.png"} <= {p.name for p in bench.out.iterdir()}
    image = cv2.imread(str(bench.out / "pareto.png"))
    assert image is not None and image.ndim == 3 and min(image.shape[:2]) > 100
    assert "bench.md" in bench.output


def test_every_variant_on_every_backend_with_every_field(bench):
    rows = bench.report["rows"]
    for row in rows:
        assert set(row) == set(ROW_FIELDS), row["variant"]
    assert {(r["model"], r["variant"]) for r in rows} == VARIANTS
    for model, variant in VARIANTS - {(f, "keras") for f in FAMILIES}:
        backends = [r["backend"].split()[0] for r in rows if (r["model"], r["variant"]) == (model, variant)]
        assert sorted(backends) == sorted(BACKENDS), (model, variant)


def test_measured_rows_are_sane(bench):
    measured = [r for r in bench.report["rows"] if r["status"] == "ok"]
    assert {(r["model"], r["variant"]) for r in measured} == VARIANTS  # ai-edge-litert and Keras measure all
    for r in measured:
        assert 0 <= r["test_accuracy"] <= 1 and 0 <= r["macro_f1"] <= 1
        assert 0 <= r["agreement_with_keras"] <= 1
        assert r["params"] > 0 and r["bytes"] > 0
        for key in ("latency_window_ms", "latency_frame_ms"):
            assert sorted(r[key]) == THREADS
            for t in THREADS:
                assert 0 < r[key][t]["p50"] <= r[key][t]["p95"]
        for t in THREADS:
            assert r["throughput"][t]["fps"] > 0 and r["throughput"][t]["x_realtime"] > 0
        assert 0 < r["baseline_rss_mib"] <= r["peak_rss_mib"]


def test_keras_agrees_with_itself_and_streaming_costs_less_per_frame_than_per_window(bench):
    rows = {(r["model"], r["variant"]): r for r in bench.report["rows"] if r["status"] == "ok"}
    for f in FAMILIES:
        assert rows[f, "keras"]["agreement_with_keras"] == 1.0
        assert rows[f, "keras"]["backend"].startswith("TensorFlow")
    stream = rows["lrcn", "streaming-int8"]
    assert stream["files"] == ["encoder.tflite", "head.tflite"]
    assert stream["latency_frame_ms"] != stream["latency_window_ms"]


def test_missing_tflite_runtime_is_skipped_with_the_reason(bench):
    skipped = [r for r in bench.report["rows"] if r["backend"] == "tflite-runtime"]
    assert skipped and all(r["status"] == "skipped" and ".venv-tflrt" in r["error"] for r in skipped)
    assert "Rows without numbers" in (bench.out / "bench.md").read_text()


def test_machine_date_and_method_are_recorded(bench):
    rep = bench.report
    assert rep["created_at"] and rep["threads"] == [int(t) for t in THREADS]
    for key in ("cpu", "cpus", "python", "runtime", "numpy", "opencv", "system", "date"):
        assert rep["machine"][key], key
    assert rep["backends"]["ai-edge-litert"]["decode_fps"] > 0
    for f in FAMILIES:
        assert rep["models"][f]["test_clips"] > 0
    md = (bench.out / "bench.md").read_text()
    assert rep["machine"]["cpu"] in md and "![accuracy against latency](pareto.png)" in md
    table = [line for line in md.splitlines() if line.startswith("| ") and "p50 / p95" not in line]
    assert len([line for line in table if line.count("|") > 10]) == len(rep["rows"])


def test_held_out_split_is_the_one_training_reported(bench):
    """Keras scores here exactly what `har train` recorded: same model, same held-out clips."""
    assert bench.report["warnings"] == []
    for f in FAMILIES:
        keras = next(r for r in bench.report["rows"] if (r["model"], r["variant"]) == (f, "keras"))
        assert keras["test_accuracy"] == pytest.approx(bench.report["models"][f]["recorded_test_accuracy"])


def test_export_goals_and_parity_are_computed_from_the_rows_per_model(bench):
    """bench.json's goals are the rows' own figures: sizes, accuracy, p50 latencies at 1 thread, agreement."""
    rep = bench.report
    assert set(rep["goals"]) == set(FAMILIES)
    for f in FAMILIES:
        by = {r["variant"]: r for r in rep["rows"] if r["model"] == f and r["status"] == "ok"
              and (r["variant"] == "keras" or r["backend"].startswith("ai-edge-litert"))}
        g = {k: v["value"] for k, v in rep["goals"][f].items()}
        assert set(g) == set(GOALS)
        int8, fp32, keras = by["int8"], by["fp32"], by["keras"]
        assert g["int8_size_ratio"] == pytest.approx(int8["bytes"] / fp32["bytes"], abs=1e-4)
        assert g["int8_accuracy_drop_pp"] == pytest.approx(100 * (keras["test_accuracy"] - int8["test_accuracy"]),
                                                           abs=1e-4)
        assert g["int8_fp32_latency_ratio_1t"] == pytest.approx(
            int8["latency_window_ms"]["1"]["p50"] / fp32["latency_window_ms"]["1"]["p50"], abs=1e-4)
        for r in by.values():  # parity with Keras on every row, as each variant's own bundle check has it
            assert 0 <= r["max_abs_diff"] <= 1 and r["agreement_with_keras"] is not None
        assert keras["max_abs_diff"] == 0 and fp32["max_abs_diff"] < 1e-4
        for key, goal in rep["goals"][f].items():
            op, target = GOALS[key][1:]
            assert goal["met"] == (None if goal["value"] is None else
                                   goal["value"] <= target if op == "<=" else goal["value"] >= target)
    stream, window = (next(r for r in rep["rows"] if (r["model"], r["variant"], r["backend"].split()[0]) ==
                           ("lrcn", v, "ai-edge-litert")) for v in ("streaming-int8", "int8"))
    lrcn = {k: v["value"] for k, v in rep["goals"]["lrcn"].items()}
    assert lrcn["streaming_frame_window_ratio_1t"] == pytest.approx(
        stream["latency_frame_ms"]["1"]["p50"] / window["latency_window_ms"]["1"]["p50"], abs=1e-4)
    assert lrcn["streaming_agreement"] == stream["agreement_with_window"] and 0 <= lrcn["streaming_agreement"] <= 1
    convlstm = {k: v["value"] for k, v in rep["goals"]["convlstm"].items()}
    assert convlstm["streaming_agreement"] is None and convlstm["streaming_frame_window_ratio_1t"] is None
    md = (bench.out / "bench.md").read_text()
    assert "## Export goals" in md and "## Every variant against its Keras model" in md
    assert "| int8 model size / fp32 model size | <= 0.35 |" in md
    for f in FAMILIES:
        assert f"{f}: " in bench.output and "export goals met" in bench.output


def _row(variant, **fields):
    from har.edge.bench import device_row

    return device_row("m", variant, None, None, "TensorFlow" if variant == "keras" else "ai-edge-litert 2",
                      **fields)


def test_goals_from_hand_made_rows_and_streaming_agreement_from_probabilities():
    from har.export.bench.goals import model_goals, window_agreement

    def ms(p50):
        return {"1": {"p50": p50, "p95": p50}}

    rows = [_row("keras", test_accuracy=0.9), _row("fp32", bytes=400, test_accuracy=0.9, latency_window_ms=ms(2.0)),
            _row("int8", bytes=100, test_accuracy=0.88, latency_window_ms=ms(1.0)),
            _row("streaming-int8", bytes=120, latency_frame_ms=ms(0.1), agreement_with_window=0.98),
            {**_row("int8", bytes=999, latency_window_ms=ms(9.0)), "backend": "tflite-runtime 2.14"}]
    # the tflite-runtime row never enters the ratios: they are between rows timed in one process
    g = model_goals(rows, "m")
    assert g["int8_size_ratio"] == {"description": GOALS["int8_size_ratio"][0], "value": 0.25, "target": "<= 0.35",
                                    "met": True}
    assert g["int8_accuracy_drop_pp"]["value"] == pytest.approx(2.0) and g["int8_accuracy_drop_pp"]["met"] is False
    assert g["int8_fp32_latency_ratio_1t"]["value"] == 0.5
    assert g["streaming_frame_window_ratio_1t"]["value"] == 0.1 and g["streaming_frame_window_ratio_1t"]["met"] is False
    assert (g["streaming_agreement"]["value"], g["streaming_agreement"]["met"]) == (0.98, False)
    assert all(v["value"] is None and v["met"] is None for v in model_goals(rows[:1], "m").values())
    probs = {"m/int8": {"probs": [[0.9, 0.1], [0.2, 0.8]]}, "m/streaming-int8": {"probs": [[0.6, 0.4], [0.7, 0.3]]}}
    assert window_agreement(probs, "m/streaming-int8") == 0.5
    assert window_agreement(probs, "m/int8") is None  # not a streaming variant


def test_changed_data_since_training_is_flagged():
    y = np.array([0, 1, 0, 1, 1, 0])
    md = ModelDir(Path("m"), "lrcn", ["a", "b"], {"data": "data/x"}, {"test_accuracy": 1.0})
    fam = Family(md, Path("m"), y, Path("test.npz"), np.eye(2)[y])
    assert dataset_drift(fam) is None
    fam.keras_probs = np.eye(2)[1 - y]
    assert "data/x changed since training" in dataset_drift(fam)


def test_pareto_front_keeps_only_undominated_points():
    points = [(4.0, 0.9), (1.0, 0.5), (2.0, 0.4), (3.0, 0.9), (0.5, 0.3)]
    front = pareto_front(points)
    assert front == sorted(front, key=lambda i: points[i][0])
    for i, (x, y) in enumerate(points):
        dominated = any(px <= x and py >= y and (px, py) != (x, y) for px, py in points)
        assert (i in front) == (not dominated)


@pytest.mark.parametrize("args, message", [
    (["--models", "nowhere"], "no trained model in nowhere"),
    (["--threads", "0,x"], "--threads must be comma-separated positive integers"),
    (["--rounds", "0"], "--rounds must be at least 1"),
])
def test_user_errors_exit_2_with_one_sentence(args, message, tmp_path):
    res = CliRunner().invoke(app, ["bench", "--out", str(tmp_path / "out"), *args])
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())


def test_missing_tflite_runtime_python_is_a_user_error(tiny_model_dir, tmp_path):
    res = CliRunner().invoke(app, ["bench", "--models", str(Path(tiny_model_dir).parent), "--out",
                                   str(tmp_path / "out"), "--tflite-runtime-python", str(tmp_path / "none")])
    assert res.exit_code == 2
    assert "does not exist" in res.output
