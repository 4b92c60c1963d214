"""A tiny keypoint training set from the five real clips: mechanics only, not accuracy.

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

#: Real clip -> its action label.
CLIPS = {"arm_wrestling.mp4": "arm_wrestling", "cricket_shot.gif": "cricket_shot",
         "drink_water_1080p.avi": "drink_water", "flipping_pancake.mkv": "flipping_pancake",
         "v_ApplyEyeMakeup_g01_c01.avi": "apply_eye_makeup"}
MAX_WIDTH = 480  # smaller files, faster estimation; the detector letterboxes to 224 anyway


def _frames(path: Path) -> tuple[list, float]:
    cap = cv2.VideoCapture(str(path))
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
