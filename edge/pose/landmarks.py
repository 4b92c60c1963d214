"""BlazePose full landmark model on LiteRT: a rotated crop of one person -> 33 body landmarks.

The crop is cut from the frame with one ``cv2.warpAffine`` (rotation, scale
and translation at once, edges replicated) into 256x256 RGB in [0, 1]. The
model's outputs, found by shape because their order in the file is not a
contract:

* ``(1, 195)``: 39 landmarks x (x, y, z, visibility, presence) in crop pixels;
  0-32 are the body, 33-34 the auxiliary hip centre and scale point that
  place the next frame's crop, 35-38 are unused;
* ``(1, 1)``: the pose flag, the probability that a person is in the crop;
* ``(1, 64, 64, 39)``: per-landmark heatmaps, used as mediapipe does to
  refine x, y (RefineLandmarksFromHeatmapCalculator, 7x7 kernel);
* segmentation and world landmarks, not used: the graph is pruned of them
  when loaded (:mod:`har.edge.pose.prune`; the three outputs read are the
  same, bit for bit, for about 40 % less work).

Visibility and presence are logits and pass through a sigmoid; z is divided
by the crop size and scaled with the crop like x, as in mediapipe's
TensorsToLandmarks and LandmarkProjection calculators.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from har.edge.litert import load_interpreter
from har.edge.pose.detector import Roi
from har.edge.pose.prune import prune_outputs

INPUT_SIZE = 256
NUM_BODY = 33
NUM_AUXILIARY = 2
NUM_OUTPUT_LANDMARKS = 39
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5
#: The outputs the pose path reads: landmarks, pose flag, heatmap (the rest are pruned away).
USED_OUTPUTS = ((1, NUM_OUTPUT_LANDMARKS * 5), (1, 1), (1, 64, 64, NUM_OUTPUT_LANDMARKS))


@dataclass(frozen=True, eq=False)  # holds arrays: compare their fields
class LandmarkResult:
    """The landmark model's answer for one crop, projected back onto the frame."""

    landmarks: np.ndarray
    """``(33, 5)`` float32 x, y (normalized to the frame), z, visibility, presence."""
    auxiliary: np.ndarray
    """``(2, 5)`` float32, same layout: hip centre and scale point."""
    score: float
    """Pose flag, 0..1."""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


