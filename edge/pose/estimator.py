"""One person's pose per frame: detect once, then track with the landmark model alone.

This is mediapipe's single-pose graph (``pose_landmark_cpu``) without
mediapipe: the detector finds a person and gives a rotated square region of
interest (ROI); the landmark model finds 33 body landmarks in that crop plus
two auxiliary ones (hip centre and a full-body scale point) from which the
ROI of the *next* frame is computed. The detector runs again only when nobody
is tracked or the landmark model's pose flag says the person was lost, which
saves its cost on most frames and keeps the same person from frame to frame.

Frames are RGB. The rest of the edge runtime reads OpenCV frames, which are
BGR (:mod:`har.edge.sources` yields BGR; :func:`har.edge.preprocess.preprocess_frame`
converts to RGB). Convert with :func:`har.edge.preprocess.rgb_frame` (full
size: the detector letterboxes the frame itself) or
``cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)`` before :meth:`PoseEstimator.process`.
Fed BGR, the models still find people, but less often (on the 1080p test
clip, in 36 of 52 frames instead of all of them).

As in mediapipe, the two auxiliary landmarks pass through a one-euro filter
before they place the next crop (a steady crop gives steady landmarks).
Unlike mediapipe, the output landmarks are not smoothed: the temporal head
sees raw per-frame keypoints, the same in training and on the device. On the
real clips of the test suite the landmarks agree with mediapipe 0.10.21's
own graph (smoothing off) to a median of 0.5-1.5 pixels where both track the
same person (docs/pose.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from har.edge.pose.assets import PoseModels, pose_models
from har.edge.pose.detector import PoseDetector, Roi, roi_from_detection, roi_from_points
from har.edge.pose.landmarks import PoseLandmarker

#: BlazePose's 33 body landmarks, in model order.
LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
NUM_LANDMARKS = len(LANDMARK_NAMES)
#: Detector score from which a frame where nobody reaches ``min_detection_score`` tries its best candidate
#: anyway, kept only if the landmark model's pose flag confirms it (None: mediapipe's behaviour).
MIN_CANDIDATE_SCORE = 0.1


@dataclass(frozen=True, eq=False)  # holds arrays: compare their fields
class Pose:
    """One person's landmarks in one frame."""

    landmarks: np.ndarray
    """``(33, 5)`` float32: x, y normalized to the frame ([0, 1] inside it, may lie outside), z (depth
    relative to the hips, roughly in x's scale; smaller is nearer), visibility and presence (0..1)."""
    score: float
    """The landmark model's pose flag (0..1): how sure it is that a person is in the crop."""
    image_size: tuple[int, int] = (0, 0)
    """(width, height) of the frame in pixels, to turn normalized x, y into pixels."""
    auxiliary: np.ndarray = field(default_factory=lambda: np.zeros((2, 5), np.float32))
    """``(2, 5)`` float32: the two alignment landmarks (hip centre, scale point) used for tracking."""
    roi: Roi | None = None
    """The crop the landmarks were found in (pixels), for drawing and debugging."""

    def xy_pixels(self) -> np.ndarray:
        """``(33, 2)`` float32 landmark positions in pixels of the frame."""
        w, h = self.image_size
        return self.landmarks[:, :2] * np.array([w, h], np.float32)


