"""The one frame preprocessing both training and the device use.

Why one function: a model is only as good as the agreement between the pixels
it was trained on and the pixels it sees. Training (``har.train.clips``) and the
edge pipeline both call :func:`preprocess_frame`, and a test compares them.

Frames are kept as uint8 RGB after resizing (a quarter of the memory of
float32 in the clip cache and the window); :func:`normalize` maps them to the
model's float input as the bundle's ``normalization`` says:

* ``scale_0_1``: ``x / 255``, the seed study's choice;
* ``scale_-1_1``: ``x / 127.5 - 1``, zero-centred, which gets both seed models
  out of their initial plateau several epochs sooner (measured: docs/training.md).
"""

from __future__ import annotations

import cv2
import numpy as np

NORMALIZATIONS = ("scale_0_1", "scale_-1_1")


def preprocess_frame(frame_bgr: np.ndarray, size: int) -> np.ndarray:
    """Resize an OpenCV BGR (or grey/BGRA) frame to ``size`` x ``size`` uint8 RGB."""
    if frame_bgr is None or frame_bgr.size == 0:
        raise ValueError("empty frame")
    if frame_bgr.ndim == 2:
        frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2BGR)
    elif frame_bgr.shape[2] == 4:
        frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_BGRA2BGR)
    h, w = frame_bgr.shape[:2]
    interp = cv2.INTER_AREA if (h > size or w > size) else cv2.INTER_LINEAR
    small = cv2.resize(frame_bgr, (size, size), interpolation=interp)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


def normalize(frames_rgb_u8: np.ndarray, mode: str = "scale_0_1") -> np.ndarray:
    """uint8 RGB -> float32 model input, by ``mode`` (see the module docstring)."""
    x = frames_rgb_u8.astype(np.float32)
    if mode == "scale_0_1":
        return x * np.float32(1.0 / 255.0)
    if mode == "scale_-1_1":
        return x * np.float32(1.0 / 127.5) - np.float32(1.0)
    raise ValueError(f"unknown normalization {mode!r}; use one of {', '.join(NORMALIZATIONS)}")
