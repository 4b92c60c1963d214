"""Actions done standing in one spot: idle, waving, clapping, boxing and kicking.

The arms carry these actions (kick aside), so each draws a style variant per
take (how the arms hang while idle, which wave, how high the clap) rather
than one canonical gesture; see :mod:`.actions` for why.
"""

from __future__ import annotations

import numpy as np

from har.train.motion.body import Motion
from har.train.motion.curves import TAU, D, bump, draw, head_motion, rest_arms, sides, wobble


def idle(t, rng, style):
    """Standing (or, in one take in seven, sitting) with the small motions of a person doing nothing much."""
    m = Motion(len(t))
    rest_arms(m, t, rng)
    variant = rng.choice(["hang", "hang", "crossed", "hips", "phone", "behind", "talk"])
    if variant == "crossed":
        m.sh_flex[:] = 35 * D
        m.sh_horiz[:] = -45 * D
        m.elbow[:] = draw(rng, 100, 125) * D
    elif variant == "hips":
        m.sh_abd[:] = draw(rng, 30, 50) * D
        m.elbow[:] = draw(rng, 90, 115) * D
        m.elbow_plane[:] = -80 * D  # forearms bend inwards onto the hips
    elif variant == "phone":
        m.sh_flex[:] = draw(rng, 15, 30) * D
        m.elbow[:] = draw(rng, 80, 105) * D
        m.head_pitch[:] = draw(rng, 15, 35) * D
    elif variant == "behind":
        m.sh_flex[:] = -20 * D
        m.elbow[:] = draw(rng, 20, 50) * D
    elif variant == "talk":  # small hand gestures in front of the body
        for s in (0, 1):
            m.sh_flex[:, s] = draw(rng, 10, 30) * D + wobble(t, rng, 12 * D, 1.2)
            m.elbow[:, s] = draw(rng, 60, 95) * D + wobble(t, rng, 15 * D, 1.2)
    m.root_xz[:] = np.stack([wobble(t, rng, 0.02, 0.3), wobble(t, rng, 0.02, 0.3)], -1)
    shift = wobble(t, rng, 4 * D, 0.2)
    m.hip_abd[:] = sides(t, shift, -shift)
    m.lean[:] = wobble(t, rng, 2 * D, 0.2)
    m.heading[:] = wobble(t, rng, 8 * D, 0.15)
    if rng.random() < 0.15:  # seated
        m.hip_flex[:] = draw(rng, 80, 100) * D
        m.knee[:] = draw(rng, 75, 105) * D
        m.bend[:] = draw(rng, -15, 10) * D
    head_motion(m, t, rng, look=15)
    return m


def _wave_arm(m, t, rng, s, f, phase, variant):
    if variant == "arc":  # the whole arm sweeps overhead
        mid, amp = draw(rng, 115, 150) * D, draw(rng, 20, 50) * D
        m.sh_abd[:, s] = mid + amp * np.sin(TAU * f * t + phase)
        m.sh_flex[:, s] = draw(rng, -5, 25) * D
        m.elbow[:, s] = draw(rng, 5, 40) * D
        m.elbow_plane[:, s] = 90 * D
    elif variant == "big":  # from the side up over the head and back (KTH's hand waving)
        lo, hi = draw(rng, 40, 90) * D, draw(rng, 150, 178) * D
        m.sh_abd[:, s] = lo + (hi - lo) * (0.5 - 0.5 * np.cos(TAU * f * t + phase))
        m.sh_flex[:, s] = draw(rng, 0, 25) * D
        m.elbow[:, s] = draw(rng, 5, 30) * D
    else:  # hand up, forearm wagging side to side
        m.sh_abd[:, s] = draw(rng, 60, 110) * D
        m.sh_flex[:, s] = draw(rng, 0, 40) * D
        m.elbow_plane[:, s] = draw(rng, 75, 100) * D
        m.elbow[:, s] = draw(rng, 70, 110) * D + draw(rng, 15, 35) * D * np.sin(TAU * f * t + phase)


def wave_one_hand(t, rng, style):
    m = Motion(len(t))
    rest_arms(m, t, rng)
    s = style.handed if rng.random() < 0.8 else 1 - style.handed
    variant = rng.choice(["arc", "big", "wag"])
    f = draw(rng, 0.7, 1.8) if variant != "wag" else draw(rng, 1.5, 3.5)
    _wave_arm(m, t, rng, s, f * style.energy, draw(rng, 0, TAU), variant)
    head_motion(m, t, rng, 8)
    m.heading[:] = wobble(t, rng, 5 * D, 0.2)
    return m


