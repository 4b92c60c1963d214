"""Generated pose takes (``.pose.npz``) as the loaders read them: one take's sampled keypoints.

Why in ``har.models``: training reads takes as a dataset and ``har export``
reads the same takes again to calibrate and test a pose head, and export
never imports training code. Writing takes is :mod:`har.train.motion.dataset`'s job.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from har.edge.errors import HarError

#: Generated pose takes (``har data motion``): keypoints instead of frames, for the pose encoder.
TRACK_SUFFIX = ".pose.npz"


class MotionError(HarError, ValueError):
    """A motion set or take that cannot be used; the message says why."""


def is_track(path: str | Path) -> bool:
    return str(path).endswith(TRACK_SUFFIX)


def read_track(path: str | Path) -> tuple[np.ndarray, float, float]:
    """``(poses (N, 33, 5) float32, fps, aspect)`` of one take; MotionError for anything unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            poses, fps, aspect = z["poses"].astype(np.float32), float(z["fps"]), float(z["aspect"])
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise MotionError(f"{path}: not a readable pose take ({e.__class__.__name__}: {e})") from None
    if poses.ndim != 3 or poses.shape[1:] != (33, 5) or not (0 < fps <= 1000) or not (0 < aspect < 100):
        raise MotionError(f"{path}: a pose take holds (N, 33, 5) landmarks with a positive fps and aspect, "
                          f"not {list(poses.shape)} at {fps} fps, aspect {aspect}")
    return poses, fps, aspect


def sampled_track(path: str | Path, interval_s: float) -> tuple[np.ndarray, float]:
    """The take's frames that the device's sampler keeps at ``interval_s``, and the aspect ratio.

    The same :class:`har.edge.sampler.IntervalSampler` the device runs on a
    camera picks frames by their timestamps ``i / fps``, so a 25 fps take
    sampled every 0.1 s is uneven (0.08 / 0.12 s) exactly as a 25 fps video is.
    """
    poses, fps, aspect = read_track(path)
    return sample_frames(poses, fps, interval_s), float(np.float32(aspect))


def sample_frames(poses: np.ndarray, fps: float, interval_s: float) -> np.ndarray:
    """The frames of a take at ``fps`` that :class:`har.edge.sampler.IntervalSampler` keeps at ``interval_s``."""
    from har.edge.sampler import IntervalSampler

    sampler = IntervalSampler(interval_s)
    sampler.set_frame_period(1.0 / fps)
    return poses[[i for i in range(len(poses)) if sampler.accept(i / fps)]]
