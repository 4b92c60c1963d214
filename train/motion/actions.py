"""The action vocabulary: each action is a *family* of motions with its own random parameters.

Why families and not clips: a head trained on one canonical jumping jack
learns that jack. Each generator here draws its tempo, amplitudes, style
variant and handedness per take, around values from the biomechanics
literature (walking about 1.6-2.1 steps/s at 1.0-1.6 m/s, jogging 2.4-2.8
steps/s at 2-3 m/s, running 2.7-3.4 steps/s above 3 m/s with a flight phase)
and from what BlazePose reports on real clips, so the head has to learn what
all jacks share. ``style.energy`` (per actor) scales tempo and reach a little:
one actor is brisk in every action, another slow.

Every generator takes ``(t, rng, style)``: ``t`` the frame times in seconds,
and returns a :class:`~har.train.motion.body.Motion`. Transitions (sit down,
stand up, fall) place their event so that any window of the take holds most
of it; cyclic actions may start from standing (a lead-in).
"""

from __future__ import annotations

from collections.abc import Callable
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


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def _bump(c, centre, width):
    """A periodic bump of height 1 at ``centre`` (fraction of a cycle) and ``width`` (fraction) across."""
    return np.exp((np.cos(TAU * (c - centre)) - 1.0) / (TAU * width) ** 2)


def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _wobble(t, rng, amp, freq=0.4):
    """Slow random drift: a few incommensurate sines, amplitude ``amp``."""
    out = np.zeros_like(t)
    for _ in range(3):
        out += np.sin(TAU * _u(rng, 0.3, 1.0) * freq * t + _u(rng, 0, TAU))
    return amp * out / 3


def _sides(t, left, right):
    return np.stack([np.broadcast_to(np.asarray(left, float), t.shape), np.broadcast_to(np.asarray(right, float),
                                                                                      t.shape)], -1)


def _path(t, speed, heading0, turn_rate):
    """Hip-midpoint ground path for forward motion at ``speed`` (scalar or per frame), turning gently."""
    heading = heading0 + turn_rate * t
    dt = np.diff(t, prepend=t[0])
    v = np.broadcast_to(speed, t.shape) * dt
    return np.stack([np.cumsum(v * np.sin(heading)), np.cumsum(v * np.cos(heading))], -1), heading


def _rest_arms(m: Motion, t, rng):
    """Arms hanging, slightly away from the body, drifting a little."""
    m.sh_abd[:] = _sides(t, _u(rng, 3, 12) * D + _wobble(t, rng, 2 * D), _u(rng, 3, 12) * D + _wobble(t, rng, 2 * D))
    m.elbow[:] = _sides(t, _u(rng, 5, 25) * D, _u(rng, 5, 25) * D)
    m.sh_flex[:] = _sides(t, _wobble(t, rng, 4 * D), _wobble(t, rng, 4 * D))


def _head(m: Motion, t, rng, look=10.0):
    m.head_pitch += _u(rng, -8, 12) * D + _wobble(t, rng, 3 * D)
    m.head_yaw += _wobble(t, rng, look * D, 0.3)


# ---- standing still, sitting still ------------------------------------------------------------------------------

def idle(t, rng, style):
    """Standing (or, in one take in seven, sitting) with the small motions of a person doing nothing much."""
    m = Motion(len(t))
    _rest_arms(m, t, rng)
    variant = rng.choice(["hang", "hang", "crossed", "hips", "phone", "behind", "talk"])
    if variant == "crossed":
        m.sh_flex[:] = 35 * D
        m.sh_horiz[:] = -45 * D
        m.elbow[:] = _u(rng, 100, 125) * D
    elif variant == "hips":
        m.sh_abd[:] = _u(rng, 30, 50) * D
        m.elbow[:] = _u(rng, 90, 115) * D
        m.elbow_plane[:] = -80 * D  # forearms bend inwards onto the hips
    elif variant == "phone":
        m.sh_flex[:] = _u(rng, 15, 30) * D
        m.elbow[:] = _u(rng, 80, 105) * D
        m.head_pitch[:] = _u(rng, 15, 35) * D
    elif variant == "behind":
        m.sh_flex[:] = -20 * D
        m.elbow[:] = _u(rng, 20, 50) * D
    elif variant == "talk":  # small hand gestures in front of the body
        for s in (0, 1):
            m.sh_flex[:, s] = _u(rng, 10, 30) * D + _wobble(t, rng, 12 * D, 1.2)
            m.elbow[:, s] = _u(rng, 60, 95) * D + _wobble(t, rng, 15 * D, 1.2)
    m.root_xz[:] = np.stack([_wobble(t, rng, 0.02, 0.3), _wobble(t, rng, 0.02, 0.3)], -1)
    shift = _wobble(t, rng, 4 * D, 0.2)
    m.hip_abd[:] = _sides(t, shift, -shift)
    m.lean[:] = _wobble(t, rng, 2 * D, 0.2)
    m.heading[:] = _wobble(t, rng, 8 * D, 0.15)
    if rng.random() < 0.15:  # seated
        m.hip_flex[:] = _u(rng, 80, 100) * D
        m.knee[:] = _u(rng, 75, 105) * D
        m.bend[:] = _u(rng, -15, 10) * D
    _head(m, t, rng, look=15)
    return m


