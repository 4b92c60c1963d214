"""The whole device pipeline on real video files with a real TFLite bundle.

The bundle (tests/edge/colour.py) holds a tiny Keras model with fixed weights that scores a
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

import pytest
from typer.testing import CliRunner

from har.edge.bundle import load_bundle
from har.edge.capture import open_video
from har.edge.cli import app
from tests.edge.colour import INTERVAL, SEQ
from tests.edge.colour import scenario as _scenario


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

    assert int(open_video(out).get(cv2.CAP_PROP_FRAME_COUNT)) == 200


def test_a_run_in_process_puts_the_signal_handlers_back(colour_bundle, tmp_path):
    """After `run` returns, Ctrl-C and SIGTERM belong to the caller again (a test runner, an embedding app)."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    video = _scenario(tmp_path / "s.avi", [("red", 2.5)])
    res = CliRunner().invoke(app, ["run", "--bundle", str(colour_bundle), "--source", str(video)])
    assert res.exit_code == 0, res.output
    assert {s: signal.getsignal(s) for s in before} == before


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


def test_predict_pads_a_clip_shorter_than_one_window_with_its_first_frame(colour_bundle, tmp_path):
    video = _scenario(tmp_path / "short.avi", [("red", 0.5)])  # 5 sampled frames; a window is 8
    res = CliRunner().invoke(app, ["predict", str(video), "--bundle", str(colour_bundle)])
    assert res.exit_code == 0, res.output
    assert "Action Predicted: red" in res.output
    assert ("padded: the clip is shorter than one window, so 5 of 8 frames are from the clip and 3 copies of "
            "the first frame were added at the start") in res.output
    res = CliRunner().invoke(app, ["predict", str(_scenario(tmp_path / "r.avi", [("red", 2.0)])), "--bundle",
                                   str(colour_bundle)])
    assert res.exit_code == 0 and "padded" not in res.output


def test_sliding_windows_pad_only_a_clip_shorter_than_one_window():
    import numpy as np

    from har.edge.predict import pad_missing, pad_repeat_first, sliding_windows

    frames = [np.full((2, 2, 3), i, np.uint8) for i in range(6)]
    (cut,) = sliding_windows(frames, fps=10.0, interval_s=0.1, seq_len=8, pad=pad_repeat_first)
    assert (cut.end, cut.padded) == (5, 2) and [int(f[0, 0, 0]) for f in cut.window] == [0, 0, 0, 1, 2, 3, 4, 5]
    assert list(sliding_windows(frames, 10.0, 0.1, 8)) == []  # no padding asked: no window, as before
    cuts = list(sliding_windows(frames, 10.0, 0.1, 4, pad=pad_repeat_first))  # long enough: never padded
    assert [(c.end, c.padded) for c in cuts] == [(3, 0), (4, 0), (5, 0)]
    poses = np.ones((3, 33, 5), np.float32)
    padded = pad_missing(poses, 5)
    assert np.isnan(padded[:2]).all() and (padded[2:] == 1).all()


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
