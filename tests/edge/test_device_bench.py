"""`har-edge bench`: the device half of the benchmark on a real int8 bundle, without TensorFlow.

The bundle (an untrained LRCN with the streaming pair) is made once through
the real export path, so TensorFlow is needed to *make* it; the benchmark
itself runs in a process where importing TensorFlow fails. Numbers are
checked for sanity, never against fixed values: this machine is shared.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from har.edge.bench import (
    ROW_FIELDS,
    Variant,
    device_row,
    measure_in_child,
    parse_threads,
    summarize,
    table_lines,
    time_interleaved,
    write_test_video,
)
from har.edge.cli import app
from har.edge.sources import FileSource
from tests.edge.test_no_tensorflow import run_blocked

SEQ, SIZE, LABELS = 6, 64, ["a", "b", "c"]
REPO = Path(__file__).resolve().parents[2]
TFLITE_RUNTIME = Path(os.environ.get("HAR_TFLITE_RUNTIME_PYTHON", REPO / ".venv-tflrt" / "bin" / "python"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    pytest.importorskip("tensorflow")
    import keras

    from har.export.bundle import assemble_bundle
    from har.export.worker import bundle_files, convert_models, targets_for
    from har.models.folder import ModelFolder as ModelDir
    from har.models.lrcn import build_lrcn

    root = tmp_path_factory.mktemp("device_bench")
    keras.utils.set_random_seed(0)
    (root / "lrcn").mkdir()
    build_lrcn(len(LABELS), SEQ, SIZE).save(root / "lrcn" / "model.keras")
    md = ModelDir(root / "lrcn", "lrcn", LABELS, {"model": "lrcn", "seed": 0, "sampling": {
        "mode": "interval", "seq_len": SEQ, "size": SIZE, "interval_s": 0.1}}, {})
    clips = np.random.default_rng(0).integers(0, 256, (8, SEQ, SIZE, SIZE, 3), dtype=np.uint8)
    conv = convert_models(md, root / "work", targets_for(md, ["int8"]), calibration=clips)
    return assemble_bundle(md, root / "bundle", "int8", bundle_files(md, conv, "int8"), conv)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return write_test_video(tmp_path_factory.mktemp("bench_video") / "video.mp4", seconds=4)


@pytest.fixture(scope="module")
def device_run(bundle, video, tmp_path_factory) -> dict:
    """`har-edge bench` at 1 and 2 threads in a process that cannot import TensorFlow."""
    out = tmp_path_factory.mktemp("device_run") / "bench.json"
    res = run_blocked("""
        import sys
        from har.edge.cli import app
        sys.argv = ["har-edge", "bench", *sys.argv[1:]]
        app()
    """, str(bundle), "--threads", "1,2", "--rounds", "1", "--video", str(video), "--json", str(out))
    assert res.returncode == 0, res.stderr
    return {"stdout": res.stdout, **json.loads(out.read_text())}


def _check_row(row: dict, threads: list[str]) -> None:
    assert set(row) == set(ROW_FIELDS)
    assert row["status"] == "ok" and row["error"] is None
    assert row["bytes"] > 0 and row["files"]
    for key in ("latency_window_ms", "latency_frame_ms"):
        assert sorted(row[key]) == threads
        for t in threads:
            assert 0 < row[key][t]["p50"] <= row[key][t]["p95"]
    for t in threads:
        assert row["throughput"][t]["fps"] > 0 and row["throughput"][t]["x_realtime"] > 0
    assert 0 < row["baseline_rss_mib"] <= row["peak_rss_mib"]


def test_device_bench_prints_and_writes_every_field_without_tensorflow(device_run):
    rows = {r["variant"]: r for r in device_run["rows"]}
    assert sorted(rows) == ["int8", "streaming-int8"]
    for row in rows.values():
        _check_row(row, ["1", "2"])
        assert row["backend"] == device_run["environment"]["runtime"]
        assert f"| {row['variant']} | {row['backend']} |" in device_run["stdout"]
    # A whole-window model re-runs the window for every new frame at stride 1.
    assert rows["int8"]["latency_frame_ms"] == rows["int8"]["latency_window_ms"]
    assert rows["streaming-int8"]["files"] == ["encoder.tflite", "head.tflite"]


def test_machine_libraries_and_date_are_recorded(device_run):
    env = device_run["environment"]
    for key in ("date", "cpu", "cpus", "python", "runtime", "numpy", "opencv", "system", "machine"):
        assert env[key], key
    assert device_run["decode_fps"] > 0
    assert env["cpu"] in device_run["stdout"]


def test_accuracy_comes_from_the_export_report_when_the_bundle_has_one(bundle, video, tmp_path):
    copy = Path(shutil.copytree(bundle, tmp_path / "bundle"))
    (copy / "report.json").write_text(json.dumps({"variants": [
        {"name": "int8", "test_accuracy": 0.5, "macro_f1": 0.25, "agreement_with_keras": 1.0}]}))
    out = tmp_path / "bench.json"
    res = CliRunner().invoke(app, ["bench", str(copy), "--threads", "1", "--rounds", "1", "--video", str(video),
                                   "--json", str(out)])
    assert res.exit_code == 0, res.output
    rows = {r["variant"]: r for r in json.loads(out.read_text())["rows"]}
    assert (rows["int8"]["test_accuracy"], rows["int8"]["macro_f1"]) == (0.5, 0.25)
    assert "report.json" in rows["int8"]["accuracy_source"]
    assert rows["streaming-int8"]["test_accuracy"] is None  # not in that report: not invented


@pytest.mark.parametrize("args, message", [
    (["nowhere"], "bundle nowhere does not exist"),
    (["BUNDLE", "--threads", "0"], "--threads must be comma-separated positive integers"),
    (["BUNDLE", "--video", "missing.mp4"], "video file missing.mp4 does not exist"),
    (["BUNDLE", "--rounds", "0"], "--rounds must be at least 1"),
])
def test_user_errors_exit_2_with_one_sentence(bundle, args, message):
    res = CliRunner().invoke(app, ["bench", *[str(bundle) if a == "BUNDLE" else a for a in args]])
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())


@pytest.mark.skipif(not TFLITE_RUNTIME.exists(), reason=f"no tflite-runtime venv at {TFLITE_RUNTIME} "
                    "(make tflite-runtime-venv, or set HAR_TFLITE_RUNTIME_PYTHON)")
def test_tflite_runtime_backend_runs_the_same_plan(bundle, video, tmp_path):
    variants = [Variant("int8", str(bundle), "window"), Variant("streaming-int8", str(bundle), "streaming")]
    res = measure_in_child(TFLITE_RUNTIME, variants, (1,), video, tmp_path, rounds=1, per_round=2, passes=1)
    assert res["environment"]["runtime"].startswith("tflite-runtime")
    for v in variants:
        r = res["variants"][v.name]
        assert r["error"] or 0 < r["latency_window_ms"]["1"]["p50"] <= r["latency_window_ms"]["1"]["p95"]


# --------------------------------------------------------------------------- pieces


def test_test_video_is_640x480_at_30_fps(video):
    src = FileSource(video)
    frames = [f for _, f in src]
    assert src.fps == pytest.approx(30.0)
    assert frames and frames[0].shape == (480, 640, 3)
    assert not np.array_equal(frames[0], frames[len(frames) // 2])  # it moves: decoding is real work


def test_timing_is_interleaved_and_summarized():
    calls: list[str] = []
    res = time_interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=2,
                           per_round=3, warmup=1)
    assert calls == ["a", "b"] + ["a"] * 3 + ["b"] * 3 + ["a"] * 3 + ["b"] * 3
    for s in res.values():
        assert s["n"] == 6 and 0 < s["p50"] <= s["p95"]
    s = summarize([0.003, 0.001, 0.002])
    assert s["p50"] == pytest.approx(2.0) and s["p95"] >= s["p50"]


def test_rows_without_numbers_render_as_dashes():
    row = device_row("lrcn", "dynamic", {"error": "op not supported", "files": ["model.tflite"], "bytes": 10},
                     None, "tflite-runtime 2.14.0")
    assert set(row) == set(ROW_FIELDS) and row["status"] == "error" and row["error"] == "op not supported"
    header, rule, line = table_lines([row], (1, 2))
    assert header.count("|") == rule.count("|") == line.count("|")
    assert line.endswith("| error |") and "| - |" in line


def test_parse_threads():
    assert parse_threads("1, 2,4") == (1, 2, 4)
    for bad in ("", "0", "a", "1,-2"):
        with pytest.raises(ValueError, match="comma-separated positive integers"):
            parse_threads(bad)


def test_a_variant_this_runtime_refuses_is_an_error_row_and_the_others_are_measured(bundle, video, tmp_path):
    """A model the runtime cannot load (an op version it predates, a damaged file) spoils its own row only."""
    from har.edge.bench.measure import measure

    bad = Path(shutil.copytree(bundle, tmp_path / "bad"))
    (bad / "model.tflite").write_bytes(b"TFL3 but not a model")
    result = measure([Variant("bad", str(bad), "window"), Variant("good", str(bundle), "window")], (1,), video,
                     rounds=1, per_round=1, warmup=0, passes=1)
    rows = result["variants"]
    assert "model.tflite" in rows["bad"]["error"] and "latency_window_ms" not in rows["bad"]
    assert rows["good"]["error"] is None and rows["good"]["latency_window_ms"]["1"]["p50"] > 0
    out = tmp_path / "memory.json"
    assert run_blocked("from har.edge.bench.child import main; import sys; sys.exit(main())", "memory", str(bad),
                       "window", "1", str(video), str(out)).returncode == 0
    assert "model.tflite" in json.loads(out.read_text())["error"]
