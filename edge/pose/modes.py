"""Cheaper ways to run the pose estimator, and the one rule that keeps training and device in step.

The landmark model is most of a pose bundle's cost per sampled frame. Three
ways to pay less, measured against each other in docs/pose.md ("Cost against
accuracy"):

* ``landmark_every = k``: the pose models run on every k-th sampled frame
  only. The frames in between are *skipped*: the window keeps a marker row
  (:func:`skipped_row`) and :func:`fill_skipped` interpolates them, when the
  window is classified, from the nearest computed frames. The sampler's
  interval does not change, so the time between the frames the head sees is
  the one it was trained on. A bundle declares the ``k`` it may run with
  (``landmark_every`` in the training config and metadata), each scored on
  generated people; with ``train_skipped`` training marks and fills its
  windows with the same two functions, :func:`mark_skipped` and
  :func:`fill_skipped` (for the default model a head trained on every frame
  scored higher at ``k = 2`` and ``3`` than one trained on skipped frames,
  docs/pose.md).
* ``still_threshold``: the landmark model is skipped on a frame where the
  tracked region did not change (mean absolute grey-level change of a small
  thumbnail below the threshold); the previous landmarks are repeated. A
  still person gives the same keypoints anyway, so no retraining.
* ``detect_every_frame``: the detector on every frame (no tracking), the
  mediapipe ``static_image_mode`` baseline that shows what tracking saves.

Marker rows hold NaN in x, y, z and visibility, so everything that counts
found frames sees a skipped frame as not found until it is filled, and
``+inf`` in presence, which no estimator output has.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from har.edge.pose.estimator import NUM_LANDMARKS, Pose, PoseEstimator

#: Thumbnail side (pixels) on which the still check compares the tracked region.
STILL_THUMB = 24
#: At most this many frames in a row reuse landmarks because nothing moved, so a slow drift is caught.
MAX_STILL_REPEATS = 4


@dataclass(frozen=True)
class PoseMode:
    """How often the pose models run: what a bundle declares and the runtime switches between."""

    landmark_every: int = 1
    still_threshold: float | None = None
    detect_every_frame: bool = False

    def __post_init__(self):
        if not (isinstance(self.landmark_every, int) and 1 <= self.landmark_every <= 4):
            raise ValueError(f"landmark_every must be an integer from 1 to 4, not {self.landmark_every!r}")

    @property
    def name(self) -> str:
        parts = [f"landmarks on {every(self.landmark_every)}"]
        if self.still_threshold is not None:
            parts.append(f"still<{self.still_threshold:g}")
        if self.detect_every_frame:
            parts.append("detector every frame")
        return ", ".join(parts)


def every(k: int) -> str:
    """``"every frame"``, ``"every 2nd frame"``, ... (for logs and tables)."""
    return "every frame" if k == 1 else f"every {k}{ {2: 'nd', 3: 'rd'}.get(k, 'th')} frame"


def skipped_row() -> np.ndarray:
    """The ``(33, 5)`` marker of a frame whose landmarks were not computed (filled in later)."""
    row = np.full((NUM_LANDMARKS, 5), np.nan, np.float32)
    row[:, 4] = np.inf
    return row


def skipped_frames(landmarks: np.ndarray) -> np.ndarray:
    """``(T,)`` bool: which rows of ``(T, 33, 5)`` landmarks are skip markers."""
    arr = np.asarray(landmarks)
    if arr.ndim != 3 or arr.shape[2] < 5 or not len(arr):
        return np.zeros(len(arr), bool)
    return np.isposinf(arr[:, 0, 4])


def fill_skipped(landmarks: np.ndarray) -> np.ndarray:
    """Skipped rows of a window filled from the nearest computed rows; other rows unchanged.

    Between two computed frames that both have a pose: a Catmull-Rom spline
    through them and the computed frames on either side (x, y, z; visibility
    and presence linearly), which follows a waving hand better than a straight
    line (on generated people, 0.4 points more accuracy than linear at
    ``k = 2`` and 0.8 at ``k = 3``; docs/pose.md). Where a neighbour on either side is missing, its
    point is extrapolated from the two inner ones, which makes the spline a
    straight line there. After the window's last computed frame (the newest
    frames on a device): that frame held. Before the first: the first
    computed frame copied. Next to a computed frame without a pose (the
    person was lost): missing (NaN). The same function fills training and
    test windows and the device's, so all three see the same numbers.
    """
    arr = np.asarray(landmarks, np.float32)
    skipped = skipped_frames(arr)
    if not skipped.any():
        return arr
    out = arr.copy()
    out[skipped] = np.nan
    computed = np.flatnonzero(~skipped)
    if not len(computed):
        return out
    found = np.isfinite(arr[:, :, :4]).all(axis=(1, 2))
    for t in np.flatnonzero(skipped):
        i = int(np.searchsorted(computed, t))
        if 0 < i < len(computed):
            p1, p2 = computed[i - 1], computed[i]
            if found[p1] and found[p2]:
                p0 = computed[i - 2] if i >= 2 and found[computed[i - 2]] else None
                p3 = computed[i + 1] if i + 1 < len(computed) and found[computed[i + 1]] else None
                out[t] = _spline(arr, p0, p1, p2, p3, (t - p1) / (p2 - p1))
        elif i > 0 and found[computed[i - 1]]:
            out[t] = arr[computed[i - 1]]
        elif i < len(computed) and found[computed[i]]:
            out[t] = arr[computed[i]]
    return out


def _spline(arr: np.ndarray, p0, p1: int, p2: int, p3, u: float) -> np.ndarray:
    """Catmull-Rom at ``u`` in [0, 1] between rows p1 and p2 (x, y, z); visibility, presence linear."""
    a1, a2 = arr[p1].astype(np.float64), arr[p2].astype(np.float64)
    a0 = arr[p0].astype(np.float64) if p0 is not None else 2 * a1 - a2
    a3 = arr[p3].astype(np.float64) if p3 is not None else 2 * a2 - a1
    row = 0.5 * (2 * a1 + (a2 - a0) * u + (2 * a0 - 5 * a1 + 4 * a2 - a3) * u * u
                 + (3 * a1 - a0 - 3 * a2 + a3) * u ** 3)
    row[:, 3:] = a1[:, 3:] * (1 - u) + a2[:, 3:] * u
    return row.astype(np.float32)


def mark_skipped(track: np.ndarray, every: int, phase: int = 0) -> np.ndarray:
    """A ``(T, 33, 5)`` track with all rows but every ``every``-th (from ``phase``) turned into skip markers.

    Training's view of a device running with ``landmark_every = every``. Rows
    that are already missing (NaN, nobody found) stay as they are where they
    are computed.
    """
    arr = np.array(track, np.float32, copy=True)
    if every <= 1:
        return arr
    idx = np.arange(len(arr))
    arr[(idx - phase) % every != 0] = skipped_row()
    return arr


def mark_windows(windows: np.ndarray, choices: tuple[int, ...], seed: int) -> np.ndarray:
    """Each ``(N, T, 33, 5)`` window marked for a ``landmark_every`` drawn from ``choices`` at a random phase.

    A device's window slides over the skip pattern, so every phase occurs;
    a head trained for several ``k`` is trained on all of them alike.
    """
    choices = tuple(int(k) for k in choices) or (1,)
    if choices == (1,) or not len(windows):
        return windows
    rng = np.random.default_rng([seed, 0x5C1])
    ks = rng.choice(np.asarray(choices), size=len(windows))
    phases = rng.integers(0, 12, size=len(windows))
    return np.stack([mark_skipped(w, int(k), int(p) % int(k)) for w, k, p in zip(windows, ks, phases, strict=True)])


class ModalEstimator:
    """A :class:`PoseEstimator` run in a :class:`PoseMode`: ``step`` gives what the window keeps per frame.

    ``mode`` may change between frames (the runtime's adaptation): the skip
    counter carries on, so the first frame after a switch is computed when
    the new ``k`` says so. Counters: ``computed`` frames, ``skipped`` frames,
    ``still`` frames that reused landmarks, and the estimator's own.
    """

    def __init__(self, estimator: PoseEstimator, mode: PoseMode | None = None):
        self.estimator = estimator
        self.mode = mode or PoseMode()
        self.last_pose: Pose | None = None
        self._count = 0
        self._thumb: np.ndarray | None = None
        self._still_run = 0
        self.computed = self.skipped = self.still = 0
        self.seconds = 0.0

    def reset(self) -> None:
        """Forget the tracked person and the skip phase (a gap in the stream)."""
        self.estimator.reset()
        self.last_pose = None
        self._count = 0
        self._thumb = None
        self._still_run = 0

    def step(self, frame_rgb: np.ndarray) -> np.ndarray:
        """One sampled RGB frame -> its ``(33, 5)`` landmarks, NaN (nobody) or the skip marker."""
        t0 = time.perf_counter()
        try:
            return self._step(frame_rgb)
        finally:
            self.seconds += time.perf_counter() - t0

    def _step(self, frame_rgb: np.ndarray) -> np.ndarray:
        k = self.mode.landmark_every
        due = self._count % k == 0
        self._count += 1
        if not due:
            self.skipped += 1
            return skipped_row()
        self.computed += 1
        est = self.estimator
        if self.mode.still_threshold is not None and self.last_pose is not None and est.tracking:
            thumb = _thumbnail(frame_rgb, self.last_pose)
            if (self._thumb is not None and self._still_run < MAX_STILL_REPEATS and thumb is not None
                    and float(np.mean(np.abs(thumb - self._thumb))) < self.mode.still_threshold):
                self._still_run += 1
                self.still += 1
                return self.last_pose.landmarks.copy()
        if self.mode.detect_every_frame:
            est.reset()
        pose = est.process(frame_rgb)
        self.last_pose = pose
        self._still_run = 0
        self._thumb = _thumbnail(frame_rgb, pose) if (pose is not None and self.mode.still_threshold is not None) else None
        if pose is None:
            return np.full((NUM_LANDMARKS, 5), np.nan, np.float32)
        return pose.landmarks.copy()


def _thumbnail(frame_rgb: np.ndarray, pose: Pose) -> np.ndarray | None:
    """Grey ``STILL_THUMB`` x ``STILL_THUMB`` float32 thumbnail of the pose's crop (its axis-aligned box)."""
    if pose.roi is None:
        return None
    h, w = frame_rgb.shape[:2]
    half = pose.roi.size / 2
    x0, x1 = int(max(0, pose.roi.center_x - half)), int(min(w, pose.roi.center_x + half))
    y0, y1 = int(max(0, pose.roi.center_y - half)), int(min(h, pose.roi.center_y + half))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    patch = cv2.resize(frame_rgb[y0:y1, x0:x1], (STILL_THUMB, STILL_THUMB), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
