"""Small helpers shared by tests (real files, no mocks)."""

from __future__ import annotations

from pathlib import Path


def write_video(path: Path, frames, fps: float = 15.0) -> Path:
    import cv2

    h, w = frames[0].shape[:2]
    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if path.suffix == ".avi" else "mp4v"))
    writer = cv2.VideoWriter(str(path), fourcc, fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path
