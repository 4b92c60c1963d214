"""Drawing on frames: the label overlay and the pose skeleton.

Pure functions on BGR arrays, shared by the device's annotated video, the
pipeline's skeleton overlay, ``har predict`` and the motion previews, so every
picture of a result looks the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def annotate(frame_bgr: np.ndarray, text_lines: Sequence[str], *, alpha: float = 0.6) -> np.ndarray:
    """Return a copy of ``frame_bgr`` with ``text_lines`` top-left on a translucent dark box.

    The text size follows the frame height so the overlay stays readable from
    240p to 1080p. The input frame is not modified.
    """
    out = np.ascontiguousarray(frame_bgr).copy()
    lines = [str(t) for t in text_lines if t]
    if not lines or out.ndim != 3:
        return out
    h, w = out.shape[:2]
    scale = max(0.4, h / 720.0 * 0.8)
    thickness = max(1, round(scale * 2))
    pad = max(4, round(6 * scale))
    sizes = [cv2.getTextSize(t, _FONT, scale, thickness) for t in lines]
    line_h = max(th + base for (_, th), base in sizes) + pad
    box_w = min(w, max(tw for (tw, _), _ in sizes) + 2 * pad)
    box_h = min(h, line_h * len(lines) + pad)
    roi = out[:box_h, :box_w]
    roi[:] = (roi.astype(np.float32) * (1.0 - alpha)).astype(np.uint8)  # darken behind the text
    y = pad
    for text, ((_, th), _) in zip(lines, sizes, strict=True):
        y += th
        cv2.putText(out, text, (pad, y), _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
        y += line_h - th
    return out


#: BlazePose's skeleton: pairs of landmark indices joined by a bone (mediapipe's POSE_CONNECTIONS).
POSE_EDGES = ((0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
              (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22),
              (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30),
              (29, 31), (30, 32), (27, 31), (28, 32))


def draw_skeleton(frame_bgr: np.ndarray, landmarks: np.ndarray, min_visibility: float = 0.5) -> np.ndarray:
    """A copy of ``frame_bgr`` with the pose drawn on it: what a pose bundle's head was given.

    ``landmarks`` is ``(33, >=4)``: x, y as fractions of the frame, z, visibility;
    landmarks below ``min_visibility`` (or NaN) and their bones are left out.
    """
    out = np.ascontiguousarray(frame_bgr).copy()
    h, w = out.shape[:2]
    lm = np.asarray(landmarks, np.float32)
    ok = np.isfinite(lm[:, :4]).all(axis=1) & (np.nan_to_num(lm[:, 3]) >= min_visibility)
    px = np.nan_to_num(lm[:, :2] * np.array([w, h], np.float32)).round().astype(int)
    thickness = max(1, round(h / 240))
    for a, b in POSE_EDGES:
        if ok[a] and ok[b]:
            cv2.line(out, tuple(px[a]), tuple(px[b]), (80, 220, 80), thickness, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        cv2.circle(out, tuple(px[i]), thickness + 1, (40, 120, 255), -1, cv2.LINE_AA)
    return out


def overlay_lines(label: str | None, confidence: float, fps_now: float | None = None) -> list[str]:
    """The standard overlay text: ``wave 0.93`` (or ``idle``) and ``14.8 fps``."""
    lines = [f"{label} {confidence:.2f}" if label else "idle"]
    if fps_now is not None:
        lines.append(f"{fps_now:.1f} fps")
    return lines