# ---- locomotion -------------------------------------------------------------------------------------------------

def _gait(t, rng, style, cadence, speed, hip_amp, knee_swing, knee_stance, swing_at, arm_amp, elbow, lean, flight):
    m = Motion(len(t))
    phase = TAU * cadence / 2 * t + _u(rng, 0, TAU)
    turn = _u(rng, -25, 25) * D if rng.random() < 0.4 else 0.0
    ramp = _smooth(t / _u(rng, 0.3, 0.9)) if rng.random() < 0.2 else 1.0  # starting from standing
    m.root_xz[:], m.heading[:] = _path(t, speed * ramp, 0.0, turn)
    for s, off in ((0, 0.0), (1, np.pi)):
        c = ((phase + off) / TAU) % 1.0
        m.hip_flex[:, s] = (_u(rng, 3, 8) * D + hip_amp * np.cos(phase + off + 0.5)) * ramp  # peaks late in swing
        m.knee[:, s] = (knee_stance * _bump(c, 0.13, 0.07) + knee_swing * _bump(c, swing_at, 0.11) + 4 * D) * \
            (0.3 + 0.7 * ramp)
        m.ankle[:, s] = 8 * D * np.sin(phase + off + 0.6)
        m.sh_flex[:, s] = (-arm_amp * np.cos(phase + off) + _u(rng, 0, 10) * D) * ramp
        m.elbow[:, s] = elbow + 0.3 * elbow * np.cos(phase + off)
        m.sh_abd[:, s] = _u(rng, 6, 16) * D
    m.hip_abd[:] = _sides(t, 3 * D * np.cos(phase), -3 * D * np.cos(phase))
    m.bend[:] = lean * ramp + 2 * D * np.cos(2 * phase)
    m.twist[:] = _u(rng, 3, 8) * D * np.cos(phase) * ramp
    m.lean[:] = 2 * D * np.sin(phase)
    if flight:
        m.air[:] = flight * np.clip(np.sin(2 * phase - 1.2), 0, None) ** 1.5 * ramp
    _head(m, t, rng, look=5)
    return m


def walk(t, rng, style):
    e = style.energy
    cadence = _u(rng, 1.6, 2.1) * (0.95 + 0.05 * e)
    step = _u(rng, 0.55, 0.8) * e
    arm = _u(rng, 12, 35) * D * style.arm_swing if rng.random() > 0.15 else _u(rng, 0, 6) * D  # hands in pockets
    return _gait(t, rng, style, cadence, cadence * step, _u(rng, 17, 25) * D, _u(rng, 50, 65) * D,
                 _u(rng, 8, 20) * D, 0.72, arm, _u(rng, 8, 30) * D, _u(rng, 0, 6) * D, 0.0)


def jog(t, rng, style):
    e = style.energy
    cadence = _u(rng, 2.3, 2.8)
    speed = _u(rng, 1.8, 3.2) * e
    return _gait(t, rng, style, cadence, speed, _u(rng, 24, 32) * D, _u(rng, 75, 100) * D, _u(rng, 25, 40) * D,
                 0.64, _u(rng, 20, 40) * D * style.arm_swing, _u(rng, 65, 95) * D, _u(rng, 3, 9) * D,
                 _u(rng, 0.03, 0.07))


