"""Look at the generated motion: a grid of skeleton frames per action, and an mp4 per action.

Why: a generator is only as good as its motions, and a person spots a
broken knee or a wrong-way wave in one look at a picture, not in a loss curve.
The skeletons are drawn with the device's own :func:`har.edge.draw.draw_skeleton`
from the same landmarks training reads, on a grey frame of the take's aspect ratio.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from har.edge.draw import draw_skeleton


def _canvas(aspect: float, height: int) -> np.ndarray:
    return np.full((height, max(8, round(height * aspect)), 3), 40, np.uint8)


def frame_image(poses: np.ndarray, i: int, aspect: float, height: int = 160) -> np.ndarray:
    img = _canvas(aspect, height)
    if np.isfinite(poses[i, :, :2]).all():
        img = draw_skeleton(img, poses[i], min_visibility=0.0)
    else:
        cv2.putText(img, "no pose", (4, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 200), 1)
    return img


def grid(rows: list[tuple[str, np.ndarray, float]], columns: int = 8, cell: int = 120) -> np.ndarray:
    """One row per ``(label, poses, aspect)``: ``columns`` frames spread over the take, letterboxed in square cells."""
    lines = []
    for label, poses, aspect in rows:
        cells = []
        for i in np.linspace(0, len(poses) - 1, columns).round().astype(int):
            img = frame_image(poses, i, aspect, cell if aspect <= 1 else round(cell / aspect))
            h, w = min(cell, img.shape[0]), min(cell, img.shape[1])
            img = cv2.resize(img, (w, h))
            box = np.full((cell, cell, 3), 20, np.uint8)
            y, x = (cell - h) // 2, (cell - w) // 2
            box[y:y + h, x:x + w] = img
            cells.append(box)
        head = np.full((cell, 110, 3), 20, np.uint8)
        cv2.putText(head, label, (4, cell // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (230, 230, 230), 1)
        lines.append(np.hstack([head, *cells]))
    return np.vstack(lines)


def write_mp4(path: Path, poses: np.ndarray, fps: float, aspect: float, label: str, height: int = 240) -> Path:
    """The take as a video of its skeleton, at its own frame rate."""
    first = frame_image(poses, 0, aspect, height)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (first.shape[1], first.shape[0]))
    try:
        for i in range(len(poses)):
            img = frame_image(poses, i, aspect, height)
            cv2.putText(img, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (230, 230, 230), 1)
            writer.write(img)
    finally:
        writer.release()
    return path
