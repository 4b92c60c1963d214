"""The human-motion generator: output format, determinism, body and gait figures, dataset on disk, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from har.edge.pose.features import FEATURE_DIM, window_features_from_array
from har.models.clips import Sampling
from har.models.keypoints import found_fraction, load_keypoints, video_keypoints
from har.train.dataset import list_videos, split_groups
from har.train.motion import ACTIONS, MotionError, actor, read_track, sampled_track, take, write_dataset
from har.train.motion.body import Motion, landmarks_3d
from har.train.pose import short_copies

REQUIRED = {"idle", "walk", "jog", "run", "wave_one_hand", "wave_two_hands", "clap", "box", "jump_forward",
            "jump_in_place", "jumping_jack", "side_gallop", "skip", "bend_down", "squat", "stand_up", "sit_down",
            "fall", "kick"}


def test_vocabulary_has_the_everyday_actions():
    assert REQUIRED <= set(ACTIONS) and len(ACTIONS) >= 16


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_gives_what_the_estimator_gives(action):
    tk = take(action, actor(3, 1), 3, 1, 0)
    p = tk.poses
    assert p.dtype == np.float32 and p.ndim == 3 and p.shape[1:] == (33, 5) and len(p) >= 30
    found = np.isfinite(p[:, 0, 0])
    assert np.array_equal(np.isfinite(p).all(axis=(1, 2)), found), "a frame is either a whole pose or NaN"
    assert found.any()
    assert ((p[found, :, 3:] >= 0) & (p[found, :, 3:] <= 1)).all(), "visibility and presence are probabilities"
    assert tk.fps in (15.0, 24.0, 25.0, 30.0) and 0.3 < tk.aspect < 2.0
    feats = window_features_from_array(p[:20], tk.aspect)
    assert feats.shape == (20, FEATURE_DIM) and np.isfinite(feats).all()


def test_same_seed_same_take_and_actors_differ():
    a = take("walk", actor(0, 2), 0, 2, 1)
    b = take("walk", actor(0, 2), 0, 2, 1)
    c = take("walk", actor(0, 3), 0, 3, 1)
    assert np.array_equal(a.poses, b.poses, equal_nan=True)
    assert a.poses.shape != c.poses.shape or not np.array_equal(a.poses, c.poses, equal_nan=True)


def test_standing_body_has_blazepose_proportions():
    ratios = []
    for i in range(30):
        body = actor(5, i).body
        pts = landmarks_3d(body, Motion(1))[0]
        hip, sh = (pts[23] + pts[24]) / 2, (pts[11] + pts[12]) / 2
        ankle = (pts[27] + pts[28]) / 2
        torso = np.linalg.norm(sh - hip)
        ratios.append(np.linalg.norm(ankle - hip) / torso)
        assert pts[0, 1] > sh[1] > hip[1] > ankle[1] >= 0  # nose above shoulders above hips above ankles
        assert pts[:, 1].min() == pytest.approx(0.0, abs=1e-9)  # feet on the ground
    assert 1.3 < np.median(ratios) < 1.5  # measured on real people: about 1.4 torso lengths


@pytest.mark.parametrize("action,lo,hi", [("walk", 1.8, 4.0), ("run", 5.5, 14.0)])
def test_locomotion_speed_in_torso_lengths_per_second(action, lo, hi):
    speeds = []
    for i in range(12):
        who = actor(7, i)
        rng = np.random.default_rng(i)
        t = np.arange(120) / 30
        pts = landmarks_3d(who.body, ACTIONS[action](t, rng, who.style))
        hip = (pts[:, 23] + pts[:, 24]) / 2
        speeds.append(np.linalg.norm(hip[-1, [0, 2]] - hip[0, [0, 2]]) / (t[-1] - t[0]) / who.body.torso_m)
    assert lo < np.median(speeds) < hi


def test_walking_cadence_is_in_the_literature_range():
    who = actor(1, 0)
    t = np.arange(300) / 50
    pts = landmarks_3d(who.body, ACTIONS["walk"](t, np.random.default_rng(4), who.style))
    gap = pts[:, 27, 2] - pts[:, 28, 2]  # left ankle ahead of right, along the walking direction
    rel = gap - gap.mean()
    crossings = np.count_nonzero(np.diff(np.sign(rel)) != 0)
    steps_per_s = crossings / (t[-1] - t[0])  # the feet pass each other once per step
    assert 1.4 < steps_per_s < 2.4


def test_noise_off_finds_a_fully_visible_person():
    tk = take("idle", actor(2, 0), 2, 0, 0, noise=0.0)
    found = np.isfinite(tk.poses[:, 0, 0]).mean()
    inside = ((tk.poses[..., :2] >= 0) & (tk.poses[..., :2] <= 1)).all(axis=(1, 2)).mean()
    assert found == 1.0 or inside < 1.0  # a close-up may cut the legs off
    assert found >= inside


def test_dataset_on_disk_is_a_dataset_the_loader_splits_by_actor(tmp_path):
    summary = write_dataset(tmp_path / "m", ["walk", "wave_one_hand", "fall"], actors=6, takes=2, seed=1)
    assert summary["files"] == 36 and (tmp_path / "m" / ".complete").is_file()
    assert json.loads((tmp_path / "m" / "motion.json").read_text())["actors"] == 6
    videos, labels = list_videos(tmp_path / "m")
    assert labels == ["fall", "walk", "wave_one_hand"] and len(videos) == 36
    assert {v.group for v in videos} == {f"g{i:02d}" for i in range(6)}
    sides = split_groups(videos, 0.2, 0.3, seed=0)
    assert all(sides[s] for s in ("train", "val", "test"))  # else the disjointness below holds vacuously
    for a in ("train", "val", "test"):
        for b in ("train", "val", "test"):
            if a < b:
                assert not {v.group for v in sides[a]} & {v.group for v in sides[b]}


def test_takes_are_sampled_like_a_video_by_the_device_sampler(tmp_path):
    write_dataset(tmp_path / "m", ["walk", "idle"], actors=1, takes=1, seed=2)
    path = next((tmp_path / "m" / "walk").glob("*.pose.npz"))
    poses, fps, aspect = read_track(path)
    sampled, aspect2 = sampled_track(path, 0.1)
    assert aspect2 == pytest.approx(aspect)
    assert abs(len(sampled) - len(poses) / fps / 0.1) <= 1.5
    windows, _ = video_keypoints(path, Sampling(clips_per_video=4), None)
    assert windows.shape[1:] == (20, 33, 5) and 1 <= len(windows) <= 4


def test_a_broken_take_is_one_sentence(tmp_path):
    bad = tmp_path / "x.pose.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(MotionError, match="not a readable pose take"):
        read_track(bad)
    with pytest.raises(MotionError, match="unknown action"):
        write_dataset(tmp_path / "m", ["walk", "moonwalk"], actors=1)


def test_windows_with_too_few_poses_are_dropped_and_short_copies_keep_enough(tmp_path):
    write_dataset(tmp_path / "m", ["walk", "idle"], actors=2, takes=1, seed=3)
    videos, labels = list_videos(tmp_path / "m")
    s = Sampling(clips_per_video=6)
    allw, *_ = load_keypoints(videos, labels, s, None, min_found=0.0)
    kept, *_ = load_keypoints(videos, labels, s, None, min_found=0.9)
    assert len(kept) <= len(allw) and (found_fraction(kept) >= 0.9).all()
    short, y, a = short_copies(kept, np.ones(len(kept), np.float32), np.zeros(len(kept), np.int32), 0.5, 0,
                               share=1.0)
    assert len(short) and (found_fraction(short) >= 0.5).all() and np.isnan(short[:, 0, 0, 0]).all()


def test_har_data_motion_and_show(tmp_path):
    from har.cli.main import app

    out = tmp_path / "m"
    res = CliRunner().invoke(app, ["data", "motion", "--out", str(out), "--actors", "2", "--takes", "1",
                                   "--actions", "clap,box"])
    assert res.exit_code == 0, res.output
    assert "wrote 4 takes" in res.output
    res = CliRunner().invoke(app, ["data", "show", str(out), "--out", str(tmp_path / "g.png"), "--videos",
                                   str(tmp_path / "v")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "g.png").stat().st_size > 1000 and (tmp_path / "v" / "clap.mp4").stat().st_size > 1000
    res = CliRunner().invoke(app, ["data", "motion", "--out", str(out), "--actions", "clap,tango"])
    assert res.exit_code == 2 and "unknown action(s) tango" in res.output
