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
