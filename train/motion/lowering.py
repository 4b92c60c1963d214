"""Actions that lower the body: bend down, squat, sit down, stand up and fall.

Sit down, stand up and fall are transitions: one event per take, placed so
that any window of the take holds most of it. Bend and squat repeat a
down-hold-up profile often enough that a 2 s window holds most of one.
"""

from __future__ import annotations

import numpy as np

from har.train.motion.body import Motion
from har.train.motion.curves import D, draw, ground_path, head_motion, rest_arms, sides, smooth, wobble


def _down_up(t, rng, style, hold):
    """0 -> 1 -> hold -> 0 profile, repeated; one cycle every 1.6-3.5 s, so any 2 s window holds most of one."""
    period = draw(rng, 1.6, 3.5) / style.energy
    c = (t / period + draw(rng, 0, 1)) % 1.0
    down = draw(rng, 0.25, 0.4)
    return np.where(c < down, smooth(c / down), np.where(c < down + hold, 1.0, smooth(1 - (c - down - hold) /
                                                                                          (1 - down - hold))))


def bend_down(t, rng, style):
    """Bend at the hips to the floor (to pick something up) and straighten again."""
    m = Motion(len(t))
    rest_arms(m, t, rng)
    b = _down_up(t, rng, style, draw(rng, 0.05, 0.25))
    depth = draw(rng, 70, 115) * D
    m.bend[:] = depth * b
    m.knee[:] = sides(t, draw(rng, 0, 40) * D * b, draw(rng, 0, 40) * D * b)
    m.hip_flex[:] = 0.4 * m.knee
    reach = draw(rng, 0, 25) * D
    m.sh_flex[:] = sides(t, (depth + reach) * b * draw(rng, 0.8, 1.0), (depth + reach) * b * draw(rng, 0.6, 1.0))
    m.head_pitch[:] = -draw(rng, 0, 25) * D * b
    m.heading[:] = wobble(t, rng, 5 * D, 0.2)
    return m


def squat(t, rng, style):
    """Knees and hips bend deep with the back fairly upright: an exercise, or going down to the floor."""
    m = Motion(len(t))
    rest_arms(m, t, rng)
    s = _down_up(t, rng, style, draw(rng, 0.0, 0.15))
    knee = draw(rng, 100, 135) * D
    m.knee[:] = sides(t, knee * s, knee * s)
    m.hip_flex[:] = sides(t, knee * s * draw(rng, 0.75, 1.0), knee * s * draw(rng, 0.75, 1.0))
    m.ankle[:] = 0.35 * m.knee
    m.bend[:] = draw(rng, 5, 35) * D * s
    arms = rng.choice(["forward", "hang", "hips"])
    if arms == "forward":
        m.sh_flex[:] = sides(t, draw(rng, 60, 95) * D * s, draw(rng, 60, 95) * D * s)
    elif arms == "hips":
        m.sh_abd[:] = 40 * D
        m.elbow[:] = 100 * D
        m.elbow_plane[:] = -80 * D  # forearms bend inwards onto the hips
    head_motion(m, t, rng, 4)
    return m


def _sit_profile(t, rng, style, rising: bool):
    """Seated fraction over time: one transition of 0.8-1.8 s centred in the take."""
    dur = draw(rng, 0.8, 1.8) / style.energy
    t0 = t[0] + (t[-1] - t[0]) / 2 - dur / 2 + draw(rng, -0.15, 0.15)
    x = smooth((t - t0) / dur)
    return (1 - x) if rising else x, np.clip((t - t0) / dur, 0, 1)


def _sitting(t, rng, style, rising):
    m = Motion(len(t))
    rest_arms(m, t, rng)
    seated, x = _sit_profile(t, rng, style, rising)
    hip, knee = draw(rng, 80, 100) * D, draw(rng, 75, 105) * D
    m.hip_flex[:] = sides(t, hip * seated, hip * seated)
    m.knee[:] = sides(t, knee * seated, knee * seated)
    m.bend[:] = draw(rng, 25, 45) * D * np.sin(np.pi * x) + draw(rng, -10, 5) * D * seated
    if rng.random() < 0.4:  # hands on the thighs / armrests
        m.sh_flex[:] = sides(t, 40 * D * seated + 30 * D * np.sin(np.pi * x), 40 * D * seated + 30 * D *
                              np.sin(np.pi * x))
    head_motion(m, t, rng, 6)
    return m


def sit_down(t, rng, style):
    return _sitting(t, rng, style, rising=False)


def stand_up(t, rng, style):
    return _sitting(t, rng, style, rising=True)


def fall(t, rng, style):
    """Lose balance and end up on the ground (forwards, backwards or sideways), then lie there."""
    m = Motion(len(t))
    rest_arms(m, t, rng)
    dur = draw(rng, 0.5, 1.2)
    t0 = t[0] + (t[-1] - t[0]) * draw(rng, 0.25, 0.45)
    x = smooth((t - t0) / dur)
    how = rng.choice(["forward", "backward", "left", "right"])
    angle = draw(rng, 75, 92) * D * x
    if how == "forward":
        m.body_pitch[:] = angle
    elif how == "backward":
        m.body_pitch[:] = -angle
    else:
        m.body_roll[:] = angle if how == "left" else -angle
    crumple = np.sin(np.pi * np.clip((t - t0) / dur, 0, 1))
    m.knee[:] = sides(t, draw(rng, 20, 70) * D * crumple, draw(rng, 20, 70) * D * crumple)
    m.hip_flex[:] = 0.6 * m.knee
    m.sh_flex[:] += sides(t, draw(rng, 60, 150) * D * crumple, draw(rng, 60, 150) * D * crumple)
    if rng.random() < 0.4:  # was walking
        direction = {"forward": 0.0, "backward": np.pi, "left": np.pi / 2, "right": -np.pi / 2}[how]
        m.root_xz[:], _ = ground_path(t, draw(rng, 0.4, 1.2) * (1 - x), direction, 0.0)
    m.root_xz += draw(rng, 0.3, 0.8) * x[:, None] * np.array([np.sin(m.heading[0]), np.cos(m.heading[0])])
    head_motion(m, t, rng, 10)
    return m
