"""BlazePose person detector on LiteRT, and the crop it hands to the landmark model.

The model sees the whole frame letterboxed into 224x224 (aspect kept, black
bars, values in [-1, 1]) and scores 2254 SSD anchors. Each anchor's 12
regression values are a box (centre x, centre y, width, height) and four
keypoints, in pixels of the 224 input relative to the anchor centre. The
first two keypoints are what the rest of the pipeline needs: the hip centre
and a point whose distance from it is half the body's extent, which give a
square crop rotated so that the body stands upright in it.

The constants are those of mediapipe's ``pose_detection_cpu`` graph
(SsdAnchorsCalculator, TensorsToDetectionsCalculator, weighted non-maximum
suppression, letterbox removal) and ``pose_detection_to_roi``
(AlignmentPointsRectsCalculator, RectTransformationCalculator), so the
detections match the original pipeline's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from har.edge.litert import load_interpreter

INPUT_SIZE = 224
#: SsdAnchorsCalculator options of pose_detection: num_layers 5, anchor offset 0.5,
#: aspect ratio 1.0 plus one interpolated scale per layer, fixed anchor size.
ANCHOR_STRIDES = (8, 16, 32, 32, 32)
ANCHORS_PER_LAYER = 2
NUM_KEYPOINTS = 4
#: Overlap (IoU) above which detections are merged by weighted NMS.
NMS_IOU = 0.3
#: Raw scores are clipped to +-100 before the sigmoid, as mediapipe does.
SCORE_CLIP = 100.0
#: The ROI is the alignment circle's diameter times this (pose_detection_to_roi, pose_landmarks_to_roi).
ROI_SCALE = 1.25


@dataclass(frozen=True, eq=False)  # holds arrays: compare their fields
class Detection:
    """One person found by the detector, in coordinates normalized to the frame."""

    score: float
    box: np.ndarray
    """``(4,)`` float32 xmin, ymin, xmax, ymax."""
    keypoints: np.ndarray
    """``(4, 2)`` float32 x, y: hip centre, full-body scale point, shoulder centre, upper-body scale point."""


@dataclass(frozen=True)
class Roi:
    """A square crop of the frame, in pixels, rotated so the person stands upright in it."""

    center_x: float
    center_y: float
    size: float
    """Side of the square in pixels."""
    rotation: float
    """Radians: how far the person is turned clockwise on screen from upright (head up); the crop undoes it."""

    def crop_to_image(self, crop_size: int) -> np.ndarray:
        """``(2, 3)`` affine matrix from crop pixels (0..crop_size) to frame pixels."""
        scale = self.size / crop_size
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        half = crop_size / 2
        # frame = centre + R(rotation) @ (crop - half) * scale, with y pointing down
        a = np.array([[c * scale, -s * scale], [s * scale, c * scale]], np.float64)
        t = np.array([self.center_x, self.center_y]) - a @ np.array([half, half])
        return np.hstack([a, t[:, None]])


def ssd_anchors() -> np.ndarray:
    """``(2254, 2)`` float32 anchor centres (x, y) in [0, 1], in the model's output order.

    Layers that share a stride share a feature map, so the three stride-32
    layers give 6 anchors per cell of one 7x7 map (mediapipe's grouping).
    """
    centres = []
    layer = 0
    while layer < len(ANCHOR_STRIDES):
        stride = ANCHOR_STRIDES[layer]
        same = sum(1 for s in ANCHOR_STRIDES[layer:] if s == stride)  # strides are sorted
        cells = math.ceil(INPUT_SIZE / stride)
        y, x = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(x + 0.5) / cells, (y + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, same * ANCHORS_PER_LAYER, axis=1).reshape(-1, 2))
        layer += same
    return np.concatenate(centres).astype(np.float32)


class PoseDetector:
    """``pose_detection.tflite``: frame -> people, best first."""

    def __init__(self, path: str | Path, threads: int = 1, min_score: float = 0.5):
        self.path = Path(path)
        self.min_score = min_score
        self.interpreter = load_interpreter(self.path, threads)
        (inp,) = self.interpreter.get_input_details()
        if tuple(inp["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"{self.path.name} takes {list(inp['shape'])}, not the BlazePose detector's "
                             f"[1, {INPUT_SIZE}, {INPUT_SIZE}, 3]; fetch the models again")
        self._input = inp["index"]
        self.anchors = ssd_anchors()
        n = len(self.anchors)
        by_shape = {tuple(int(v) for v in d["shape"]): d["index"] for d in self.interpreter.get_output_details()}
        try:
            self._boxes, self._scores = by_shape[(1, n, 4 + 2 * NUM_KEYPOINTS)], by_shape[(1, n, 1)]
        except KeyError:
            raise ValueError(f"{self.path.name} does not have the outputs of the BlazePose detector "
                             f"({sorted(by_shape)}, expected {n} anchors); fetch the models again") from None

    def detect(self, frame_rgb: np.ndarray, fallback_score: float | None = None) -> list[Detection]:
        """People in an ``(H, W, 3)`` uint8 RGB frame, highest score first (normalized coordinates).

        With ``fallback_score``, a frame where nobody reaches ``min_score``
        returns the people scoring at least ``fallback_score`` instead, from
        the same model run: small people score low (0.1-0.5 for a person a
        third of a 180x144 frame tall) while the landmark model is sure of
        them, so the caller confirms these with it. Where somebody reaches
        ``min_score`` the answer is exactly the one without a fallback.
        """
        tensor, pad = letterbox(frame_rgb, INPUT_SIZE)
        it = self.interpreter
        it.set_tensor(self._input, tensor[None])
        it.invoke()
        raw = it.get_tensor(self._boxes)[0]
        logits = it.get_tensor(self._scores)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0 and fallback_score is not None:
            keep = np.flatnonzero(scores >= fallback_score)
        if keep.size == 0:
            return []
        boxes, keypoints = _decode(raw[keep], self.anchors[keep])
        detections = weighted_nms(scores[keep], boxes, keypoints, NMS_IOU)
        return [_unletterbox(d, pad) for d in detections]


def letterbox(frame_rgb: np.ndarray, size: int) -> tuple[np.ndarray, tuple[float, float]]:
    """``frame`` scaled to fit ``size`` x ``size`` (aspect kept, centred, black bars) as float32 in [-1, 1].

    Bilinear sampling by ``cv2.warpAffine``, as mediapipe's ImageToTensor does:
    area averaging (``INTER_AREA``) looks smoother but found a tenth fewer
    people on a small real clip (flipping_pancake.mkv, detector alone).
    Returns the tensor and the padding (x, y) as a fraction of ``size`` on
    each side.
    """
    h, w = frame_rgb.shape[:2]
    scale = size / max(h, w)
    pad_x, pad_y = (size - w * scale) / 2, (size - h * scale) / 2
    m = np.array([[scale, 0.0, pad_x], [0.0, scale, pad_y]])
    canvas = cv2.warpAffine(frame_rgb, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    tensor = canvas.astype(np.float32) * np.float32(1 / 127.5) - np.float32(1.0)
    return tensor, (pad_x / size, pad_y / size)


def _decode(raw: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Regression values -> boxes ``(N, 4)`` xmin, ymin, xmax, ymax and keypoints ``(N, 4, 2)`` in [0, 1]."""
    centre = raw[:, 0:2] / INPUT_SIZE + anchors
    half = raw[:, 2:4] / INPUT_SIZE / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) / INPUT_SIZE + anchors[:, None]
    return boxes, keypoints


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, iou: float) -> list[Detection]:
    """Merge overlapping detections into their score-weighted mean, keeping the best score (mediapipe's WEIGHTED)."""
    order = np.argsort(-scores, kind="stable")
    remaining = order
    out = []
    while remaining.size:
        best = remaining[0]
        overlap = _iou(boxes[best], boxes[remaining]) > iou
        overlap[0] = True
        group = remaining[overlap]
        w = scores[group][:, None]
        box = (boxes[group] * w).sum(0) / w.sum()
        kps = (keypoints[group] * w[:, :, None]).sum(0) / w.sum()
        out.append(Detection(float(scores[best]), box.astype(np.float32), kps.astype(np.float32)))
        remaining = remaining[~overlap]
    return out


