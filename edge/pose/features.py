"""A window of poses -> the per-frame feature matrix the temporal head reads.

Why these features: an action is a change of body shape and a movement of
the body, and neither depends on where the person stands in the frame or how
far from the camera. So each frame's landmarks are centred on the hip
midpoint and divided by the torso length (hip midpoint to shoulder midpoint),
and where the body goes is kept apart, in torso lengths, as the hip's
displacement from the window's first frame and its velocity per sampled
frame. Per frame (``FEATURE_DIM`` = 104 values, in this order)::

    0:66    x, y of the 33 landmarks, hip-centred, in torso lengths (x0, y0, x1, y1, ...)
    66:99   visibility of the 33 landmarks (0..1)
    99:101  hip displacement from the window's first frame, in torso lengths
    101:103 hip velocity, in torso lengths per sampled frame (0 for the first frame)
    103     1 where the estimator found a pose in this frame, 0 where it was filled in

Frames without a pose are filled by linear interpolation between the nearest
frames with one (before the first and after the last: copied from the
nearest); a window with no pose at all is zeros with the flag 0. Frames the
device skipped on purpose (``landmark_every``, :mod:`har.edge.pose.modes`)
are filled first by :func:`har.edge.pose.modes.fill_skipped` and count as
found.

Raw keypoints are the cache format (:func:`pose_array`, NaN where no pose),
so training can estimate poses once per video and compute features, mirrored
or not, later with :func:`window_features_from_array`; the device calls
:func:`window_features` on the poses it just estimated. Both go through the
same code, so training and device cannot compute them differently.

x and y are fractions of the frame's width and height. Pass ``aspect``
(width / height of the frames) to measure both in the same unit; whatever is
chosen must be the same in training and on the device (the default, 1.0,
leaves them as fractions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from har.edge.pose.estimator import NUM_LANDMARKS, Pose
from har.edge.pose.modes import fill_skipped

LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 11, 12, 23, 24
#: Landmark index -> its mirror image (left <-> right), BlazePose's 33-point topology.
MIRROR_INDEX = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21, 24, 23,
                         26, 25, 28, 27, 30, 29, 32, 31])
FEATURE_DIM = NUM_LANDMARKS * 2 + NUM_LANDMARKS + 2 + 2 + 1
#: Torso lengths shorter than this fraction of the window's median are treated as foreshortened.
MIN_TORSO_FRACTION = 0.5
_EPS = 1e-6


def pose_array(poses: Sequence[Pose | None]) -> np.ndarray:
    """``(T, 33, 5)`` float32 landmarks of each frame, NaN for frames without a pose: the cache format."""
    out = np.full((len(poses), NUM_LANDMARKS, 5), np.nan, np.float32)
    for t, pose in enumerate(poses):
        if pose is not None:
            out[t] = pose.landmarks
    return out


def found_frames(landmarks: np.ndarray) -> np.ndarray:
    """``(T,)`` bool: which frames of ``(T, 33, C>=4)`` landmarks have a pose (no NaN in x, y, z, visibility)."""
    return np.isfinite(np.asarray(landmarks)[:, :, :4]).all(axis=(1, 2))


def window_features(poses: Sequence[Pose | None], aspect: float = 1.0) -> np.ndarray:
    """``(T, FEATURE_DIM)`` float32 features of a window of poses (None where no pose was found)."""
    return window_features_from_array(pose_array(poses), aspect=aspect)


def window_features_from_array(landmarks: np.ndarray, aspect: float = 1.0) -> np.ndarray:
    """``(T, FEATURE_DIM)`` float32 features from ``(T, 33, C>=4)`` landmarks with NaN rows for missing frames."""
    arr = np.asarray(landmarks, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[1] != NUM_LANDMARKS or arr.shape[2] < 4:
        raise ValueError(f"pose landmarks must have shape (T, {NUM_LANDMARKS}, 5), not {list(arr.shape)}")
    arr = fill_skipped(arr)
    if not aspect > 0:
        raise ValueError(f"aspect is the frames' width / height and must be positive, not {aspect}")
    n = arr.shape[0]
    out = np.zeros((n, FEATURE_DIM), np.float32)
    detected = found_frames(arr)
    if n == 0 or not detected.any():
        return out
    filled = _interpolate(arr[:, :, :4], detected)
    xy = filled[:, :, :2] * np.array([aspect, 1.0], np.float32)
    hip = (xy[:, LEFT_HIP] + xy[:, RIGHT_HIP]) / 2
    shoulder = (xy[:, LEFT_SHOULDER] + xy[:, RIGHT_SHOULDER]) / 2
    torso = _robust_torso(np.linalg.norm(shoulder - hip, axis=1), xy)
    window_scale = np.float32(np.median(torso))
    k = NUM_LANDMARKS
    out[:, : 2 * k] = ((xy - hip[:, None]) / torso[:, None, None]).reshape(n, 2 * k)
    out[:, 2 * k: 3 * k] = np.clip(filled[:, :, 3], 0.0, 1.0)
    out[:, 3 * k: 3 * k + 2] = (hip - hip[0]) / window_scale
    out[1:, 3 * k + 2: 3 * k + 4] = np.diff(hip, axis=0) / window_scale
    out[:, -1] = detected
    return out


def _interpolate(arr: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Fill frames without a pose linearly from the nearest frames with one (edges: nearest)."""
    if detected.all():
        return arr.copy()
    t = np.arange(arr.shape[0])
    known = np.flatnonzero(detected)
    after = np.searchsorted(known, t)
    prev = known[np.clip(after - 1, 0, len(known) - 1)]
    nxt = known[np.clip(after, 0, len(known) - 1)]
    prev = np.where(detected, t, prev)
    span = nxt - prev
    w = np.where(span > 0, (t - prev) / np.maximum(span, 1), 0.0).astype(np.float32)[:, None, None]
    return arr[prev] * (1 - w) + arr[nxt] * w


def _robust_torso(torso: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Per-frame torso lengths, never tiny: a torso seen end-on or a degenerate frame falls back.

    A frame's torso may not be shorter than half the window's median (a person
    bending towards the camera would otherwise blow their landmarks up); if the
    whole window is degenerate, a third of the landmarks' extent is used.
    """
    torso = np.where(np.isfinite(torso), torso, 0.0).astype(np.float32)
    median = float(np.median(torso))
    if median <= _EPS:
        extent = (xy.max(axis=1) - xy.min(axis=1)).max(axis=1)
        median = max(float(np.median(extent)) / 3.0, _EPS)
    return np.maximum(torso, np.float32(MIN_TORSO_FRACTION * median))


def mirror_poses(landmarks_seq: np.ndarray) -> np.ndarray:
    """Left-right mirror image of landmarks ``(..., 33, C)``: x -> 1 - x and left/right landmarks swapped.

    For augmentation: a person drinking with the left hand is still drinking.
    NaN rows (missing frames) stay NaN. Mirroring twice gives the input back.
    """
    arr = np.asarray(landmarks_seq, dtype=np.float32)
    if arr.ndim < 2 or arr.shape[-2] != NUM_LANDMARKS:
        raise ValueError(f"landmarks must have shape (..., {NUM_LANDMARKS}, C), not {list(arr.shape)}")
    out = arr[..., MIRROR_INDEX, :].copy()
    out[..., 0] = 1.0 - out[..., 0]
    return out
