"""The one frame preprocessing both training and the device use.

Why one function: a model is only as good as the agreement between the pixels
it was trained on and the pixels it sees. Training (``har.models.clips``) and the
edge pipeline both call :func:`preprocess_frame`, and a test compares them.

Frames are kept as uint8 RGB after resizing (a quarter of the memory of
float32 in the clip cache and the window); :func:`normalize` maps them to the
model's float input as the bundle's ``normalization`` says:

* ``scale_0_1``: ``x / 255``, the seed study's choice;
* ``scale_-1_1``: ``x / 127.5 - 1``, zero-centred, which gets both seed models
  out of their initial plateau several epochs sooner (measured: docs/training.md).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

NORMALIZATIONS = ("scale_0_1", "scale_-1_1")


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    if frame is None or frame.size == 0:
        raise ValueError("empty frame")
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return frame


def rgb_frame(frame_bgr: np.ndarray) -> np.ndarray:
    """An OpenCV BGR (or grey/BGRA) frame as uint8 RGB at its own size: the pose estimator's input.

    Not resized: the pose models letterbox the frame themselves, and squashing
    it to a square here would change body proportions with the camera's
    aspect ratio, which keypoint features must not depend on.
    """
    return cv2.cvtColor(_as_bgr(frame_bgr), cv2.COLOR_BGR2RGB)


def frame_preprocessor(encoder: str, size: int | None) -> Callable[[np.ndarray], np.ndarray]:
    """What a sampled frame becomes before the classifier: ``size`` x ``size`` RGB, or full RGB for pose."""
    if encoder == "pose":
        return rgb_frame
    return lambda frame_bgr: preprocess_frame(frame_bgr, size)


def preprocess_frame(frame_bgr: np.ndarray, size: int) -> np.ndarray:
    """Resize an OpenCV BGR (or grey/BGRA) frame to ``size`` x ``size`` uint8 RGB."""
    frame_bgr = _as_bgr(frame_bgr)
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
