"""Tiny pose training sets: generated keypoint windows, and keypoints from the five real clips.

Generated windows (:func:`keypoint_set`: a BlazePose-shaped skeleton that
waves, squats or stands still) train a head in seconds without video; the
session fixture ``trained`` of tests/export/conftest.py is such a head.

The synthetic stick figures are not human enough for BlazePose, and the five
clips in ../shared/realclips are one per action. To get the three
group-disjoint splits the trainer needs, each clip becomes three UCF-named
groups (``v_<action>_gNN_c01.avi``): the clip itself (g01), played backwards
(g02), and mirrored with its centre cropped (g03). These are the same people
doing the same thing, so the held-out accuracy of a model trained on them
means nothing; the tests use it to prove that keypoints, features, training,
export and the device runtime fit together.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from har.edge.capture import open_video

LABELS = ["squat", "still", "wave"]
SEQ_LEN = 20
#: Rough BlazePose layout (x, y in frame fractions) of the landmarks that move; the rest sit near the head.
JOINTS = {11: (0.45, 0.35), 12: (0.55, 0.35), 13: (0.42, 0.45), 14: (0.58, 0.45), 15: (0.40, 0.55),
          16: (0.60, 0.55), 23: (0.47, 0.60), 24: (0.53, 0.60), 25: (0.47, 0.75), 26: (0.53, 0.75),
          27: (0.47, 0.90), 28: (0.53, 0.90)}
RIGHT_ARM = (14, 16, 18, 20, 22)


def keypoint_window(label: str, rng: np.random.Generator) -> np.ndarray:
    """``(SEQ_LEN, 33, 5)`` raw landmarks of one person doing ``label``, a few frames missing (NaN)."""
    base = np.tile(np.array([0.5, 0.2], np.float32), (33, 1))
    for i, xy in JOINTS.items():
        base[i] = xy
    for hand, wrist in ((17, 15), (19, 15), (21, 15), (18, 16), (20, 16), (22, 16), (29, 27), (31, 27),
                        (30, 28), (32, 28)):
        base[hand] = base[wrist] + 0.01
    base = base * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1, 2)
    t = np.arange(SEQ_LEN) / SEQ_LEN
    phase = rng.uniform(0, 2 * np.pi)
    out = np.zeros((SEQ_LEN, 33, 5), np.float32)
    for k in range(SEQ_LEN):
        xy = base.copy()
        if label == "wave":
            xy[list(RIGHT_ARM), 1] -= 0.15 * (1 + np.sin(2 * np.pi * 2 * t[k] + phase))
        elif label == "squat":
            xy[:25, 1] += 0.12 * (1 - np.cos(2 * np.pi * t[k]))
        out[k, :, :2] = xy + rng.normal(0, 0.004, xy.shape)
        out[k, :, 2] = rng.normal(0, 0.05, 33)
        out[k, :, 3:] = 0.9
    out[rng.choice(SEQ_LEN, 2, replace=False)] = np.nan
    return out


def keypoint_set(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(LABELS)), n_per_class).astype(np.int32)
    return np.stack([keypoint_window(LABELS[i], rng) for i in y]), y


#: Real clip -> its action label.
CLIPS = {"arm_wrestling.mp4": "arm_wrestling", "cricket_shot.gif": "cricket_shot",
         "drink_water_1080p.avi": "drink_water", "flipping_pancake.mkv": "flipping_pancake",
         "v_ApplyEyeMakeup_g01_c01.avi": "apply_eye_makeup"}
MAX_WIDTH = 480  # smaller files, faster estimation; the detector letterboxes to 224 anyway


def _frames(path: Path) -> tuple[list, float]:
    cap = open_video(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        h, w = f.shape[:2]
        if w > MAX_WIDTH:
            f = cv2.resize(f, (MAX_WIDTH, round(h * MAX_WIDTH / w)), interpolation=cv2.INTER_AREA)
        frames.append(f)
    cap.release()
    return frames, fps if 0 < fps < 1000 else 25.0


def _write(path: Path, frames: list, fps: float) -> None:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened(), path
    for f in frames:
        writer.write(f)
    writer.release()


def realclip_dataset(realclips: Path, root: Path) -> Path:
    """Write ``root/<action>/v_<action>_g0{1,2,3}_c01.avi`` for each real clip; returns ``root``."""
    for name, label in CLIPS.items():
        frames, fps = _frames(realclips / name)
        h, w = frames[0].shape[:2]
        dy, dx = h // 10, w // 10
        crop = [cv2.resize(cv2.flip(f, 1)[dy:h - dy, dx:w - dx], (w, h)) for f in frames]
        (root / label).mkdir(parents=True, exist_ok=True)
        for group, variant in (("g01", frames), ("g02", frames[::-1]), ("g03", crop)):
            _write(root / label / f"v_{label}_{group}_c01.avi", variant, fps)
    return root