class PoseEstimator:
    """Pose of one person, frame after frame: the detector's best, then that person while tracked.

    ``min_detection_score`` thresholds the detector, ``min_tracking_score``
    the landmark model's pose flag (both 0.5, mediapipe's defaults). When
    tracking is lost the detector runs again *on the same frame*, so a frame
    with a person is not dropped because the previous frame's crop missed.

    Small people (a person 45 px tall in 180x144 video) score only 0.1-0.5
    with the detector while the landmark model is sure of them, so when
    nobody reaches ``min_detection_score`` the best candidate down to
    ``min_candidate_score`` is tried and kept only if its pose flag reaches
    ``min_tracking_score``. Where somebody reaches ``min_detection_score`` the
    detections are exactly mediapipe's; ``min_candidate_score=None`` turns the
    fallback off (docs/pose.md, "Small people", has the detection rates).

    ``prune`` runs the landmark model without the outputs it never reads
    (the default; :mod:`har.edge.pose.prune`), ``False`` the whole graph.

    Counters for benchmarking: ``frames`` processed, ``detector_runs``,
    ``landmark_runs``, and the seconds spent in each model (pre/post
    processing included) in ``detector_s`` and ``landmarks_s``.
    """

    def __init__(self, models: PoseModels | None = None, threads: int = 1, min_detection_score: float = 0.5,
                 min_tracking_score: float = 0.5, min_candidate_score: float | None = MIN_CANDIDATE_SCORE,
                 prune: bool = True):
        models = models if models is not None else pose_models()
        self.detector = PoseDetector(models.detector, threads=threads, min_score=min_detection_score)
        self.landmarker = PoseLandmarker(models.landmarks, threads=threads, prune=prune)
        self.min_tracking_score = min_tracking_score
        self.min_candidate_score = min_candidate_score
        self._roi: Roi | None = None
        self._aux_filter = _OneEuroFilter()
        self.frames = 0
        self.detector_runs = 0
        self.landmark_runs = 0
        self.detector_s = 0.0
        self.landmarks_s = 0.0

    @property
    def tracking(self) -> bool:
        """True when the next frame will reuse this frame's landmarks instead of the detector."""
        return self._roi is not None

    def reset(self) -> None:
        """Forget the tracked person (after a cut, a seek or a gap in a live stream)."""
        self._roi = None
        self._aux_filter.reset()

    def process(self, frame_rgb: np.ndarray) -> Pose | None:
        """The pose in one ``(H, W, 3)`` uint8 RGB frame, or None when nobody is found."""
        frame_rgb = _check_frame(frame_rgb)
        self.frames += 1
        if self._roi is not None:
            pose = self._landmarks(frame_rgb, self._roi)
            if pose is not None:
                return pose
        self.reset()
        t0 = time.perf_counter()
        detections = self.detector.detect(frame_rgb, self.min_candidate_score)
        self.detector_s += time.perf_counter() - t0
        self.detector_runs += 1
        if not detections:
            return None
        h, w = frame_rgb.shape[:2]
        return self._landmarks(frame_rgb, roi_from_detection(detections[0], w, h))

    def _landmarks(self, frame_rgb: np.ndarray, roi: Roi) -> Pose | None:
        """Run the landmark model in ``roi``; keeps the next frame's ROI when the person is still there."""
        t0 = time.perf_counter()
        result = self.landmarker.run(frame_rgb, roi)
        self.landmarks_s += time.perf_counter() - t0
        self.landmark_runs += 1
        if result.score < self.min_tracking_score:
            self.reset()
            return None
        h, w = frame_rgb.shape[:2]
        aux_px = self._aux_filter(result.auxiliary[:, :2] * np.array([w, h], np.float32), roi.size)
        self._roi = roi_from_points(aux_px[0], aux_px[1])
        return Pose(result.landmarks, float(result.score), (w, h), result.auxiliary, roi)


class _OneEuroFilter:
    """mediapipe's one-euro filter for the auxiliary landmarks (min cutoff 0.01, beta 10, derivative cutoff 1).

    Smooths heavily while the person stands still, so the crop does not
    jitter with the landmarks it produced, and follows quickly when they
    move. Speed is measured in crop sizes per second at a nominal 30 frames
    per second (the spacing mediapipe's Python solution gives its frames),
    so the filter works per frame, not per second: the same on a file, a
    camera and a training clip sampled alike.
    """

    def __init__(self, min_cutoff: float = 0.01, beta: float = 10.0, d_cutoff: float = 1.0, rate_hz: float = 30.0):
        self.min_cutoff, self.beta, self.d_cutoff, self.rate_hz = min_cutoff, beta, d_cutoff, rate_hz
        self._raw: np.ndarray | None = None
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None

    def _alpha(self, cutoff):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * self.rate_hz)

    def reset(self) -> None:
        self._raw = self._value = self._speed = None

    def __call__(self, points_px: np.ndarray, scale_px: float) -> np.ndarray:
        """Filtered ``(N, 2)`` points in pixels; ``scale_px`` (the crop size) makes speed scale-free."""
        points_px = np.asarray(points_px, np.float64)
        if self._raw is None or scale_px <= 0:
            self._raw, self._value, self._speed = points_px, points_px, np.zeros_like(points_px)
            return points_px
        speed = (points_px - self._raw) / scale_px * self.rate_hz
        self._speed = self._speed + self._alpha(self.d_cutoff) * (speed - self._speed)
        alpha = self._alpha(self.min_cutoff + self.beta * np.abs(self._speed))
        self._value = self._value + alpha * (points_px - self._value)
        self._raw = points_px
        return self._value


def _check_frame(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8 or frame.size == 0:
        raise ValueError(f"PoseEstimator takes an (H, W, 3) uint8 RGB frame, not {frame.dtype} {list(frame.shape)}; "
                         "convert OpenCV frames with cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)")
    return frame
