"""The pose estimator on real people: landmarks where bodies are, tracking instead of re-detecting.

The synthetic stick figures are not human enough for BlazePose, so these
tests run on the real clips in ../shared/realclips: a close-up UCF101 face
(320x240), a standing person in 1080p NTU RGB+D footage (16:9, letterboxed
by the detector), and the same frames rotated, which exercises the rotated
crop and its projection back onto the frame.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from har.edge.capture import open_video
from har.edge.pose.assets import PoseModels
from har.edge.pose.estimator import LANDMARK_NAMES, Pose, PoseEstimator
from tests.conftest import REALCLIPS
from tests.helpers import need

NOSE, L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_ANKLE, R_ANKLE = 0, 11, 12, 23, 24, 27, 28


@pytest.fixture(scope="session")
def models(real_pose_models) -> PoseModels:
    return real_pose_models


def read_rgb(name: str, every: int = 1, limit: int | None = None) -> list[np.ndarray]:
    """Frames of a real clip as RGB (OpenCV decodes BGR), every ``every``-th, at most ``limit``."""
    path = REALCLIPS / name
    need(path.is_file(), f"real clip {path} not present (it lies beside the repo in CI, not in a user's clone)")
    cap = open_video(path)
    frames, i = [], 0
    while limit is None or len(frames) < limit:
        ok, bgr = cap.read()
        if not ok:
            break
        if i % every == 0:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    assert frames, f"{path} decoded to no frames"
    return frames


def track(models: PoseModels, frames: list[np.ndarray]) -> tuple[list[Pose | None], PoseEstimator]:
    est = PoseEstimator(models, threads=1)
    return [est.process(f) for f in frames], est


@pytest.fixture(scope="module")
def makeup(models):
    return track(models, read_rgb("v_ApplyEyeMakeup_g01_c01.avi", every=2))


@pytest.fixture(scope="module")
def drink(models):
    return track(models, read_rgb("drink_water_1080p.avi", every=2))


def test_close_up_face_is_found_with_the_nose_above_the_shoulders(makeup):
    poses, est = makeup
    found = [p for p in poses if p is not None]
    assert len(found) >= 0.9 * len(poses)
    for p in found:
        lm = p.landmarks
        assert lm.shape == (33, 5) and lm.dtype == np.float32 and p.score >= 0.5
        assert 0 <= lm[NOSE, 0] <= 1 and 0 <= lm[NOSE, 1] <= 1
        assert lm[NOSE, 1] < (lm[L_SHOULDER, 1] + lm[R_SHOULDER, 1]) / 2
        assert lm[NOSE, 3] > 0.5  # the face fills the frame: the nose is visible
        # the person faces the camera: their left shoulder is on the image's right
        assert lm[L_SHOULDER, 0] > lm[NOSE, 0] > lm[R_SHOULDER, 0]


def test_standing_person_in_1080p_has_a_plausible_body(drink):
    poses, est = drink
    found = [p for p in poses if p is not None]
    assert len(found) >= 0.9 * len(poses)
    for p in found:
        lm = p.landmarks
        assert p.image_size == (1920, 1080)
        ys = {name: lm[i, 1] for i, name in enumerate(LANDMARK_NAMES)}
        assert ys["nose"] < ys["left_shoulder"] < ys["left_hip"] < ys["left_knee"] < ys["left_ankle"]
        assert ys["nose"] < ys["right_shoulder"] < ys["right_hip"] < ys["right_knee"] < ys["right_ankle"]
        visible = lm[:, 3] > 0.5
        assert visible.sum() >= 25
        assert np.all((lm[visible, :2] >= 0) & (lm[visible, :2] <= 1))
        # a person, not the whole frame: about a third of the frame's width at most
        assert np.ptp(lm[visible, 0]) < 0.35 and 0.3 < np.ptp(lm[visible, 1]) < 0.95


def test_tracking_runs_the_detector_once_per_person(makeup, drink):
    for poses, est in (makeup, drink):
        assert est.frames == len(poses)
        assert est.detector_runs < est.frames / 10
        assert est.landmark_runs >= est.frames
        assert est.detector_s > 0 and est.landmarks_s > 0


def test_no_person_means_no_pose_and_no_tracking(models):
    est = PoseEstimator(models)
    grey = np.full((240, 320, 3), 127, np.uint8)
    assert est.process(grey) is None and est.process(grey) is None
    assert est.detector_runs == 2 and not est.tracking


def test_reset_makes_the_next_frame_detect_again(models):
    frames = read_rgb("v_ApplyEyeMakeup_g01_c01.avi", limit=3)
    est = PoseEstimator(models)
    est.process(frames[0])
    est.process(frames[1])
    assert est.detector_runs == 1 and est.tracking
    est.reset()
    assert est.process(frames[2]) is not None and est.detector_runs == 2


def test_detector_hip_centre_agrees_with_the_landmark_hips(models):
    """Detector decoding + letterbox removal and landmark projection put the hips in the same place."""
    frame = read_rgb("drink_water_1080p.avi", limit=1)[0]
    est = PoseEstimator(models)
    (det, *_) = est.detector.detect(frame)
    pose = est.process(frame)
    h, w = frame.shape[:2]
    hips = (pose.landmarks[L_HIP, :2] + pose.landmarks[R_HIP, :2]) / 2 * [w, h]
    assert np.linalg.norm(hips - det.keypoints[0] * [w, h]) < 0.05 * pose.roi.size
    assert np.all((det.box[:2] < pose.landmarks[NOSE, :2]) & (pose.landmarks[NOSE, :2] < det.box[2:]))


def test_rotated_frame_gives_the_rotated_pose(models):
    """A person lying on their side is cropped upright and projected back: same landmarks, rotated."""
    frame = read_rgb("drink_water_1080p.avi", limit=1)[0]
    upright = PoseEstimator(models).process(frame)
    turned = PoseEstimator(models).process(cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE))
    assert turned is not None and turned.image_size == (1080, 1920)
    # clockwise by 90 degrees: (x, y) in a W x H frame -> (H - 1 - y, x) in an H x W frame
    xy = upright.xy_pixels()
    expected = np.stack([1080 - 1 - xy[:, 1], xy[:, 0]], axis=1)
    core = [NOSE, L_SHOULDER, R_SHOULDER, L_HIP, R_HIP]
    err = np.linalg.norm(turned.xy_pixels()[core] - expected[core], axis=1)
    torso = np.linalg.norm(xy[L_SHOULDER] - xy[L_HIP])
    assert np.all(err < 0.15 * torso), err


def test_frames_that_are_not_rgb_uint8_are_refused_with_the_fix(models):
    est = PoseEstimator(models)
    with pytest.raises(ValueError, match="COLOR_BGR2RGB"):
        est.process(np.zeros((240, 320, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 RGB"):
        est.process(np.zeros((240, 320), np.uint8))


def _smaller_in_frame(rgb: np.ndarray, factor: int) -> np.ndarray:
    """The frame shrunk by ``factor`` in the middle of a frame of its old size (edges replicated): a person
    ``factor`` times farther away, in the same low-resolution video."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    top, left = (h - sh) // 2, (w - sw) // 2
    return cv2.copyMakeBorder(small, top, h - sh - top, left, w - sw - left, cv2.BORDER_REPLICATE)


