"""Windows of generated motion straight from the generator, grouped by generated actor.

Why: calibrating an embedding and scoring few-shot enrolment need many
labelled windows from many people, and the generator gives them without
writing takes to disk or running the pose estimator. Each window is what
the device's window holds for a pose bundle: ``(seq_len, 33, 5)`` landmarks
sampled every ``interval_s``, NaN where the (modelled) estimator lost the
person. Actor indices pick the people: the default model was trained on
actors below 200 (``make pose-default``), so evaluations use actors from
:data:`UNSEEN_FIRST_ACTOR` on.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: Generated people no shipped model was trained on (the same range ``--mix-motion`` draws from).
UNSEEN_FIRST_ACTOR = 5000


class Windows(NamedTuple):
    """Generated windows with their labels and people."""

    landmarks: np.ndarray  # (N, seq_len, 33, 5) float32, NaN rows: no pose
    aspects: np.ndarray  # (N,) frame width / height
    y: np.ndarray  # (N,) int index into the actions asked for
    groups: np.ndarray  # (N,) actor index: one person stays on one side of a split


def generated_windows(actions: list[str], actors: range, seed: int = 0, seq_len: int = 20,
                      interval_s: float = 0.1, per_take: int = 2, min_found: float = 0.5, takes: int = 1,
                      noise: float = 1.0) -> Windows:
    """Up to ``per_take`` windows per (actor, action, take), ``takes`` takes each, spread over each take.

    ``noise`` scales the estimator model (:func:`har.train.motion.noise.estimator_noise`).
    """
    from har.models.tracks import sample_frames
    from har.train.motion import actor, take

    xs, aspects, ys, groups = [], [], [], []
    for g in actors:
        who = actor(seed, g)
        for k, action, t in ((k, a, t) for k, a in enumerate(actions) for t in range(takes)):
            tk = take(action, who, seed, g, t, window_s=seq_len * interval_s, noise=noise)
            track = sample_frames(tk.poses, tk.fps, interval_s)
            if len(track) < seq_len:
                continue
            starts = np.unique(np.linspace(0, len(track) - seq_len, per_take).round().astype(int))
            w = np.stack([track[a:a + seq_len] for a in starts]).astype(np.float32)
            w = w[np.isfinite(w[..., 0, 0]).mean(axis=-1) >= min_found]
            xs.append(w)
            aspects += [tk.aspect] * len(w)
            ys += [k] * len(w)
            groups += [g] * len(w)
    if not xs:
        return Windows(np.zeros((0, seq_len, 33, 5), np.float32), np.zeros(0, np.float32),
                       np.zeros(0, np.int32), np.zeros(0, np.int32))
    return Windows(np.concatenate(xs), np.asarray(aspects, np.float32), np.asarray(ys, np.int32),
                   np.asarray(groups, np.int32))


def window_features(w: Windows) -> np.ndarray:
    """``(N, seq_len, FEATURE_DIM)`` features, exactly as the device computes them from each window."""
    from har.edge.pose.features import FEATURE_DIM, window_features_from_array

    if not len(w.landmarks):
        return np.zeros((0, w.landmarks.shape[1], FEATURE_DIM), np.float32)
    return np.stack([window_features_from_array(x, aspect=float(a)) for x, a in zip(w.landmarks, w.aspects,
                                                                                     strict=True)])
