"""Actions that travel on foot: walk, jog, run, skip and side gallop.

Walk, jog and run share one gait (:func:`_gait`) whose cadence, speed and
joint ranges come from the biomechanics literature (walking about 1.6-2.1
steps/s at 1.0-1.6 m/s, jogging 2.4-2.8 steps/s at 2-3 m/s, running 2.7-3.4
steps/s above 3 m/s with a flight phase); jog and run differ only in their
ranges (:data:`JOG`, :data:`RUN`), so they are one table each, not two copies.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from har.train.motion.body import Motion
from har.train.motion.curves import (
    TAU,
    D,
    bump,
    draw,
    ground_path,
    head_motion,
    rest_arms,
    sides,
    smooth,
    wobble,
)


def _gait(t, rng, style, cadence, speed, hip_amp, knee_swing, knee_stance, swing_at, arm_amp, elbow, lean, flight):
    m = Motion(len(t))
    phase = TAU * cadence / 2 * t + draw(rng, 0, TAU)
    turn = draw(rng, -25, 25) * D if rng.random() < 0.4 else 0.0
    ramp = smooth(t / draw(rng, 0.3, 0.9)) if rng.random() < 0.2 else 1.0  # starting from standing
    m.root_xz[:], m.heading[:] = ground_path(t, speed * ramp, 0.0, turn)
    for s, off in ((0, 0.0), (1, np.pi)):
        c = ((phase + off) / TAU) % 1.0
        # The hip flexes most late in swing.
        m.hip_flex[:, s] = (draw(rng, 3, 8) * D + hip_amp * np.cos(phase + off + 0.5)) * ramp
        m.knee[:, s] = (knee_stance * bump(c, 0.13, 0.07) + knee_swing * bump(c, swing_at, 0.11) + 4 * D) * \
            (0.3 + 0.7 * ramp)
        m.ankle[:, s] = 8 * D * np.sin(phase + off + 0.6)
        m.sh_flex[:, s] = (-arm_amp * np.cos(phase + off) + draw(rng, 0, 10) * D) * ramp
        m.elbow[:, s] = elbow + 0.3 * elbow * np.cos(phase + off)
        m.sh_abd[:, s] = draw(rng, 6, 16) * D
    m.hip_abd[:] = sides(t, 3 * D * np.cos(phase), -3 * D * np.cos(phase))
    m.bend[:] = lean * ramp + 2 * D * np.cos(2 * phase)
    m.twist[:] = draw(rng, 3, 8) * D * np.cos(phase) * ramp
    m.lean[:] = 2 * D * np.sin(phase)
    if flight:
        m.air[:] = flight * np.clip(np.sin(2 * phase - 1.2), 0, None) ** 1.5 * ramp
    head_motion(m, t, rng, look=5)
    return m


def walk(t, rng, style):
    e = style.energy
    cadence = draw(rng, 1.6, 2.1) * (0.95 + 0.05 * e)
    step = draw(rng, 0.55, 0.8) * e
    # One walker in seven keeps the hands in the pockets.
    arm = draw(rng, 12, 35) * D * style.arm_swing if rng.random() > 0.15 else draw(rng, 0, 6) * D
    return _gait(t, rng, style, cadence, cadence * step, draw(rng, 17, 25) * D, draw(rng, 50, 65) * D,
                 draw(rng, 8, 20) * D, 0.72, arm, draw(rng, 8, 30) * D, draw(rng, 0, 6) * D, 0.0)


class Stride(NamedTuple):
    """Ranges (lo, hi) a jog or a run draws from, in the order drawn; angles in degrees."""

    cadence: tuple[float, float]  # steps per second
    speed: tuple[float, float]  # m/s at style.energy 1
    hip: tuple[float, float]
    knee_swing: tuple[float, float]
    knee_stance: tuple[float, float]
    swing_at: float  # where in the cycle the knee bends most in swing
    arm: tuple[float, float]  # at style.arm_swing 1
    elbow: tuple[float, float]
    lean: tuple[float, float]
    flight: tuple[float, float]  # height of the flight phase (m)


JOG = Stride(cadence=(2.3, 2.8), speed=(1.8, 3.2), hip=(24, 32), knee_swing=(75, 100), knee_stance=(25, 40),
             swing_at=0.64, arm=(20, 40), elbow=(65, 95), lean=(3, 9), flight=(0.03, 0.07))
RUN = Stride(cadence=(2.7, 3.4), speed=(3.2, 6.0), hip=(32, 45), knee_swing=(95, 125), knee_stance=(30, 45),
             swing_at=0.6, arm=(35, 60), elbow=(75, 100), lean=(6, 14), flight=(0.05, 0.11))


def _stride(t, rng, style, r: Stride):
    """A jog or a run: the gait with a flight phase, its figures drawn from ``r``."""
    cadence = draw(rng, *r.cadence)
    speed = draw(rng, *r.speed) * style.energy
    return _gait(t, rng, style, cadence, speed, draw(rng, *r.hip) * D, draw(rng, *r.knee_swing) * D,
                 draw(rng, *r.knee_stance) * D, r.swing_at, draw(rng, *r.arm) * D * style.arm_swing,
                 draw(rng, *r.elbow) * D, draw(rng, *r.lean) * D, draw(rng, *r.flight))


def jog(t, rng, style):
    return _stride(t, rng, style, JOG)


def run(t, rng, style):
    return _stride(t, rng, style, RUN)


def skip(t, rng, style):
    """Step-hop, step-hop: a high knee and a big opposite arm swing, bouncing forward."""
    m = Motion(len(t))
    f = draw(rng, 1.0, 1.5) * style.energy
    phase = TAU * f * t + draw(rng, 0, TAU)
    m.root_xz[:], m.heading[:] = ground_path(t, draw(rng, 1.2, 2.6), 0.0, draw(rng, -15, 15) * D)
    lift, arm = draw(rng, 50, 85) * D, draw(rng, 35, 75) * D
    for s, off in ((0, 0.0), (1, 0.5)):
        c = (phase / TAU + off) % 1.0
        m.hip_flex[:, s] = lift * bump(c, 0.35, 0.1) - 10 * D * bump(c, 0.85, 0.1)
        m.knee[:, s] = draw(rng, 70, 100) * D * bump(c, 0.33, 0.1) + 15 * D * bump(c, 0.85, 0.08)
        m.sh_flex[:, s] = arm * np.cos(TAU * (c - 0.85))
        m.elbow[:, s] = draw(rng, 30, 80) * D
        m.sh_abd[:, s] = draw(rng, 8, 20) * D
    m.air[:] = draw(rng, 0.08, 0.18) * np.clip(np.sin(2 * phase), 0, None)
    m.bend[:] = draw(rng, 0, 8) * D
    head_motion(m, t, rng, 5)
    return m


def side_gallop(t, rng, style):
    """Sideways gallop: the leading leg steps out, the trailing leg closes, a short flight, facing sideways."""
    m = Motion(len(t))
    f = draw(rng, 1.6, 2.6) * style.energy
    c = (f * t + draw(rng, 0, 1)) % 1.0
    lead = int(rng.integers(2))  # 0: moving to the body's left
    speed = draw(rng, 1.0, 2.4)
    direction = np.pi / 2 if lead == 0 else -np.pi / 2
    m.root_xz[:], _ = ground_path(t, speed, direction, 0.0)
    m.heading[:] = wobble(t, rng, 5 * D, 0.3)
    spread = draw(rng, 14, 28) * D
    m.hip_abd[:, lead] = 4 * D + spread * bump(c, 0.3, 0.12)
    m.hip_abd[:, 1 - lead] = 4 * D + 0.5 * spread * bump(c, 0.65, 0.12)
    m.knee[:] = sides(t, 12 * D * bump(c, 0.9, 0.08) + 5 * D, 12 * D * bump(c, 0.9, 0.08) + 5 * D)
    m.air[:] = draw(rng, 0.05, 0.14) * bump(c, 0.6, 0.12)
    if rng.random() < 0.5:  # arms out to the sides, flapping with the gallop
        m.sh_abd[:] = sides(t, draw(rng, 40, 90) * D + 12 * D * np.sin(TAU * c), draw(rng, 40, 90) * D + 12 * D *
                             np.sin(TAU * c))
    else:
        rest_arms(m, t, rng)
        m.sh_abd += sides(t, 10 * D * bump(c, 0.5, 0.15), 10 * D * bump(c, 0.5, 0.15))
    head_motion(m, t, rng, 5)
    return m
