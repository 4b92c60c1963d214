"""Pose bundles without the pose models, the default model, "no action" and short clips, on real footage.

The head is the session fixture of tests/export/conftest.py (trained on
generated keypoints), exported with ``--pose-models cache``: what
``make pose-default`` ships. The clips are real (Weizmann, 180x144, one
person), with black frames written around them by OpenCV where a test needs
nobody in view. What the head answers on them means nothing; these tests
check when it is asked and what the device says.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from har.edge import __version__
from har.edge.bundle import load_bundle
from har.edge.capture import open_video
from har.edge.cli import app
from tests.helpers import write_video
from tests.pose_data import LABELS

WAVE = "actions/wave_one_hand/weizmann_lena_wave1.avi"  # 53 frames at 25 fps, one person in every frame
WALK = "actions/walk/weizmann_ido_walk.avi"  # 43 frames at 25 fps: 18 sampled frames, one window needs 20


def _bgr_frames(path) -> list[np.ndarray]:
    cap = open_video(path)
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()
    assert frames, path
    return frames


@pytest.fixture(scope="module")
def nobody_after(realclips, tmp_path_factory):
    """1.2 s of black, a real person waving for 2.1 s, then 3.6 s of black (25 fps, MJPG by OpenCV)."""
    frames = _bgr_frames(realclips / WAVE)
    black = np.zeros_like(frames[0])
    return write_video(tmp_path_factory.mktemp("nobody") / "wave_then_nobody.avi",
                       [black] * 30 + frames + [black] * 90, fps=25.0)


@pytest.fixture
def as_default(cache_bundle, monkeypatch):
    """Make the cache bundle the default model, as if it were the one shipped in har/edge/default_model."""
    import har.edge.default_model as default_model

    monkeypatch.delenv(default_model.ENV, raising=False)
    monkeypatch.setattr(default_model, "default_bundle_path", lambda: cache_bundle)
    return cache_bundle


def test_cache_bundle_is_head_metadata_and_report_only(cache_bundle, trained, real_pose_models):
    assert sorted(p.name for p in cache_bundle.iterdir()) == ["head.tflite", "metadata.json", "report.json",
                                                              "report.md"]
    assert sum(p.stat().st_size for p in cache_bundle.iterdir()) < 200 * 1024  # vs 9 MB with the models
    b, copied = load_bundle(cache_bundle), load_bundle(trained["bundle"])
    assert (b.pose_models_source, copied.pose_models_source) == ("pose-cache", "bundle")
    assert b.model_file("pose_landmarks") == real_pose_models.landmarks
    assert b.model_file("pose_detector") == real_pose_models.detector
    for name in ("pose_detector", "pose_landmarks"):  # same hashes, tensors and ops as the copies
        entry = dict(b.metadata["models"][name])
        assert entry.pop("source") == "pose-cache"
        assert {**entry, "file": None} == {**copied.metadata["models"][name], "file": None}
    assert b.min_found_fraction == 0.6 and copied.min_found_fraction == 0.5  # config.json's, else the default
    rows = json.loads((cache_bundle / "report.json").read_text())["variants"]
    assert [r["name"] for r in rows] == ["keras", "int8"]
    assert rows[1]["files"] == ["head.tflite"]  # the pose models in the cache are not the head's parity
    assert rows[1]["bytes"] == (cache_bundle / "head.tflite").stat().st_size


def test_export_refuses_an_unknown_pose_models_mode_and_cache_for_a_pixel_model(trained, tmp_path):
    from har.cli.main import app as har

    res = CliRunner().invoke(har, ["export", "--model", str(trained["model_dir"]), "--pose-models", "fetch",
                                   "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "--pose-models must be one of copy, cache" in res.output
    res = CliRunner().invoke(har, ["export", "--model", str(tmp_path / "lrcn"), "--pose-models", "cache",
                                   "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "is for pose models" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "b").exists()


def test_info_and_doctor_name_the_default_model_and_where_its_pose_models_come_from(as_default):
    res = CliRunner().invoke(app, ["info"])
    assert res.exit_code == 0, res.output
    assert f"model      default pose model shipped with har-edge {__version__}, 3 actions: squat, still, wave" \
        in res.output
    assert "the pose models come from the verified pose cache" in res.output
    assert res.output.count("(from the pose cache)") == 2
    res = CliRunner().invoke(app, ["doctor"])
    bundle_line = next(line for line in res.output.splitlines() if "bundle:" in line)
    assert bundle_line.startswith(f"[ ok ] bundle: default pose model shipped with har-edge {__version__}")
    assert "pose models from the pose cache" in bundle_line


def test_a_bundle_given_explicitly_is_named_by_its_path(as_default, trained):
    res = CliRunner().invoke(app, ["info", str(trained["bundle"])])
    assert res.exit_code == 0, res.output
    assert f"model      {trained['bundle']}, pose model, 3 actions" in res.output
    assert "the pose models are in the bundle" in res.output


def test_the_environment_can_point_the_default_elsewhere(cache_bundle, monkeypatch):
    monkeypatch.setenv("HAR_EDGE_DEFAULT_BUNDLE", str(cache_bundle))
    res = CliRunner().invoke(app, ["info"])
    assert res.exit_code == 0, res.output
    assert f"default pose model from HAR_EDGE_DEFAULT_BUNDLE={cache_bundle}" in res.output


def test_windows_with_too_few_poses_get_the_uniform_distribution(cache_bundle, nobody_after):
    from har.edge.pipeline import Classifier
    from har.edge.pose.features import found_frames
    from har.edge.predict import windows_of_file

    b = load_bundle(cache_bundle)
    clf = Classifier(b)
    found, uniform = [], []
    for w in windows_of_file(nobody_after, b, clf.item):
        probs = clf.classify(w)
        found.append(int(found_frames(w).sum()))
        uniform.append(bool(np.all(probs == np.float32(1 / 3))))
    enough = [f >= 0.6 * b.seq_len for f in found]
    assert uniform == [not e for e in enough]
    assert sum(enough) >= 5 and found[-1] == 0 and uniform[0] and uniform[-1]


def test_run_ends_the_action_when_nobody_is_left_in_view(as_default, nobody_after, tmp_path):
    """`har-edge run` without --bundle (the default model): the action ends on the black frames, not at the end."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[smoother]\naverage_windows = 1\nenter_threshold = 0.34\nexit_threshold = 0.34\n"
                   "state_interval_s = 0\n")
    jsonl = tmp_path / "events.jsonl"
    res = CliRunner().invoke(app, ["run", "--config", str(cfg), "--source", str(nobody_after), "--stride", "1",
                                   "--jsonl", str(jsonl), "--no-console"])
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert events and events[0]["kind"] == "action_started" and events[-1]["kind"] == "action_ended"
    assert events[0]["started_at"] >= 2.0  # the first windows are mostly black: no label
    assert events[-1]["ended_at"] < 5.0  # the person left at 3.3 s, the file ends at 6.9 s


