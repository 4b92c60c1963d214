"""Score a pose bundle's head on freshly generated people: the check that a shipped model still does what it says.

Why a generated test set and not a stored one: the generator is
deterministic, so ``(seed, first_actor, actors)`` *is* the test set, and any
machine regenerates it in seconds. The actors start far beyond those any
training run uses (``first_actor`` 1000 by default), so the figures are on
people and cameras the head never saw. Scoring runs the bundle's own head
through the LiteRT interpreter on the same features the device computes;
no TensorFlow.
"""

from __future__ import annotations

import numpy as np

from har.train.errors import TrainError
from har.train.motion.actions import ACTIONS

TEST_FIRST_ACTOR = 1000


def test_windows(labels: list[str], seq_len: int, interval_s: float, min_found: float, actors: int = 24,
                 seed: int = 0, first_actor: int = TEST_FIRST_ACTOR, per_take: int = 4, noise: float = 1.0):
    """``(poses (N, T, 33, 5), aspects (N,), y (N,))`` of generated test takes of every label the vocabulary has."""
    from har.train.motion.windows import generated_windows

    missing = [lab for lab in labels if lab not in ACTIONS]
    if missing:
        raise TrainError(f"labels {', '.join(missing)} are not generated actions; only a head trained on the "
                         "motion vocabulary can be scored on generated people")
    w = generated_windows(list(labels), range(first_actor, first_actor + actors), seed, seq_len, interval_s,
                          per_take=per_take, min_found=min_found, noise=noise)
    return w.landmarks, w.aspects, w.y


def score_bundle(bundle, actors: int = 24, seed: int = 0, first_actor: int = TEST_FIRST_ACTOR,
                 landmark_every: int | None = None, noise: float = 1.0) -> dict:
    """Accuracy, per-class recall and the confusion matrix of ``bundle``'s head on generated test people.

    ``landmark_every`` scores the windows as a device running the landmark
    model on every k-th sampled frame shows them to the head (skipped frames
    interpolated, every phase of the pattern); None: the bundle's default mode.
    ``noise`` scales the estimator model the test people are seen through
    (1: as trained; more: a noisier landmark model, e.g. the lite one).
    """
    from har.edge.interpreter import TfliteModel
    from har.edge.pose.adapt import bundle_modes
    from har.edge.pose.features import window_features_from_array
    from har.edge.pose.modes import mark_windows

    min_found = float(bundle.metadata.get("pose", {}).get("min_found_fraction", 0.5))
    k = landmark_every or bundle_modes(bundle)[0].landmark_every
    poses, aspects, y = test_windows(bundle.labels, bundle.seq_len, bundle.interval_s, min_found, actors, seed,
                                     first_actor, noise=noise)
    poses = mark_windows(poses, (k,), seed)
    head = TfliteModel(bundle.model_file("head"))
    pred = np.array([int(np.argmax(head.run(window_features_from_array(p, float(a)))))
                     for p, a in zip(poses, aspects, strict=True)])
    n = len(bundle.labels)
    confusion = np.zeros((n, n), int)
    np.add.at(confusion, (y, pred), 1)
    recall = {lab: round(float(confusion[i, i] / max(confusion[i].sum(), 1)), 4) for i, lab in enumerate(bundle.labels)}
    return {"test_set": {"seed": seed, "first_actor": first_actor, "actors": actors, "windows": int(len(y)),
                         "landmark_every": k, **({"noise": noise} if noise != 1.0 else {})},
            "accuracy": round(float((pred == y).mean()), 4), "per_class_recall": recall,
            "confusion": confusion.tolist(), "labels": list(bundle.labels)}
