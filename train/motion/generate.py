"""Takes: one actor, one action, one camera, turned into exactly what the device's estimator returns.

A take is a few seconds of one generated person doing one action, seen by
one random camera at a real frame rate (15-30 fps), through the estimator's
noise: ``(N, 33, 5)`` float32 landmarks per frame (x, y in frame fractions,
z, visibility, presence), NaN rows where nobody was found, plus the frame's
aspect ratio: the same array :func:`har.edge.pose.features.pose_array`
makes from ``PoseEstimator.process`` results. Training then samples the
take's frames with the device's own ``IntervalSampler`` and computes
``window_features`` exactly as it does for a real video (one path).

Everything is drawn from ``numpy.random.Generator`` streams seeded by
``(seed, actor, action, take)``, so a take does not change when other
actions or more actors are added, and the same arguments give the same
bytes on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from har.train.motion.actions import ACTIONS, TRANSITIONS, TRAVELLING, Style, idle
from har.train.motion.body import Body, Motion, landmarks_3d
from har.train.motion.camera import project, sample_camera
from har.train.motion.noise import estimator_noise, mirror_names

GENERATOR_VERSION = 1
FPS_CHOICES = (15.0, 24.0, 25.0, 30.0)
FPS_P = (0.15, 0.15, 0.3, 0.4)


@dataclass
class Take:
    poses: np.ndarray  # (N, 33, 5) float32, NaN rows where the estimator would find nobody
    fps: float
    aspect: float  # frame width / height
    action: str
    facts: dict


@dataclass(frozen=True)
class Actor:
    body: Body
    style: Style


def actor(seed: int, index: int) -> Actor:
    """Actor ``index`` of generator ``seed``: body proportions and habits, the same in every action."""
    rng = np.random.default_rng([seed, index, 0xAC7])
    body = Body.sample(rng)
    style = Style(energy=float(np.clip(rng.normal(1.0, 0.1), 0.8, 1.2)), handed=int(rng.random() < 0.12),
                  arm_swing=float(rng.uniform(0.6, 1.3)))
    return Actor(body, style)


def _blend(a: Motion, b: Motion, w: np.ndarray) -> Motion:
    out = Motion(a.n)
    for f in fields(Motion):
        if f.name != "n":
            x, y = getattr(a, f.name), getattr(b, f.name)
            ww = w.reshape(-1, *([1] * (x.ndim - 1)))
            setattr(out, f.name, x * (1 - ww) + y * ww)
    return out


def take(action: str, who: Actor, seed: int, actor_index: int, take_index: int, window_s: float = 2.0,
         noise: float = 1.0) -> Take:
    """One take of ``action`` by ``who``; ``noise`` scales the estimator model (0: perfect keypoints)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; choose from {', '.join(sorted(ACTIONS))}")
    rng = np.random.default_rng([seed, actor_index, sorted(ACTIONS).index(action), take_index])
    fps = float(rng.choice(FPS_CHOICES, p=FPS_P))
    duration = window_s + rng.uniform(0.3, 0.9) if action in TRANSITIONS else rng.uniform(3.0, 7.0)
    t = np.arange(int(round(duration * fps))) / fps
    motion = ACTIONS[action](t, rng, who.style)
    if action not in TRANSITIONS and action != "idle" and rng.random() < 0.2:  # starts from standing
        lead = rng.uniform(0.3, 1.0)
        motion = _blend(idle(t, rng, who.style), motion, np.clip(t / lead, 0, 1) ** 2 * (3 - 2 * np.clip(t / lead, 0, 1)))
    heading0 = rng.uniform(-np.pi, np.pi)
    motion.heading = motion.heading + heading0
    xz = motion.root_xz
    c, s = np.cos(heading0), np.sin(heading0)
    motion.root_xz = np.stack([c * xz[:, 0] + s * xz[:, 1], -s * xz[:, 0] + c * xz[:, 1]], -1)
    world = landmarks_3d(who.body, motion)
    cam = sample_camera(rng, world, heading0, fps, action in TRAVELLING)
    proj, depth = project(cam, world)
    poses, facts = estimator_noise(rng, proj, depth, (cam.width, cam.height), fps, scale=noise)
    yaw = cam.yaw_deg % 360
    if noise and 130 < yaw < 230 and rng.random() < 0.35:  # a back taken for a front
        poses = mirror_names(poses)
        facts["mirrored"] = True
    facts.update(camera=cam.describe(), fps=fps, frames=len(t))
    return Take(poses.astype(np.float32), fps, float(np.float32(cam.aspect)), action, facts)
