"""Procedural human motion: generated people, actions and cameras seen through BlazePose's eyes.

Trains the pose head without a single real video (docs/motion.md):
:mod:`body` (a parametric skeleton giving BlazePose's 33 landmarks),
:mod:`actions` (the vocabulary, each action a family of motions, generated in
:mod:`locomotion`, :mod:`jumps`, :mod:`standing` and :mod:`lowering` from :mod:`curves`),
:mod:`camera` (where the camera stands and how it projects),
:mod:`noise` (what the estimator does to perfect keypoints),
:mod:`generate` (one take), :mod:`dataset` (takes on disk) and
:mod:`preview` (pictures and videos of them).
"""

from har.models.tracks import TRACK_SUFFIX, MotionError, read_track, sampled_track
from har.train.motion.actions import ACTIONS
from har.train.motion.dataset import write_dataset
from har.train.motion.generate import Take, actor, take

__all__ = ["ACTIONS", "TRACK_SUFFIX", "MotionError", "Take", "actor", "read_track", "sampled_track", "take",
           "write_dataset"]
