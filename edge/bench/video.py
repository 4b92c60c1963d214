"""The input video of the pipeline rows when none is given: textured, moving, 640x480 at 30 fps."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from har.edge.bench.plan import BenchError

VIDEO_FPS = 30.0
VIDEO_SIZE = (640, 480)


def write_test_video(path: str | Path, seconds: float = 8.0, seed: int = 0) -> Path:
    """A 640x480 30 fps mp4 of moving shapes on a textured background (what a camera file costs to decode).

    Texture and motion matter: a flat frame decodes far faster than a real
    scene, which would flatter the pipeline.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = VIDEO_SIZE
    rng = np.random.default_rng(seed)
    background = cv2.GaussianBlur(rng.integers(40, 200, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), VIDEO_FPS, (w, h))
    if not writer.isOpened():
        raise BenchError(f"OpenCV cannot write an mp4 video to {path}")
    for i in range(int(seconds * VIDEO_FPS)):
        t = i / VIDEO_FPS
        frame = background.copy()
        x, y = int(w * (0.5 + 0.35 * np.sin(t))), int(h * (0.55 + 0.15 * np.sin(3 * t)))
        cv2.circle(frame, (x, y - 90), 28, (40, 200, 230), -1)
        cv2.line(frame, (x, y - 60), (x, y + 40), (230, 230, 230), 10)
        for side in (-1, 1):
            cv2.line(frame, (x, y - 40), (x + side * int(60 * np.cos(4 * t)), y - 40 + int(50 * np.sin(4 * t))),
                     (230, 230, 230), 8)
            cv2.line(frame, (x, y + 40), (x + side * 35, y + 130), (230, 230, 230), 8)
        noise = rng.integers(0, 12, (h, w, 1), dtype=np.uint8)
        writer.write(cv2.add(frame, np.broadcast_to(noise, frame.shape)))
    writer.release()
    return path
