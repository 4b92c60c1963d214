"""Window features of real keypoints: invariant to where the person stands, mirrored exactly, gaps filled.

The landmarks come from the pose estimator on a real clip (a person drinking
water, NTU RGB+D), so the body proportions and the jitter are real; the
transformations applied to them are synthetic and exact.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from har.edge.capture import open_video
from har.edge.pose.estimator import LANDMARK_NAMES, PoseEstimator
from har.edge.pose.features import (
    FEATURE_DIM,
    MIRROR_INDEX,
    mirror_poses,
    pose_array,
    window_features,
    window_features_from_array,
)

K = 33
POSE = slice(0, 2 * K)
VIS = slice(2 * K, 3 * K)
DISP, VEL, FLAG = slice(3 * K, 3 * K + 2), slice(3 * K + 2, 3 * K + 4), -1


@pytest.fixture(scope="module")
def real_poses(real_pose_models, realclips):
    """20 poses, every other frame of a real 1080p clip, with one frame where nobody is (a blank frame)."""
    path = realclips / "drink_water_1080p.avi"
    models = real_pose_models
    cap = open_video(path)
    est, poses, i = PoseEstimator(models), [], 0
    while len(poses) < 20:
        ok, bgr = cap.read()
        assert ok, f"{path} ended early"
        if i % 2 == 0:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            poses.append(est.process(np.zeros_like(rgb) if len(poses) == 7 else rgb))
        i += 1
    cap.release()
    assert poses[7] is None and sum(p is None for p in poses) == 1
    return poses


@pytest.fixture
def arr(real_poses):
    """The real window with no gap: frame 7 interpolated by hand from its neighbours."""
    a = pose_array(real_poses)
    a[7] = (a[6] + a[8]) / 2
    return a


def test_shapes_and_layout(real_poses):
    a = pose_array(real_poses)
    assert a.shape == (20, 33, 5) and a.dtype == np.float32
    assert np.isnan(a[7]).all() and np.isfinite(np.delete(a, 7, axis=0)).all()
    f = window_features(real_poses)
    assert FEATURE_DIM == 104 and f.shape == (20, FEATURE_DIM) and f.dtype == np.float32
    assert np.isfinite(f).all()
    assert f[7, FLAG] == 0 and np.delete(f[:, FLAG], 7).tolist() == [1.0] * 19
    # hip-centred: the mean of the two hips is the origin
    xy = f[:, POSE].reshape(20, K, 2)
    hips = (xy[:, LANDMARK_NAMES.index("left_hip")] + xy[:, LANDMARK_NAMES.index("right_hip")]) / 2
    np.testing.assert_allclose(hips, 0, atol=1e-5)
    # torso-scaled: shoulders about one torso length above the hips (y grows downwards)
    shoulders = (xy[:, 11] + xy[:, 12]) / 2
    np.testing.assert_allclose(np.linalg.norm(shoulders, axis=1), 1.0, atol=1e-4)
    assert np.all(shoulders[:, 1] < -0.9)
    seen = f[:, FLAG] == 1
    np.testing.assert_array_equal(f[seen, VIS], a[seen, :, 3])


def test_poses_and_cached_arrays_give_the_same_features(real_poses):
    a = pose_array(real_poses)
    np.testing.assert_array_equal(window_features(real_poses), window_features_from_array(a))
    np.testing.assert_array_equal(window_features(real_poses, 16 / 9), window_features_from_array(a, 16 / 9))


def test_translation_and_scale_of_the_person_do_not_change_the_features(arr):
    moved = arr.copy()
    moved[:, :, :2] = arr[:, :, :2] * 0.4 + np.float32([0.31, 0.12])  # farther away, elsewhere in the frame
    base, other = window_features_from_array(arr), window_features_from_array(moved)
    np.testing.assert_allclose(other[:, :FLAG], base[:, :FLAG], atol=2e-4)
    assert not np.allclose(base[:, POSE], 0)


def test_walking_moves_only_the_displacement_and_velocity(arr):
    step = np.float32(0.01)  # to the right by 1 % of the frame per sampled frame
    walked = arr.copy()
    walked[:, :, 0] += step * np.arange(len(arr), dtype=np.float32)[:, None]
    base, f = window_features_from_array(arr), window_features_from_array(walked)
    np.testing.assert_allclose(f[:, POSE], base[:, POSE], atol=2e-4)
    hip = (arr[:, 23, :2] + arr[:, 24, :2]) / 2
    torso = np.median(np.linalg.norm((arr[:, 11, :2] + arr[:, 12, :2]) / 2 - hip, axis=1))
    np.testing.assert_allclose(f[:, DISP][:, 0] - base[:, DISP][:, 0], step * np.arange(20) / torso, rtol=1e-3)
    np.testing.assert_allclose(f[1:, VEL][:, 0] - base[1:, VEL][:, 0], step / torso, rtol=1e-3)
    assert f[0, VEL].tolist() == [0.0, 0.0]


def test_mirror_twice_is_identity_and_once_swaps_sides(real_poses):
    a = pose_array(real_poses)
    np.testing.assert_allclose(mirror_poses(mirror_poses(a)), a, atol=1e-6)  # NaN rows compare equal
    m = mirror_poses(a)
    lw, rw = LANDMARK_NAMES.index("left_wrist"), LANDMARK_NAMES.index("right_wrist")
    np.testing.assert_allclose(m[:, lw, 0], 1 - a[:, rw, 0], atol=1e-6)
    np.testing.assert_array_equal(m[:, lw, 1:], a[:, rw, 1:])
    assert all(LANDMARK_NAMES[j] == LANDMARK_NAMES[i].replace("left", "@").replace("right", "left").replace("@", "right")
               for i, j in enumerate(MIRROR_INDEX))
    np.testing.assert_array_equal(mirror_poses(a[0]), m[0])  # one frame works too


def test_mirrored_features_are_the_features_mirrored(arr):
    f, fm = window_features_from_array(arr), window_features_from_array(mirror_poses(arr))
    xy, xym = f[:, POSE].reshape(20, K, 2), fm[:, POSE].reshape(20, K, 2)
    np.testing.assert_allclose(xym[:, :, 0], -xy[:, MIRROR_INDEX, 0], atol=2e-4)
    np.testing.assert_allclose(xym[:, :, 1], xy[:, MIRROR_INDEX, 1], atol=2e-4)
    np.testing.assert_allclose(fm[:, VIS], f[:, VIS][:, MIRROR_INDEX])
    np.testing.assert_allclose(fm[:, DISP][:, 0], -f[:, DISP][:, 0], atol=2e-4)


def test_gaps_are_filled_linearly_and_edges_by_the_nearest_frame(arr):
    holed = arr.copy()
    holed[[0, 1, 9, 10, 11, 19]] = np.nan
    expected = arr.copy()
    expected[[0, 1]] = arr[2]
    expected[19] = arr[18]
    for t, w in ((9, 0.25), (10, 0.5), (11, 0.75)):
        expected[t] = (1 - w) * arr[8] + w * arr[12]
    f, want = window_features_from_array(holed), window_features_from_array(expected)
    np.testing.assert_allclose(f[:, :FLAG], want[:, :FLAG], atol=1e-4)
    assert f[:, FLAG].tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0]


def test_a_window_without_anybody_is_zeros():
    f = window_features([None] * 12)
    assert f.shape == (12, FEATURE_DIM) and not f.any()
    assert window_features([]).shape == (0, FEATURE_DIM)


def test_a_degenerate_torso_does_not_blow_up(arr):
    flat = arr.copy()
    flat[:, [11, 12], :2] = flat[:, [23, 24], :2]  # shoulders on the hips: torso length 0
    f = window_features_from_array(flat)
    assert np.isfinite(f).all() and np.abs(f[:, POSE]).max() < 20


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match=r"shape \(T, 33, 5\)"):
        window_features_from_array(np.zeros((20, 17, 5)))
    with pytest.raises(ValueError, match="width / height"):
        window_features_from_array(np.zeros((20, 33, 5)), aspect=0)
    with pytest.raises(ValueError, match=r"\(\.\.\., 33, C\)"):
        mirror_poses(np.zeros((20, 17, 5)))
