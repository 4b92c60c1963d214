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

from har.models.tracks import TRACK_SUFFIX, MotionError
from har.train.motion.actions import ACTIONS
from har.train.motion.generate import GENERATOR_VERSION, actor, take


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