def _unletterbox(d: Detection, pad: tuple[float, float]) -> Detection:
    """Letterboxed [0, 1] coordinates -> coordinates normalized to the original frame."""
    px, py = pad
    off = np.array([px, py], np.float32)
    span = np.array([1 - 2 * px, 1 - 2 * py], np.float32)
    box = ((d.box.reshape(2, 2) - off) / span).reshape(4)
    return Detection(d.score, box, (d.keypoints - off) / span)


def roi_from_points(center_px: np.ndarray, scale_px: np.ndarray) -> Roi:
    """The square, upright crop around a centre point and a scale point (both in pixels).

    Size is the circle through the scale point (diameter 2 * distance) times
    :data:`ROI_SCALE`; rotation turns the centre -> scale point direction to
    90 degrees (straight up), as AlignmentPointsRectsCalculator does.
    """
    dx, dy = float(scale_px[0] - center_px[0]), float(scale_px[1] - center_px[1])
    size = 2.0 * math.hypot(dx, dy) * ROI_SCALE
    rotation = _normalize_radians(math.pi / 2 - math.atan2(-dy, dx))
    return Roi(float(center_px[0]), float(center_px[1]), size, rotation)


def roi_from_detection(detection: Detection, width: int, height: int) -> Roi:
    """The crop for the landmark model from a detection's keypoints 0 (hip centre) and 1 (scale point)."""
    px = detection.keypoints[:2] * np.array([width, height], np.float32)
    return roi_from_points(px[0], px[1])


def _normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))
