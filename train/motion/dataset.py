"""Generated motion on disk: class folders of ``.pose.npz`` takes that the ordinary loader reads.

Why files and not an in-memory stream: a generated set then goes through
everything a real dataset does (``list_videos``, group-disjoint protocols,
``har train --encoder pose``, ``har export``, the reports), and a person can
look at it with ``har data show``. A take is one file::

    <out>/<action>/motion_g<actor>_c<take>.pose.npz

``g<actor>`` is the synthetic actor: the loader's group, so one generated
person never sits on both sides of a split. Each file holds ``poses``
(``(N, 33, 5)`` float16 landmarks at the take's own frame rate, NaN rows where
the estimator model found nobody), ``fps``, ``aspect`` and ``facts`` (JSON:
camera, person size, detection rate). ``<out>/motion.json`` records how the
set was made, and ``.complete`` marks a finished set.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from har.edge.errors import HarError
from har.train.dataset import TRACK_SUFFIX
from har.train.motion.actions import ACTIONS
from har.train.motion.generate import GENERATOR_VERSION, actor, take


class MotionError(HarError, ValueError):
    """A motion set or take that cannot be used; the message says why."""


def check_actions(actions: Iterable[str] | None) -> list[str]:
    names = sorted(ACTIONS) if not actions else list(dict.fromkeys(actions))
    unknown = [a for a in names if a not in ACTIONS]
    if unknown:
        raise MotionError(f"unknown action(s) {', '.join(unknown)}; the generator knows: {', '.join(sorted(ACTIONS))}")
    if len(names) < 2:
        raise MotionError("a motion set needs at least two actions")
    return names


def write_dataset(out: str | Path, actions: Iterable[str] | None = None, actors: int = 48, takes: int = 2,
                  seed: int = 0, window_s: float = 2.0, noise: float = 1.0, first_actor: int = 0) -> dict:
    """Generate ``actors`` x ``takes`` takes of every action into ``out``; returns the summary in motion.json."""
    names = check_actions(actions)
    if actors < 1 or takes < 1:
        raise MotionError("--actors and --takes must be at least 1")
    if not (0.0 <= noise <= 3.0):
        raise MotionError(f"--noise scales the estimator model and must lie in 0..3, not {noise}")
    out = Path(out)
    (out / ".complete").unlink(missing_ok=True)
    t0, frames, found = time.perf_counter(), 0, []
    for a in names:
        (out / a).mkdir(parents=True, exist_ok=True)
    for g in range(first_actor, first_actor + actors):
        who = actor(seed, g)
        for a in names:
            for c in range(takes):
                tk = take(a, who, seed, g, c, window_s=window_s, noise=noise)
                path = out / a / f"motion_g{g:03d}_c{c:02d}{TRACK_SUFFIX}"
                _save(path, tk.poses, tk.fps, tk.aspect, tk.facts)
                frames += len(tk.poses)
                found.append(tk.facts["detected"])
    summary = {"generator_version": GENERATOR_VERSION, "seed": seed, "actions": names, "actors": actors,
               "first_actor": first_actor, "takes_per_actor": takes, "window_s": window_s, "noise": noise,
               "files": actors * takes * len(names), "frames": frames,
               "mean_detected": round(float(np.mean(found)), 3), "seconds": round(time.perf_counter() - t0, 2)}
    (out / "motion.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / ".complete").touch()
    return summary


def _save(path: Path, poses: np.ndarray, fps: float, aspect: float, facts: dict) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, poses=poses.astype(np.float16), fps=np.float32(fps), aspect=np.float32(aspect),
                        facts=np.array(json.dumps(facts)))
    os.replace(tmp, path)


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
