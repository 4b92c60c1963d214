"""`har train --encoder pose`: user errors, the keypoint cache key and mirror augmentation (no pose models needed).

Training on real keypoints is tested end to end in tests/export/test_pose_realclips.py.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from typer.testing import CliRunner

from har.cli.main import app
from har.models.clips import Sampling
from har.models.keypoints import _cache_key, keypoint_cache_dir
from har.train.pose import mirrored


def test_unknown_encoder_is_refused_in_one_sentence(tmp_path):
    res = CliRunner().invoke(app, ["train", "--encoder", "depth", "--data", str(tmp_path)])
    assert res.exit_code == 2 and "unknown encoder 'depth'; choose pixels or pose" in res.output


def test_pose_training_without_the_pose_models_says_how_to_fetch_them(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    for cls in ("a", "b"):  # real videos (not generated takes) need the estimator
        (tmp_path / "data" / cls).mkdir(parents=True)
        (tmp_path / "data" / cls / "clip.avi").write_bytes(b"x")
    res = CliRunner().invoke(app, ["train", "--encoder", "pose", "--data", str(tmp_path / "data"), "--out",
                                   str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "har models fetch pose" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()


def test_keypoint_cache_key_follows_file_sampling_and_models(tmp_path):
    video = tmp_path / "clip.avi"
    video.write_bytes(b"x" * 100)
    key = _cache_key(video, Sampling(), "models-a")
    assert key == _cache_key(video, Sampling(), "models-a")
    assert key != _cache_key(video, Sampling(interval_s=0.2), "models-a")
    assert key != _cache_key(video, Sampling(), "models-b")
    os.utime(video, ns=(0, 10**9))
    assert key != _cache_key(video, Sampling(), "models-a")
    assert keypoint_cache_dir(tmp_path) == tmp_path / "keypoints"


def test_mirrored_windows_swap_paired_labels_only():
    rng = np.random.default_rng(0)
    poses = rng.uniform(0.2, 0.8, (3, 20, 33, 5)).astype(np.float32)
    poses[0, 4] = np.nan  # a frame without a person stays without one
    y = np.array([0, 1, 2])
    flipped, yflip = mirrored(poses, y, ["walk_left", "walk_right", "wave"], [["walk_left", "walk_right"]])
    assert yflip.tolist() == [1, 0, 2]
    np.testing.assert_allclose(flipped[:, :, 11, 0], 1 - poses[:, :, 12, 0])  # left shoulder <- mirrored right
    assert np.isnan(flipped[0, 4]).all() and not np.isnan(flipped[1]).any()
    _, same = mirrored(poses, y, ["a", "b", "c"], None)
    assert same.tolist() == [0, 1, 2]


def test_har_predict_points_a_pose_model_to_its_bundle(tmp_path):
    model_dir = tmp_path / "pose_lstm"
    model_dir.mkdir()
    (model_dir / "model.keras").write_bytes(b"not read")
    (model_dir / "labels.json").write_text('["a", "b"]')
    (model_dir / "config.json").write_text('{"model": "pose_lstm", "encoder": "pose"}')
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not read either")
    res = CliRunner().invoke(app, ["predict", str(video), "--model", str(model_dir)])
    assert res.exit_code == 2 and "is a pose model" in res.output and "har-edge predict" in res.output


def test_pose_training_refuses_a_distribution_strategy(tmp_path):
    res = CliRunner().invoke(app, ["train", "--encoder", "pose", "--strategy", "mirrored", "--data", str(tmp_path)])
    assert res.exit_code == 2 and "not with strategy 'mirrored'" in res.output and "Traceback" not in res.output


def test_skip_modes_in_the_training_config_are_checked():
    from har.train.config import TrainConfig

    assert TrainConfig(encoder="pose", landmark_every=[1, 2, 3], default_landmark_every=2).landmark_every == [1, 2, 3]
    with pytest.raises(ValueError, match="landmark_every"):
        TrainConfig(encoder="pose", landmark_every=[5])
    with pytest.raises(ValueError, match="default_landmark_every"):
        TrainConfig(encoder="pose", landmark_every=[1, 2], default_landmark_every=3)
