"""The whole device pipeline on real video files with a real TFLite bundle.

The bundle here holds a tiny Keras model with fixed weights that scores a
window by its mean colour (red, green, grey), converted to TFLite like any
other model. Its answers are known in advance, so event order and timing can be
checked exactly, through the same sampler, window, interpreter, smoother,
events and sinks that `har-edge run` uses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from har.edge.bundle import TensorInfo, build_metadata, load_bundle, model_entry, write_metadata
from har.edge.cli import app
from tests.helpers import write_video

LABELS = ["green", "idle", "red"]
SEQ, SIZE, INTERVAL, FPS = 8, 16, 0.1, 20.0
COLOURS = {"red": (40, 40, 220), "green": (40, 200, 40), "idle": (128, 128, 128)}  # BGR


def _colour_model():
    import keras

    inp = keras.Input((SEQ, SIZE, SIZE, 3), batch_size=1)
    x = keras.layers.GlobalAveragePooling3D()(inp)  # mean R, G, B in [0, 1]
    dense = keras.layers.Dense(3, activation="softmax")
    out = dense(x)
    # logits: green = 12(G - R), red = 12(R - G), idle = 2 (wins when R ~ G)
    w = np.array([[-12.0, 0.0, 12.0], [12.0, 0.0, -12.0], [0.0, 0.0, 0.0]], np.float32)
    dense.set_weights([w, np.array([0.0, 2.0, 0.0], np.float32)])
    return keras.Model(inp, out)


@pytest.fixture(scope="session")
def colour_bundle(tmp_path_factory) -> Path:
    import tensorflow as tf

    out = tmp_path_factory.mktemp("colour_bundle")
    conv = tf.lite.TFLiteConverter.from_keras_model(_colour_model())
    (out / "model.tflite").write_bytes(conv.convert())
    models = {"window": model_entry(out / "model.tflite", TensorInfo((1, SEQ, SIZE, SIZE, 3), "float32"),
                                    TensorInfo((1, 3), "float32"), ["MEAN", "FULLY_CONNECTED", "SOFTMAX"], "fp32")}
    meta = build_metadata(labels=LABELS, seq_len=SEQ, frame_size=SIZE, sampling_mode="interval",
                          interval_s=INTERVAL, quantization="fp32", models=models,
                          source={"model": "colour-test", "test_metrics": {}})
    write_metadata(out, meta)
    return out


def _scenario(path: Path, segments: list[tuple[str, float]], fps: float = FPS) -> Path:
    rng = np.random.default_rng(0)
    frames = []
    for name, seconds in segments:
        for _ in range(round(seconds * fps)):
            f = np.full((48, 64, 3), COLOURS[name], np.uint8)
            frames.append(np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8))
    return write_video(path, frames, fps)


def _events(jsonl: Path) -> list[dict]:
    return [json.loads(line) for line in jsonl.read_text().splitlines()]


def test_a_then_b_then_nothing_gives_ordered_events_at_the_right_times(colour_bundle, tmp_path):
    video = _scenario(tmp_path / "s.avi", [("idle", 1.0), ("red", 3.0), ("green", 3.0), ("idle", 3.0)])
    jsonl = tmp_path / "events.jsonl"
    out = tmp_path / "annotated.avi"
    res = CliRunner().invoke(app, ["run", "--bundle", str(colour_bundle), "--source", str(video), "--stride", "1",
                                   "--background", "idle", "--jsonl", str(jsonl), "--output", str(out)])
    assert res.exit_code == 0, res.output
    actions = [e for e in _events(jsonl) if e["kind"] != "state"]
    assert [(e["kind"], e["label"]) for e in actions] == [
        ("action_started", "red"), ("action_ended", "red"), ("action_started", "green"), ("action_ended", "green")]
    span = (SEQ - 1) * INTERVAL  # one window; the smoother averages 3 windows (stride 1: +0.2 s)
    slack = span + 3 * INTERVAL + 1e-6
    starts = {"red": 1.0, "green": 4.0}
    ends = {"red": 4.0, "green": 7.0}
    for e in actions:
        if e["kind"] == "action_started":
            assert starts[e["label"]] <= e["started_at"] <= starts[e["label"]] + slack
        else:
            assert ends[e["label"]] <= e["ended_at"] <= ends[e["label"]] + slack
            assert e["duration_s"] == pytest.approx(e["ended_at"] - e["started_at"], abs=1e-3)
    assert actions[1]["start_event_id"] == actions[0]["event_id"]
    assert res.output.count("red") >= 2  # console lines for start and end
    import cv2

    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 200


def test_same_answer_at_any_camera_fps(colour_bundle, tmp_path):
    """The sampler makes the result independent of the source frame rate."""
    results = []
    for fps in (10.0, 30.0):
        video = _scenario(tmp_path / f"s{int(fps)}.avi", [("red", 2.0), ("green", 2.0)], fps)
        jsonl = tmp_path / f"e{int(fps)}.jsonl"
        res = CliRunner().invoke(app, ["run", "--bundle", str(colour_bundle), "--source", str(video),
                                       "--stride", "1", "--jsonl", str(jsonl), "--no-console"])
        assert res.exit_code == 0, res.output
        results.append([(e["kind"], e["label"], round(e.get("started_at") or 0, 1))
                        for e in _events(jsonl) if e["kind"] != "state"])
    assert results[0] == results[1]


def test_predict_gives_one_answer(colour_bundle, tmp_path):
    video = _scenario(tmp_path / "r.avi", [("red", 2.0)])
    res = CliRunner().invoke(app, ["predict", str(video), "--bundle", str(colour_bundle)])
    assert res.exit_code == 0, res.output
    assert "Action Predicted: red" in res.output


def test_bad_inputs_are_clear_errors(colour_bundle, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["run", "--bundle", str(colour_bundle), "--source", str(tmp_path / "none.mp4")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(app, ["run", "--bundle", str(tmp_path), "--source", "x.mp4"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[smoother]\nenter = 0.5\n")
    res = runner.invoke(app, ["run", "--config", str(cfg), "--bundle", str(colour_bundle), "--source", "x.mp4"])
    assert res.exit_code == 2 and "unknown option smoother.enter" in res.output
    res = runner.invoke(app, ["run", "--bundle", str(colour_bundle), "--print-config", "--stride", "5"])
    assert res.exit_code == 0 and json.loads(res.output)["inference"]["stride"] == 5


def test_info_validates_the_bundle(colour_bundle):
    res = CliRunner().invoke(app, ["info", str(colour_bundle)])
    assert res.exit_code == 0, res.output
    assert "red" in res.output and "FULLY_CONNECTED" in res.output


def test_sigterm_flushes_and_exits_0(colour_bundle, tmp_path):
    """SIGTERM mid-run: reading stops, events so far are flushed, exit code 0."""
    video = _scenario(tmp_path / "long.avi", [("red", 2.0), ("green", 2.0)] * 3)
    jsonl = tmp_path / "events.jsonl"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "har.edge.cli", "run", "--bundle", str(colour_bundle),
                             "--source", str(video), "--realtime", "--jsonl", str(jsonl), "--stride", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (jsonl.exists() and jsonl.stat().st_size > 0):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    events = _events(jsonl)
    assert events and events[0]["kind"] == "action_started"
    assert "stopping" in out
    actions = [e for e in events if e["kind"] != "state"]
    assert actions[-1]["kind"] == "action_ended"  # the open action was closed on the way out
    assert actions[-1]["ended_at"] < 10.0  # stopped early, not at the end of the 12 s file
    load_bundle(colour_bundle)  # untouched


@pytest.mark.parametrize("name", ["arm_wrestling.mp4", "flipping_pancake.mkv", "cricket_shot.gif",
                                  "drink_water_1080p.avi"])
def test_real_footage_runs_through_the_pipeline(colour_bundle, realclips, tmp_path, name):
    """Real containers and sizes (mkv, gif, 1080p avi) decode, sample and classify end to end."""
    jsonl = tmp_path / "e.jsonl"
    res = CliRunner().invoke(app, ["run", "--bundle", str(colour_bundle), "--source", str(realclips / name),
                                   "--jsonl", str(jsonl), "--no-console", "--stride", "1"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["predict", str(realclips / name), "--bundle", str(colour_bundle)])
    assert res.exit_code == 0 and "Action Predicted:" in res.output