def run(t, rng, style):
    e = style.energy
    cadence = _u(rng, 2.7, 3.4)
    speed = _u(rng, 3.2, 6.0) * e
    return _gait(t, rng, style, cadence, speed, _u(rng, 32, 45) * D, _u(rng, 95, 125) * D, _u(rng, 30, 45) * D,
                 0.6, _u(rng, 35, 60) * D * style.arm_swing, _u(rng, 75, 100) * D, _u(rng, 6, 14) * D,
                 _u(rng, 0.05, 0.11))


def skip(t, rng, style):
    """Step-hop, step-hop: a high knee and a big opposite arm swing, bouncing forward."""
    m = Motion(len(t))
    f = _u(rng, 1.0, 1.5) * style.energy
    phase = TAU * f * t + _u(rng, 0, TAU)
    m.root_xz[:], m.heading[:] = _path(t, _u(rng, 1.2, 2.6), 0.0, _u(rng, -15, 15) * D)
    lift, arm = _u(rng, 50, 85) * D, _u(rng, 35, 75) * D
    for s, off in ((0, 0.0), (1, 0.5)):
        c = (phase / TAU + off) % 1.0
        m.hip_flex[:, s] = lift * _bump(c, 0.35, 0.1) - 10 * D * _bump(c, 0.85, 0.1)
        m.knee[:, s] = _u(rng, 70, 100) * D * _bump(c, 0.33, 0.1) + 15 * D * _bump(c, 0.85, 0.08)
        m.sh_flex[:, s] = arm * np.cos(TAU * (c - 0.85))
        m.elbow[:, s] = _u(rng, 30, 80) * D
        m.sh_abd[:, s] = _u(rng, 8, 20) * D
    m.air[:] = _u(rng, 0.08, 0.18) * np.clip(np.sin(2 * phase), 0, None)
    m.bend[:] = _u(rng, 0, 8) * D
    _head(m, t, rng, 5)
    return m


def side_gallop(t, rng, style):
    """Sideways gallop: the leading leg steps out, the trailing leg closes, a short flight, facing sideways."""
    m = Motion(len(t))
    f = _u(rng, 1.6, 2.6) * style.energy
    c = (f * t + _u(rng, 0, 1)) % 1.0
    lead = int(rng.integers(2))  # 0: moving to the body's left
    speed = _u(rng, 1.0, 2.4)
    direction = np.pi / 2 if lead == 0 else -np.pi / 2
    m.root_xz[:], _ = _path(t, speed, direction, 0.0)
    m.heading[:] = _wobble(t, rng, 5 * D, 0.3)
    spread = _u(rng, 14, 28) * D
    m.hip_abd[:, lead] = 4 * D + spread * _bump(c, 0.3, 0.12)
    m.hip_abd[:, 1 - lead] = 4 * D + 0.5 * spread * _bump(c, 0.65, 0.12)
    m.knee[:] = _sides(t, 12 * D * _bump(c, 0.9, 0.08) + 5 * D, 12 * D * _bump(c, 0.9, 0.08) + 5 * D)
    m.air[:] = _u(rng, 0.05, 0.14) * _bump(c, 0.6, 0.12)
    if rng.random() < 0.5:  # arms out to the sides, flapping with the gallop
        m.sh_abd[:] = _sides(t, _u(rng, 40, 90) * D + 12 * D * np.sin(TAU * c), _u(rng, 40, 90) * D + 12 * D *
                             np.sin(TAU * c))
    else:
        _rest_arms(m, t, rng)
        m.sh_abd += _sides(t, 10 * D * _bump(c, 0.5, 0.15), 10 * D * _bump(c, 0.5, 0.15))
    _head(m, t, rng, 5)
    return m


# ---- jumps ------------------------------------------------------------------------------------------------------

