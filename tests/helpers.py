"""Small helpers shared by tests (real files, no mocks)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def need(ok: bool, reason: str) -> None:
    """Skip when an outside resource is missing on a user's clone; fail in CI, where it must be there."""
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must provide it)")
        pytest.skip(reason)


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