def wave_two_hands(t, rng, style):
    m = Motion(len(t))
    variant = rng.choice(["arc", "big", "big", "wag"])
    f = (draw(rng, 0.6, 1.6) if variant != "wag" else draw(rng, 1.5, 3.5)) * style.energy
    phase = draw(rng, 0, TAU)
    sub = np.random.default_rng(rng.integers(1 << 31))
    _wave_arm(m, t, sub, 0, f, phase, variant)
    sub = np.random.default_rng(rng.integers(1 << 31))
    _wave_arm(m, t, sub, 1, f, phase + (0.0 if rng.random() < 0.75 else np.pi), variant)
    head_motion(m, t, rng, 6)
    m.heading[:] = wobble(t, rng, 5 * D, 0.2)
    return m


def clap(t, rng, style):
    """Hands meet in front of the body (or overhead), two to four times a second."""
    m = Motion(len(t))
    f = draw(rng, 1.5, 4.0) * style.energy
    phase = TAU * f * t + draw(rng, 0, TAU)
    opening = 0.5 + 0.5 * np.cos(phase)
    high = rng.random() < 0.15
    flex = draw(rng, 140, 165) * D if high else draw(rng, 35, 80) * D
    m.sh_flex[:] = sides(t, flex + 5 * D * opening, flex + 5 * D * opening)
    m.sh_horiz[:] = sides(t, -draw(rng, 15, 30) * D + draw(rng, 20, 45) * D * opening,
                           -draw(rng, 15, 30) * D + draw(rng, 20, 45) * D * opening)
    m.elbow[:] = sides(t, draw(rng, 50, 95) * D - 15 * D * opening, draw(rng, 50, 95) * D - 15 * D * opening)
    m.sh_abd[:] = draw(rng, 5, 20) * D
    head_motion(m, t, rng, 6)
    return m


def box(t, rng, style):
    """Guard up, alternating punches straight ahead, the shoulders turning into each punch."""
    m = Motion(len(t))
    f = draw(rng, 0.6, 1.5) * style.energy  # per arm: 1.2-3 punches a second in all
    c = (f * t + draw(rng, 0, 1)) % 1.0
    guard_flex, guard_abd, guard_elbow = draw(rng, 45, 75) * D, draw(rng, 10, 35) * D, draw(rng, 105, 140) * D
    reach = draw(rng, 75, 100) * D
    for s, off in ((0, 0.0), (1, 0.5)):
        p = bump(c, off + 0.25, 0.06)
        if rng.random() < 0.2:  # double jab with one arm
            p = np.maximum(p, bump(c, off + 0.4, 0.05))
        m.sh_flex[:, s] = guard_flex + (reach - guard_flex) * p
        m.sh_abd[:, s] = guard_abd * (1 - 0.7 * p)
        m.elbow[:, s] = guard_elbow * (1 - 0.9 * p)
        m.elbow_plane[:, s] = draw(rng, 20, 60) * D * (1 - p)
    punch = bump(c, 0.25, 0.06) - bump(c, 0.75, 0.06)
    m.twist[:] = -draw(rng, 8, 22) * D * punch
    stance = draw(rng, 5, 15) * D
    m.hip_flex[:] = sides(t, stance, -stance * 0.6)
    bounce = 0.5 + 0.5 * np.cos(TAU * draw(rng, 1.5, 2.5) * t)
    m.knee[:] = sides(t, draw(rng, 8, 20) * D * bounce + 5 * D, draw(rng, 8, 20) * D * bounce + 5 * D)
    m.bend[:] = draw(rng, 3, 12) * D
    m.head_pitch[:] = draw(rng, 0, 12) * D
    m.heading[:] = draw(rng, -25, 25) * D + wobble(t, rng, 6 * D, 0.3)
    return m


def kick(t, rng, style):
    """Chamber, extend, retract: front kicks (or side kicks) with one leg, about one a second."""
    m = Motion(len(t))
    rest_arms(m, t, rng)
    period = draw(rng, 0.8, 1.6) / style.energy
    c = (t / period + draw(rng, 0, 1)) % 1.0
    s = style.handed if rng.random() < 0.7 else 1 - style.handed
    chamber = np.maximum(bump(c, 0.3, 0.07), bump(c, 0.52, 0.07))
    extend = bump(c, 0.41, 0.05)
    if rng.random() < 0.75:  # front kick
        m.hip_flex[:, s] = draw(rng, 50, 70) * D * chamber + draw(rng, 60, 100) * D * extend
        m.bend[:] = -draw(rng, 0, 15) * D * extend
    else:  # side kick
        m.hip_abd[:, s] = draw(rng, 30, 50) * D * chamber + draw(rng, 45, 75) * D * extend
        m.hip_flex[:, s] = 30 * D * chamber
        m.lean[:] = (-1 if s == 0 else 1) * draw(rng, 10, 30) * D * (chamber + extend)
    m.knee[:, s] = draw(rng, 80, 110) * D * chamber + 10 * D * extend + 5 * D
    m.knee[:, 1 - s] = draw(rng, 5, 20) * D
    if rng.random() < 0.5:  # arms up for balance or guard
        m.sh_flex[:] = draw(rng, 30, 70) * D
        m.elbow[:] = draw(rng, 60, 120) * D
    head_motion(m, t, rng, 4)
    return m