def _jumps(t, rng, style, freq, height, crouch, forward, arm_swing):
    m = Motion(len(t))
    c = (freq * t + _u(rng, 0, 1)) % 1.0
    cycles = np.floor(freq * t + c[0])
    fly = np.clip((c - 0.45) / 0.4, 0, 1)
    m.air[:] = height * 4 * fly * (1 - fly)
    squat = np.maximum(_bump(c, 0.28, 0.09), 0.7 * _bump(c, 0.93, 0.05))
    tuck = 0.35 * _bump(c, 0.65, 0.08)
    m.knee[:] = _sides(t, crouch * squat + crouch * tuck + 4 * D, crouch * squat + crouch * tuck + 4 * D)
    m.hip_flex[:] = _sides(t, 0.7 * crouch * squat + crouch * tuck, 0.7 * crouch * squat + crouch * tuck)
    m.ankle[:] = _sides(t, 0.3 * crouch * squat, 0.3 * crouch * squat)
    m.bend[:] = 0.45 * crouch * squat + _u(rng, 0, 6) * D
    swing = arm_swing * (np.cos(TAU * (c - 0.45)))
    m.sh_flex[:] = _sides(t, swing + 10 * D, swing + 10 * D)
    m.elbow[:] = _u(rng, 10, 50) * D
    m.sh_abd[:] = _u(rng, 5, 20) * D
    dist = forward / freq
    m.root_xz[:, 1] = dist * (cycles + _smooth(fly))
    m.root_xz[:, 1] -= m.root_xz[0, 1]
    _head(m, t, rng, 5)
    return m


def jump_forward(t, rng, style):
    return _jumps(t, rng, style, _u(rng, 1.1, 2.0) * style.energy, _u(rng, 0.1, 0.3), _u(rng, 45, 80) * D,
                  _u(rng, 0.8, 2.0), _u(rng, 30, 70) * D)


def jump_in_place(t, rng, style):
    arms = _u(rng, 0, 25) * D if rng.random() < 0.7 else _u(rng, 30, 60) * D
    return _jumps(t, rng, style, _u(rng, 1.4, 2.6) * style.energy, _u(rng, 0.05, 0.2), _u(rng, 20, 55) * D,
                  _u(rng, -0.05, 0.05), arms)


def jumping_jack(t, rng, style):
    """Arms from the sides to overhead and legs apart, hopping at each change."""
    m = Motion(len(t))
    f = _u(rng, 0.8, 1.6) * style.energy
    phase = TAU * f * t + _u(rng, 0, TAU)
    x = _smooth(0.5 - 0.5 * np.cos(phase))
    top = _u(rng, 140, 178) * D if rng.random() > 0.15 else _u(rng, 80, 110) * D  # half jacks: to shoulder height
    m.sh_abd[:] = _sides(t, 8 * D + (top - 8 * D) * x, 8 * D + (top - 8 * D) * x)
    m.sh_flex[:] = _u(rng, 0, 20) * D
    m.elbow[:] = _u(rng, 5, 35) * D
    legs = _u(rng, 10, 24) * D if rng.random() > 0.1 else _u(rng, 0, 4) * D
    m.hip_abd[:] = _sides(t, 2 * D + legs * x, 2 * D + legs * x)
    m.air[:] = _u(rng, 0.03, 0.12) * np.sin(phase) ** 2
    land = 15 * D * np.cos(phase) ** 2
    m.knee[:] = _sides(t, land + 4 * D, land + 4 * D)
    m.hip_flex[:] = _sides(t, 0.5 * land, 0.5 * land)
    _head(m, t, rng, 4)
    return m


# ---- arms -------------------------------------------------------------------------------------------------------

def _wave_arm(m, t, rng, s, f, phase, variant):
    if variant == "arc":  # the whole arm sweeps overhead
        mid, amp = _u(rng, 115, 150) * D, _u(rng, 20, 50) * D
        m.sh_abd[:, s] = mid + amp * np.sin(TAU * f * t + phase)
        m.sh_flex[:, s] = _u(rng, -5, 25) * D
        m.elbow[:, s] = _u(rng, 5, 40) * D
        m.elbow_plane[:, s] = 90 * D
    elif variant == "big":  # from the side up over the head and back (KTH's hand waving)
        lo, hi = _u(rng, 40, 90) * D, _u(rng, 150, 178) * D
        m.sh_abd[:, s] = lo + (hi - lo) * (0.5 - 0.5 * np.cos(TAU * f * t + phase))
        m.sh_flex[:, s] = _u(rng, 0, 25) * D
        m.elbow[:, s] = _u(rng, 5, 30) * D
    else:  # hand up, forearm wagging side to side
        m.sh_abd[:, s] = _u(rng, 60, 110) * D
        m.sh_flex[:, s] = _u(rng, 0, 40) * D
        m.elbow_plane[:, s] = _u(rng, 75, 100) * D
        m.elbow[:, s] = _u(rng, 70, 110) * D + _u(rng, 15, 35) * D * np.sin(TAU * f * t + phase)