def test_predict_pads_a_clip_shorter_than_one_window(as_default, realclips):
    res = CliRunner().invoke(app, ["predict", str(realclips / WALK)])  # no --bundle: the default model
    assert res.exit_code == 0, res.output
    label = res.output.split("Action Predicted:")[1].split()[0]
    assert label in LABELS
    assert ("padded: the clip is shorter than one window, so 18 of 20 frames are from the clip and 2 frames "
            "without a pose were added at the start") in res.output


def test_the_padded_window_is_missing_frames_then_the_clip(cache_bundle, realclips):
    from har.edge.pipeline import Classifier
    from har.edge.predict import cuts_of_file

    b = load_bundle(cache_bundle)
    clf = Classifier(b)
    assert list(cuts_of_file(realclips / WALK, b, clf.item)) == []  # without padding: nothing, as before
    (cut,) = cuts_of_file(realclips / WALK, b, clf.item, pad=True)
    assert cut.padded == 2 and cut.window.shape == (20, 33, 5) and cut.end == 42
    assert np.isnan(cut.window[:2]).all() and np.isfinite(cut.window[2:]).all()  # he is found in every frame


def test_predict_says_no_action_when_nobody_is_found(as_default, tmp_path):
    video = write_video(tmp_path / "empty.avi", [np.zeros((144, 180, 3), np.uint8)] * 25, fps=25.0)
    res = CliRunner().invoke(app, ["predict", str(video)])
    assert res.exit_code == 0, res.output
    assert "No action: a person was found in fewer than 60% of the sampled frames of every window" in res.output
    assert "Action Predicted" not in res.output and "10 of 20 frames are from the clip" in res.output
