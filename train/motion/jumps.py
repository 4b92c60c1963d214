"""Jumping actions: jump forward, jump in place and the jumping jack.

Forward and in-place jumps are one crouch-fly-land cycle (:func:`_jumps`)
with different distance, height and arm swing.
"""

from __future__ import annotations

import numpy as np

from har.train.motion.body import Motion
from har.train.motion.curves import TAU, D, bump, draw, head_motion, sides, smooth


def _jumps(t, rng, style, freq, height, crouch, forward, arm_swing):
    m = Motion(len(t))
    c = (freq * t + draw(rng, 0, 1)) % 1.0
    cycles = np.floor(freq * t + c[0])
    fly = np.clip((c - 0.45) / 0.4, 0, 1)
    m.air[:] = height * 4 * fly * (1 - fly)
    squat = np.maximum(bump(c, 0.28, 0.09), 0.7 * bump(c, 0.93, 0.05))
    tuck = 0.35 * bump(c, 0.65, 0.08)
    m.knee[:] = sides(t, crouch * squat + crouch * tuck + 4 * D, crouch * squat + crouch * tuck + 4 * D)
    m.hip_flex[:] = sides(t, 0.7 * crouch * squat + crouch * tuck, 0.7 * crouch * squat + crouch * tuck)
    m.ankle[:] = sides(t, 0.3 * crouch * squat, 0.3 * crouch * squat)
    m.bend[:] = 0.45 * crouch * squat + draw(rng, 0, 6) * D
    swing = arm_swing * (np.cos(TAU * (c - 0.45)))
    m.sh_flex[:] = sides(t, swing + 10 * D, swing + 10 * D)
    m.elbow[:] = draw(rng, 10, 50) * D
    m.sh_abd[:] = draw(rng, 5, 20) * D
    dist = forward / freq
    m.root_xz[:, 1] = dist * (cycles + smooth(fly))
    m.root_xz[:, 1] -= m.root_xz[0, 1]
    head_motion(m, t, rng, 5)
    return m


def jump_forward(t, rng, style):
    return _jumps(t, rng, style, draw(rng, 1.1, 2.0) * style.energy, draw(rng, 0.1, 0.3), draw(rng, 45, 80) * D,
                  draw(rng, 0.8, 2.0), draw(rng, 30, 70) * D)


def jump_in_place(t, rng, style):
    arms = draw(rng, 0, 25) * D if rng.random() < 0.7 else draw(rng, 30, 60) * D
    return _jumps(t, rng, style, draw(rng, 1.4, 2.6) * style.energy, draw(rng, 0.05, 0.2), draw(rng, 20, 55) * D,
                  draw(rng, -0.05, 0.05), arms)


def jumping_jack(t, rng, style):
    """Arms from the sides to overhead and legs apart, hopping at each change."""
    m = Motion(len(t))
    f = draw(rng, 0.8, 1.6) * style.energy
    phase = TAU * f * t + draw(rng, 0, TAU)
    x = smooth(0.5 - 0.5 * np.cos(phase))
    # Half jacks go to shoulder height.
    top = draw(rng, 140, 178) * D if rng.random() > 0.15 else draw(rng, 80, 110) * D
    m.sh_abd[:] = sides(t, 8 * D + (top - 8 * D) * x, 8 * D + (top - 8 * D) * x)
    m.sh_flex[:] = draw(rng, 0, 20) * D
    m.elbow[:] = draw(rng, 5, 35) * D
    legs = draw(rng, 10, 24) * D if rng.random() > 0.1 else draw(rng, 0, 4) * D
    m.hip_abd[:] = sides(t, 2 * D + legs * x, 2 * D + legs * x)
    m.air[:] = draw(rng, 0.03, 0.12) * np.sin(phase) ** 2
    land = 15 * D * np.cos(phase) ** 2
    m.knee[:] = sides(t, land + 4 * D, land + 4 * D)
    m.hip_flex[:] = sides(t, 0.5 * land, 0.5 * land)
    head_motion(m, t, rng, 4)
    return m