def wave_one_hand(t, rng, style):
    m = Motion(len(t))
    _rest_arms(m, t, rng)
    s = style.handed if rng.random() < 0.8 else 1 - style.handed
    variant = rng.choice(["arc", "big", "wag"])
    f = _u(rng, 0.7, 1.8) if variant != "wag" else _u(rng, 1.5, 3.5)
    _wave_arm(m, t, rng, s, f * style.energy, _u(rng, 0, TAU), variant)
    _head(m, t, rng, 8)
    m.heading[:] = _wobble(t, rng, 5 * D, 0.2)
    return m


def wave_two_hands(t, rng, style):
    m = Motion(len(t))
    variant = rng.choice(["arc", "big", "big", "wag"])
    f = (_u(rng, 0.6, 1.6) if variant != "wag" else _u(rng, 1.5, 3.5)) * style.energy
    phase = _u(rng, 0, TAU)
    sub = np.random.default_rng(rng.integers(1 << 31))
    _wave_arm(m, t, sub, 0, f, phase, variant)
    sub = np.random.default_rng(rng.integers(1 << 31))
    _wave_arm(m, t, sub, 1, f, phase + (0.0 if rng.random() < 0.75 else np.pi), variant)
    _head(m, t, rng, 6)
    m.heading[:] = _wobble(t, rng, 5 * D, 0.2)
    return m


def clap(t, rng, style):
    """Hands meet in front of the body (or overhead), two to four times a second."""
    m = Motion(len(t))
    f = _u(rng, 1.5, 4.0) * style.energy
    phase = TAU * f * t + _u(rng, 0, TAU)
    opening = 0.5 + 0.5 * np.cos(phase)
    high = rng.random() < 0.15
    flex = _u(rng, 140, 165) * D if high else _u(rng, 35, 80) * D
    m.sh_flex[:] = _sides(t, flex + 5 * D * opening, flex + 5 * D * opening)
    m.sh_horiz[:] = _sides(t, -_u(rng, 15, 30) * D + _u(rng, 20, 45) * D * opening,
                           -_u(rng, 15, 30) * D + _u(rng, 20, 45) * D * opening)
    m.elbow[:] = _sides(t, _u(rng, 50, 95) * D - 15 * D * opening, _u(rng, 50, 95) * D - 15 * D * opening)
    m.sh_abd[:] = _u(rng, 5, 20) * D
    _head(m, t, rng, 6)
    return m


def box(t, rng, style):
    """Guard up, alternating punches straight ahead, the shoulders turning into each punch."""
    m = Motion(len(t))
    f = _u(rng, 0.6, 1.5) * style.energy  # per arm: 1.2-3 punches a second in all
    c = (f * t + _u(rng, 0, 1)) % 1.0
    guard_flex, guard_abd, guard_elbow = _u(rng, 45, 75) * D, _u(rng, 10, 35) * D, _u(rng, 105, 140) * D
    reach = _u(rng, 75, 100) * D
    for s, off in ((0, 0.0), (1, 0.5)):
        p = _bump(c, off + 0.25, 0.06)
        if rng.random() < 0.2:  # double jab with one arm
            p = np.maximum(p, _bump(c, off + 0.4, 0.05))
        m.sh_flex[:, s] = guard_flex + (reach - guard_flex) * p
        m.sh_abd[:, s] = guard_abd * (1 - 0.7 * p)
        m.elbow[:, s] = guard_elbow * (1 - 0.9 * p)
        m.elbow_plane[:, s] = _u(rng, 20, 60) * D * (1 - p)
    punch = _bump(c, 0.25, 0.06) - _bump(c, 0.75, 0.06)
    m.twist[:] = -_u(rng, 8, 22) * D * punch
    stance = _u(rng, 5, 15) * D
    m.hip_flex[:] = _sides(t, stance, -stance * 0.6)
    bounce = 0.5 + 0.5 * np.cos(TAU * _u(rng, 1.5, 2.5) * t)
    m.knee[:] = _sides(t, _u(rng, 8, 20) * D * bounce + 5 * D, _u(rng, 8, 20) * D * bounce + 5 * D)
    m.bend[:] = _u(rng, 3, 12) * D
    m.head_pitch[:] = _u(rng, 0, 12) * D
    m.heading[:] = _u(rng, -25, 25) * D + _wobble(t, rng, 6 * D, 0.3)
    return m


