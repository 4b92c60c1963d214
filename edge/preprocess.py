"""The one frame preprocessing both training and the device use.

Why one function: a model is only as good as the agreement between the pixels
it was trained on and the pixels it sees. Training (``har.train.clips``) and the
edge pipeline both call :func:`preprocess_frame`, and a test compares them.

Frames are kept as uint8 RGB after resizing; :func:`normalize` scales to
[0, 1] float32 (the seed's ``frame / 255``). Keeping uint8 until the last step
halves the clip cache and lets an int8 model with scale 1/255 and zero point
-128 take ``frame - 128`` directly.
"""

from __future__ import annotations

import cv2
import numpy as np

COLOR_ORDER = "RGB"
NORMALIZATION = "scale_0_1"  # x / 255


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


def normalize(frames_rgb_u8: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 in [0, 1]."""
    return frames_rgb_u8.astype(np.float32) * np.float32(1.0 / 255.0)


def quantize_input(frames_rgb_u8: np.ndarray, scale: float, zero_point: int, dtype) -> np.ndarray:
    """uint8 RGB -> the integer input of a quantized model (``q = x/scale + zp``)."""
    x = normalize(frames_rgb_u8)
    info = np.iinfo(dtype)
    q = np.round(x / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)