class PoseLandmarker:
    """``pose_landmark_full.tflite`` (or another BlazePose landmark model): frame + :class:`Roi` -> :class:`LandmarkResult`.

    ``prune`` (default) runs the graph without the outputs never read
    (:mod:`har.edge.pose.prune`); ``pruned`` says whether that happened.
    """

    def __init__(self, path: str | Path, threads: int = 1, prune: bool = True):
        self.path = Path(path)
        content = prune_outputs(self.path, USED_OUTPUTS) if prune and self.path.is_file() else None
        self.pruned = content is not None
        self.interpreter = load_interpreter(self.path, threads, content=content)
        (inp,) = self.interpreter.get_input_details()
        if tuple(inp["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"{self.path.name} takes {list(inp['shape'])}, not the BlazePose landmark model's "
                             f"[1, {INPUT_SIZE}, {INPUT_SIZE}, 3]; fetch the models again")
        self._input = inp["index"]
        by_shape = {tuple(int(v) for v in d["shape"]): d["index"] for d in self.interpreter.get_output_details()}
        try:
            self._landmarks = by_shape[(1, NUM_OUTPUT_LANDMARKS * 5)]
            self._flag = by_shape[(1, 1)]
            self._heatmap = by_shape[(1, 64, 64, NUM_OUTPUT_LANDMARKS)]
        except KeyError:
            raise ValueError(f"{self.path.name} does not have the outputs of BlazePose's full landmark model "
                             f"({sorted(by_shape)}); fetch the models again") from None

    def crop(self, frame_rgb: np.ndarray, roi: Roi) -> np.ndarray:
        """The ROI as the model's ``(256, 256, 3)`` float32 input in [0, 1]."""
        return self._patch(frame_rgb, roi).astype(np.float32) * np.float32(1 / 255)

    @staticmethod
    def _patch(frame_rgb: np.ndarray, roi: Roi) -> np.ndarray:
        m = roi.crop_to_image(INPUT_SIZE)
        return cv2.warpAffine(frame_rgb, m, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)

    def run(self, frame_rgb: np.ndarray, roi: Roi) -> LandmarkResult:
        """Landmarks of the person in ``roi`` of an ``(H, W, 3)`` uint8 RGB frame."""
        it = self.interpreter
        # The crop is scaled straight into the input tensor and the heatmap read in place: no 0.8 MB
        # temporary and no 0.6 MB copy per frame. The views are dropped before the next invoke.
        np.multiply(self._patch(frame_rgb, roi), np.float32(1 / 255), out=it.tensor(self._input)()[0])
        it.invoke()
        raw = it.get_tensor(self._landmarks)[0].reshape(NUM_OUTPUT_LANDMARKS, 5)[: NUM_BODY + NUM_AUXILIARY]
        score = float(it.get_tensor(self._flag)[0, 0])
        crop_xy = refine_from_heatmap(raw[:, :2] / INPUT_SIZE, it.tensor(self._heatmap)()[0]) * INPUT_SIZE
        m = roi.crop_to_image(INPUT_SIZE)
        h, w = frame_rgb.shape[:2]
        xy = crop_xy @ m[:, :2].T + m[:, 2]
        out = np.empty_like(raw)
        out[:, 0] = xy[:, 0] / w
        out[:, 1] = xy[:, 1] / h
        out[:, 2] = raw[:, 2] / INPUT_SIZE * roi.size / w
        out[:, 3:5] = _sigmoid(raw[:, 3:5])
        out = out.astype(np.float32)
        return LandmarkResult(out[:NUM_BODY], out[NUM_BODY:], score)


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray, kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = HEATMAP_MIN_CONFIDENCE) -> np.ndarray:
    """Landmark x, y in [0, 1] of the crop moved to the confidence-weighted centre of their heatmap window.

    A landmark whose window peaks below ``min_confidence`` keeps the regressed
    position, as in mediapipe's RefineLandmarksFromHeatmapCalculator.
    """
    hm_h, hm_w, _ = heatmap.shape
    out = xy.astype(np.float32)
    half = (kernel - 1) // 2
    col = np.trunc(xy[:, 0] * hm_w).astype(np.int64)  # as int(): towards zero
    row = np.trunc(xy[:, 1] * hm_h).astype(np.int64)
    inside = (col >= 0) & (col < hm_w) & (row >= 0) & (row < hm_h)
    if not inside.any():
        return out
    # All windows at once, indices clipped to the heatmap and the cells outside weighted 0: the same as
    # clipping each window (and cheaper than padding the whole heatmap on every frame).
    idx = np.flatnonzero(inside)
    offsets = np.arange(-half, half + 1)
    rr = row[idx, None] + offsets  # (m, kernel)
    cc = col[idx, None] + offsets
    rin = (rr >= 0) & (rr < hm_h)
    cin = (cc >= 0) & (cc < hm_w)
    windows = heatmap[np.clip(rr, 0, hm_h - 1)[:, :, None], np.clip(cc, 0, hm_w - 1)[:, None, :],
                      idx[:, None, None]]  # (m, kernel, kernel)
    conf = 1.0 / (1.0 + np.exp(-np.clip(windows, -80.0, 80.0)))
    conf *= rin[:, :, None] & cin[:, None, :]
    total = conf.sum(axis=(1, 2))
    ok = (conf.max(axis=(1, 2)) >= min_confidence) & (total > 0)
    rows = rr.astype(np.float64)
    cols = cc.astype(np.float64)
    x = (conf.sum(axis=1) * cols).sum(axis=1) / np.maximum(total, 1e-30) / hm_w
    y = (conf.sum(axis=2) * rows).sum(axis=1) / np.maximum(total, 1e-30) / hm_h
    out[idx[ok], 0] = x[ok]
    out[idx[ok], 1] = y[ok]
    return out
