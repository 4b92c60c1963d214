"""Heatmap refinement, computed for all landmarks at once, is mediapipe's landmark-by-landmark loop."""

from __future__ import annotations

import numpy as np

from har.edge.pose.landmarks import refine_from_heatmap


def refine_one_by_one(xy, heatmap, kernel=7, min_confidence=0.5):
    """RefineLandmarksFromHeatmapCalculator as written: one clipped window per landmark."""
    hm_h, hm_w, _ = heatmap.shape
    out = xy.astype(np.float32)
    half = (kernel - 1) // 2
    for i in range(len(xy)):
        col, row = int(xy[i, 0] * hm_w), int(xy[i, 1] * hm_h)
        if not (0 <= col < hm_w and 0 <= row < hm_h):
            continue
        r0, r1 = max(0, row - half), min(hm_h, row + half + 1)
        c0, c1 = max(0, col - half), min(hm_w, col + half + 1)
        conf = 1 / (1 + np.exp(-np.clip(heatmap[r0:r1, c0:c1, i], -80, 80)))
        if conf.max() < min_confidence or conf.sum() <= 0:
            continue
        rows, cols = np.mgrid[r0:r1, c0:c1]
        out[i, 0] = (cols * conf).sum() / conf.sum() / hm_w
        out[i, 1] = (rows * conf).sum() / conf.sum() / hm_h
    return out


def test_all_at_once_equals_one_by_one_at_the_edges_outside_and_below_the_confidence():
    rng = np.random.default_rng(3)
    for _ in range(40):
        heatmap = rng.normal(-1.0, 3.0, (64, 64, 39)).astype(np.float32)
        xy = rng.uniform(-0.05, 1.05, (35, 2)).astype(np.float32)  # some outside, some in edge windows
        xy[:3] = [[0.0, 0.0], [0.999, 0.999], [-0.001, 0.5]]
        np.testing.assert_allclose(refine_from_heatmap(xy, heatmap), refine_one_by_one(xy, heatmap), atol=1e-6)
    cold = np.full((64, 64, 39), -5.0, np.float32)  # nothing reaches the confidence: positions kept
    xy = rng.uniform(0, 1, (35, 2)).astype(np.float32)
    np.testing.assert_array_equal(refine_from_heatmap(xy, cold), xy)