def kick(t, rng, style):
    """Chamber, extend, retract: front kicks (or side kicks) with one leg, about one a second."""
    m = Motion(len(t))
    _rest_arms(m, t, rng)
    period = _u(rng, 0.8, 1.6) / style.energy
    c = (t / period + _u(rng, 0, 1)) % 1.0
    s = style.handed if rng.random() < 0.7 else 1 - style.handed
    chamber = np.maximum(_bump(c, 0.3, 0.07), _bump(c, 0.52, 0.07))
    extend = _bump(c, 0.41, 0.05)
    if rng.random() < 0.75:  # front kick
        m.hip_flex[:, s] = _u(rng, 50, 70) * D * chamber + _u(rng, 60, 100) * D * extend
        m.bend[:] = -_u(rng, 0, 15) * D * extend
    else:  # side kick
        m.hip_abd[:, s] = _u(rng, 30, 50) * D * chamber + _u(rng, 45, 75) * D * extend
        m.hip_flex[:, s] = 30 * D * chamber
        m.lean[:] = (-1 if s == 0 else 1) * _u(rng, 10, 30) * D * (chamber + extend)
    m.knee[:, s] = _u(rng, 80, 110) * D * chamber + 10 * D * extend + 5 * D
    m.knee[:, 1 - s] = _u(rng, 5, 20) * D
    if rng.random() < 0.5:  # arms up for balance or guard
        m.sh_flex[:] = _u(rng, 30, 70) * D
        m.elbow[:] = _u(rng, 60, 120) * D
    _head(m, t, rng, 4)
    return m


# ---- bending, squatting, sitting, falling --------------------------------------------------------------------

def _down_up(t, rng, style, hold):
    """0 -> 1 -> hold -> 0 profile, repeated; one cycle every 1.6-3.5 s, so any 2 s window holds most of one."""
    period = _u(rng, 1.6, 3.5) / style.energy
    c = (t / period + _u(rng, 0, 1)) % 1.0
    down = _u(rng, 0.25, 0.4)
    return np.where(c < down, _smooth(c / down), np.where(c < down + hold, 1.0, _smooth(1 - (c - down - hold) /
                                                                                          (1 - down - hold))))


def bend_down(t, rng, style):
    """Bend at the hips to the floor (to pick something up) and straighten again."""
    m = Motion(len(t))
    _rest_arms(m, t, rng)
    b = _down_up(t, rng, style, _u(rng, 0.05, 0.25))
    depth = _u(rng, 70, 115) * D
    m.bend[:] = depth * b
    m.knee[:] = _sides(t, _u(rng, 0, 40) * D * b, _u(rng, 0, 40) * D * b)
    m.hip_flex[:] = 0.4 * m.knee
    reach = _u(rng, 0, 25) * D
    m.sh_flex[:] = _sides(t, (depth + reach) * b * _u(rng, 0.8, 1.0), (depth + reach) * b * _u(rng, 0.6, 1.0))
    m.head_pitch[:] = -_u(rng, 0, 25) * D * b
    m.heading[:] = _wobble(t, rng, 5 * D, 0.2)
    return m


def squat(t, rng, style):
    """Knees and hips bend deep with the back fairly upright: an exercise, or going down to the floor."""
    m = Motion(len(t))
    _rest_arms(m, t, rng)
    s = _down_up(t, rng, style, _u(rng, 0.0, 0.15))
    knee = _u(rng, 100, 135) * D
    m.knee[:] = _sides(t, knee * s, knee * s)
    m.hip_flex[:] = _sides(t, knee * s * _u(rng, 0.75, 1.0), knee * s * _u(rng, 0.75, 1.0))
    m.ankle[:] = 0.35 * m.knee
    m.bend[:] = _u(rng, 5, 35) * D * s
    arms = rng.choice(["forward", "hang", "hips"])
    if arms == "forward":
        m.sh_flex[:] = _sides(t, _u(rng, 60, 95) * D * s, _u(rng, 60, 95) * D * s)
    elif arms == "hips":
        m.sh_abd[:] = 40 * D
        m.elbow[:] = 100 * D
        m.elbow_plane[:] = -80 * D  # forearms bend inwards onto the hips
    _head(m, t, rng, 4)
    return m


