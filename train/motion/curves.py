"""What every action generator is built from: per-actor style, random draws, curves and resting poses.

The generators in :mod:`.locomotion`, :mod:`.jumps`, :mod:`.standing` and
:mod:`.lowering` describe a motion as joint angles over time; these are the
pieces they share, kept in one place so that a change to, say, how arms hang
reaches every action that lets them hang. Angles are in radians (``D`` turns
degrees into radians), times in seconds, cycle positions in fractions of a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from har.train.motion.body import Motion

D = np.pi / 180.0  # degrees -> radians
TAU = 2 * np.pi


@dataclass(frozen=True)
class Style:
    """Per-actor habits that carry across that actor's actions."""

    energy: float = 1.0  # tempo and reach, ~0.85-1.15
    handed: int = 0  # 0 right-handed, 1 left-handed: the side one-sided actions prefer
    arm_swing: float = 1.0  # how much the arms move in locomotion


def draw(rng, lo, hi):
    """One uniform draw in ``[lo, hi)`` as a plain float."""
    return float(rng.uniform(lo, hi))


def bump(c, centre, width):
    """A periodic bump of height 1 at ``centre`` (fraction of a cycle) and ``width`` (fraction) across."""
    return np.exp((np.cos(TAU * (c - centre)) - 1.0) / (TAU * width) ** 2)


def smooth(x):
    """Smoothstep on ``[0, 1]``: eases in and out, so no joint jumps at a transition."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def wobble(t, rng, amp, freq=0.4):
    """Slow random drift: a few incommensurate sines, amplitude ``amp``."""
    out = np.zeros_like(t)
    for _ in range(3):
        out += np.sin(TAU * draw(rng, 0.3, 1.0) * freq * t + draw(rng, 0, TAU))
    return amp * out / 3


def sides(t, left, right):
    """A ``(len(t), 2)`` left/right array from two scalars or per-frame values."""
    return np.stack([np.broadcast_to(np.asarray(left, float), t.shape), np.broadcast_to(np.asarray(right, float),
                                                                                      t.shape)], -1)


def ground_path(t, speed, heading0, turn_rate):
    """Hip-midpoint ground path for forward motion at ``speed`` (scalar or per frame), turning gently."""
    heading = heading0 + turn_rate * t
    dt = np.diff(t, prepend=t[0])
    v = np.broadcast_to(speed, t.shape) * dt
    return np.stack([np.cumsum(v * np.sin(heading)), np.cumsum(v * np.cos(heading))], -1), heading


def rest_arms(m: Motion, t, rng):
    """Arms hanging, slightly away from the body, drifting a little."""
    m.sh_abd[:] = sides(t, draw(rng, 3, 12) * D + wobble(t, rng, 2 * D),
                        draw(rng, 3, 12) * D + wobble(t, rng, 2 * D))
    m.elbow[:] = sides(t, draw(rng, 5, 25) * D, draw(rng, 5, 25) * D)
    m.sh_flex[:] = sides(t, wobble(t, rng, 4 * D), wobble(t, rng, 4 * D))


def head_motion(m: Motion, t, rng, look=10.0):
    """A slight nod and a look around of about ``look`` degrees, on top of what the action set."""
    m.head_pitch += draw(rng, -8, 12) * D + wobble(t, rng, 3 * D)
    m.head_yaw += wobble(t, rng, look * D, 0.3)
