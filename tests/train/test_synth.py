import re

import cv2
import numpy as np
import pytest

from har.edge.capture import open_video
from har.train.synth import CLASSES, SynthConfig, generate, iter_dataset, pose, render_scenario

SMALL = SynthConfig(groups=2, clips_per_group=1, duration_s=1.0)


def _frames(cfg):
    return [(c, g, k, np.stack(f)) for c, g, k, f in iter_dataset(cfg)]


def test_same_seed_gives_identical_frames_and_other_seed_differs():
    a, b = _frames(SMALL), _frames(SMALL)
    assert all(np.array_equal(x[3], y[3]) for x, y in zip(a, b, strict=True))
    other = _frames(SynthConfig(groups=2, clips_per_group=1, duration_s=1.0, seed=1))
    assert not np.array_equal(a[0][3], other[0][3])


def test_classes_include_order_and_direction_pairs():
    assert len(CLASSES) >= 6
    assert {"squat_down", "stand_up", "walk_left", "walk_right"} <= set(CLASSES)


def test_pairs_differ_only_in_time_order_or_direction():
    # A single frame cannot tell squat_down from stand_up, or walk_left from walk_right.
    d = 3.0
    for t in np.linspace(0, d, 7):
        down, up = pose("squat_down", t, d, 1.0, 0.0, 160), pose("stand_up", t, d, 1.0, 0.0, 160)
        assert down["crouch"] + up["crouch"] == 1.0  # the same poses, in opposite order
    starts = pose("squat_down", 0.0, d, 1.0, 0.0, 160)["crouch"], pose("stand_up", d, d, 1.0, 0.0, 160)["crouch"]
    assert starts == (0.0, 0.0)  # one begins where the other ends
    left, right = pose("walk_left", 1.0, d, 1.0, 0.0, 160), pose("walk_right", 2.0, d, 1.0, 0.0, 160)
    assert left["dx"] == pytest.approx(right["dx"]) != 0.0  # same place, reached from opposite sides
    assert pose("walk_left", 1.0, d, 1.0, 0.0, 160)["leg"] == pose("walk_right", 1.0, d, 1.0, 0.0, 160)["leg"]


def test_generate_writes_ucf_named_readable_videos(tmp_path):
    n = generate(tmp_path, SMALL)
    files = sorted(tmp_path.rglob("*.mp4"))
    assert n == len(files) == len(CLASSES) * 2
    for f in files:
        assert re.fullmatch(rf"v_{f.parent.name}_g\d\d_c\d\d\.mp4", f.name)
    cap = open_video(files[0])
    ok, frame = cap.read()
    assert ok and frame.shape == (SMALL.height, SMALL.width, 3)
    assert cap.get(cv2.CAP_PROP_FPS) == SMALL.fps


def test_decoded_videos_are_identical_across_runs(tmp_path):
    generate(tmp_path / "a", SMALL)
    generate(tmp_path / "b", SMALL)
    for fa in sorted((tmp_path / "a").rglob("*.mp4"))[:3]:
        fb = tmp_path / "b" / fa.relative_to(tmp_path / "a")
        ca, cb = open_video(fa), open_video(fb)
        while True:
            oka, xa = ca.read()
            okb, xb = cb.read()
            assert oka == okb
            if not oka:
                break
            assert np.array_equal(xa, xb)


def test_scenario_concatenates_segments():
    frames = render_scenario([("wave", 1.0), (None, 0.5)])
    assert len(frames) == round(1.0 * SMALL.fps) + round(0.5 * SMALL.fps)