def _sit_profile(t, rng, style, rising: bool):
    """Seated fraction over time: one transition of 0.8-1.8 s centred in the take."""
    dur = _u(rng, 0.8, 1.8) / style.energy
    t0 = t[0] + (t[-1] - t[0]) / 2 - dur / 2 + _u(rng, -0.15, 0.15)
    x = _smooth((t - t0) / dur)
    return (1 - x) if rising else x, np.clip((t - t0) / dur, 0, 1)


def _sitting(t, rng, style, rising):
    m = Motion(len(t))
    _rest_arms(m, t, rng)
    seated, x = _sit_profile(t, rng, style, rising)
    hip, knee = _u(rng, 80, 100) * D, _u(rng, 75, 105) * D
    m.hip_flex[:] = _sides(t, hip * seated, hip * seated)
    m.knee[:] = _sides(t, knee * seated, knee * seated)
    m.bend[:] = _u(rng, 25, 45) * D * np.sin(np.pi * x) + _u(rng, -10, 5) * D * seated
    if rng.random() < 0.4:  # hands on the thighs / armrests
        m.sh_flex[:] = _sides(t, 40 * D * seated + 30 * D * np.sin(np.pi * x), 40 * D * seated + 30 * D *
                              np.sin(np.pi * x))
    _head(m, t, rng, 6)
    return m


def sit_down(t, rng, style):
    return _sitting(t, rng, style, rising=False)


def stand_up(t, rng, style):
    return _sitting(t, rng, style, rising=True)


def fall(t, rng, style):
    """Lose balance and end up on the ground (forwards, backwards or sideways), then lie there."""
    m = Motion(len(t))
    _rest_arms(m, t, rng)
    dur = _u(rng, 0.5, 1.2)
    t0 = t[0] + (t[-1] - t[0]) * _u(rng, 0.25, 0.45)
    x = _smooth((t - t0) / dur)
    how = rng.choice(["forward", "backward", "left", "right"])
    angle = _u(rng, 75, 92) * D * x
    if how == "forward":
        m.body_pitch[:] = angle
    elif how == "backward":
        m.body_pitch[:] = -angle
    else:
        m.body_roll[:] = angle if how == "left" else -angle
    crumple = np.sin(np.pi * np.clip((t - t0) / dur, 0, 1))
    m.knee[:] = _sides(t, _u(rng, 20, 70) * D * crumple, _u(rng, 20, 70) * D * crumple)
    m.hip_flex[:] = 0.6 * m.knee
    m.sh_flex[:] += _sides(t, _u(rng, 60, 150) * D * crumple, _u(rng, 60, 150) * D * crumple)
    if rng.random() < 0.4:  # was walking
        direction = {"forward": 0.0, "backward": np.pi, "left": np.pi / 2, "right": -np.pi / 2}[how]
        m.root_xz[:], _ = _path(t, _u(rng, 0.4, 1.2) * (1 - x), direction, 0.0)
    m.root_xz += _u(rng, 0.3, 0.8) * x[:, None] * np.array([np.sin(m.heading[0]), np.cos(m.heading[0])])
    _head(m, t, rng, 10)
    return m


#: Action name -> generator. The order is the vocabulary's; labels are sorted wherever classes are listed.
ACTIONS: dict[str, Callable] = {
    "idle": idle, "walk": walk, "jog": jog, "run": run,
    "wave_one_hand": wave_one_hand, "wave_two_hands": wave_two_hands, "clap": clap, "box": box,
    "jump_forward": jump_forward, "jump_in_place": jump_in_place, "jumping_jack": jumping_jack,
    "side_gallop": side_gallop, "skip": skip, "bend_down": bend_down, "squat": squat,
    "stand_up": stand_up, "sit_down": sit_down, "fall": fall, "kick": kick,
}
#: Actions whose takes are one event (kept short, the event in the middle) rather than a repeating motion.
TRANSITIONS = frozenset({"stand_up", "sit_down", "fall"})
#: Actions that travel (the camera may pan to follow, the person may leave the frame).
TRAVELLING = frozenset({"walk", "jog", "run", "skip", "side_gallop", "jump_forward"})