def test_a_small_person_the_detector_scores_low_is_found_once_the_landmarks_confirm_her(models):
    """Weizmann's waving woman at half size in 180x144 (about 45 px tall): the detector alone never
    reaches 0.5 on her, so without the fallback she is never found; with it, in nearly every frame."""
    frames = [_smaller_in_frame(f, 2) for f in read_rgb("actions/wave_one_hand/weizmann_lena_wave1.avi", every=3)]
    strict = PoseEstimator(models, min_candidate_score=None)
    assert sum(strict.process(f) is not None for f in frames) <= len(frames) // 10
    est = PoseEstimator(models)
    poses = [est.process(f) for f in frames]
    assert sum(p is not None for p in poses) >= 0.9 * len(frames)
    for p in (p for p in poses if p is not None):  # a body, upright, inside the small picture
        lm = p.landmarks
        assert lm[NOSE, 1] < (lm[L_HIP, 1] + lm[R_HIP, 1]) / 2 < (lm[L_ANKLE, 1] + lm[R_ANKLE, 1]) / 2
        assert 0.2 < lm[NOSE, 0] < 0.8


def test_the_fallback_leaves_every_sure_detection_as_it_was(models):
    """Where somebody reaches the detector's threshold, the answer is the same with or without a fallback."""
    frames = read_rgb("arm_wrestling.mp4", every=4)  # two people, partly hidden: many low scores
    detector = PoseEstimator(models).detector
    rescued = 0
    for f in frames:
        sure, fallback = detector.detect(f), detector.detect(f, fallback_score=0.1)
        if sure:
            assert [d.score for d in fallback] == [d.score for d in sure]
            for a, b in zip(sure, fallback, strict=True):
                assert np.array_equal(a.box, b.box) and np.array_equal(a.keypoints, b.keypoints)
        else:
            rescued += bool(fallback) and fallback[0].score < detector.min_score
    assert rescued > 0
