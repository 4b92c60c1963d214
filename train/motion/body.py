"""A parametric 3-D body that moves by joint angles and yields BlazePose's 33 landmarks.

Why our own tiny skeleton: the pose head reads hip-centred landmarks in
torso lengths, so what must be right is the *shape of the body in torso
lengths* and how joints swing, not meshes or muscles. Proportions are drawn
per actor around what BlazePose reports on real people (the ankle sits about
1.4 torso lengths below the hip midpoint, shoulders are about 0.6 torso
lengths wide, hips about a third: measured on ``realclips/actions``,
docs/motion.md), with the spread of children to tall adults.

Frames are right-handed, y up. A body faces +z at heading 0 and its left is
+x (BlazePose's "left" is the person's left). Angles are radians; each
``(N, 2)`` array holds the left side in column 0 and the right in column 1,
and the right side is the mirror image of the left, so one set of angle
conventions serves both: flexion swings a limb forward, abduction outward,
horizontal abduction (arms) outward from pointing forward, ``elbow_plane``
turns the plane the forearm bends in from forward (0) to outward (+pi/2).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

NUM_LANDMARKS = 33
_SIDES = (1.0, -1.0)  # left, right: sign of x offsets and of rotations that mirror


@dataclass
class Body:
    """One actor's proportions; lengths in torso lengths (hip midpoint to shoulder midpoint) except ``torso_m``."""

    torso_m: float = 0.5
    hip_width: float = 0.33
    shoulder_width: float = 0.6
    thigh: float = 0.72
    shank: float = 0.68
    foot: float = 0.3
    ankle_height: float = 0.09
    upper_arm: float = 0.52
    forearm: float = 0.46
    hand: float = 0.16
    neck: float = 0.12
    head: float = 1.0  # scale of the face points

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Body:
        """Children to tall adults: height 1.0-2.0 m; children have shorter legs and bigger heads."""
        height = float(rng.uniform(1.0, 2.0)) if rng.random() < 0.2 else float(rng.normal(1.72, 0.09))
        child = float(np.clip((1.55 - height) / 0.55, 0.0, 1.0))  # 0 adult .. 1 small child
        leg = rng.normal(1.42, 0.06) - 0.12 * child
        split = rng.uniform(0.49, 0.54)
        arm = rng.normal(1.0, 0.04)
        return cls(
            torso_m=height * rng.normal(0.29, 0.012),
            hip_width=rng.uniform(0.27, 0.4),
            shoulder_width=rng.uniform(0.52, 0.68),
            thigh=leg * split, shank=leg * (1 - split), foot=rng.uniform(0.26, 0.34),
            ankle_height=rng.uniform(0.07, 0.1),
            upper_arm=0.52 * arm, forearm=0.46 * arm * rng.normal(1.0, 0.03), hand=rng.uniform(0.13, 0.18),
            neck=rng.uniform(0.08, 0.16), head=rng.normal(1.0, 0.06) + 0.25 * child,
        )


@dataclass
class Motion:
    """Joint angles and root placement per frame; everything not set stays at rest (standing, arms down)."""

    n: int
    root_xz: np.ndarray = None  # (N, 2) metres, x and z of the hip midpoint over the ground
    air: np.ndarray = None  # (N,) metres the lowest body point is above the ground (jumps, flight)
    heading: np.ndarray = None  # (N,) where the body faces, about y
    body_pitch: np.ndarray = None  # (N,) the whole body tipping forward (falls)
    body_roll: np.ndarray = None  # (N,) the whole body tipping to its left (falls)
    bend: np.ndarray = None  # (N,) upper body forward at the hips
    lean: np.ndarray = None  # (N,) upper body sideways (to the left)
    twist: np.ndarray = None  # (N,) shoulders turned left relative to the hips
    head_pitch: np.ndarray = None  # (N,) nod down
    head_yaw: np.ndarray = None  # (N,) turn left
    hip_flex: np.ndarray = None  # (N, 2)
    hip_abd: np.ndarray = None
    knee: np.ndarray = None
    ankle: np.ndarray = None
    sh_flex: np.ndarray = None
    sh_abd: np.ndarray = None
    sh_horiz: np.ndarray = None
    elbow: np.ndarray = None
    elbow_plane: np.ndarray = None

    def __post_init__(self):
        for f in fields(self):
            if f.name != "n" and getattr(self, f.name) is None:
                shape = {"root_xz": (self.n, 2)}.get(f.name, (self.n,) if f.name in _SCALARS else (self.n, 2))
                setattr(self, f.name, np.zeros(shape))

    def slice(self, a: int, b: int) -> Motion:
        return Motion(b - a, **{f.name: getattr(self, f.name)[a:b] for f in fields(self) if f.name != "n"})


_SCALARS = {"air", "heading", "body_pitch", "body_roll", "bend", "lean", "twist", "head_pitch", "head_yaw"}


def rx(a):
    a = np.asarray(a, np.float64)
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([o, z, z, z, c, -s, z, s, c], -1).reshape(*a.shape, 3, 3)


def ry(a):
    a = np.asarray(a, np.float64)
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(*a.shape, 3, 3)


def rz(a):
    a = np.asarray(a, np.float64)
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(*a.shape, 3, 3)


def _apply(r: np.ndarray, v) -> np.ndarray:
    """``(N, 3, 3) @ (3,)`` or ``(N, 3)`` -> ``(N, 3)``."""
    v = np.asarray(v, np.float64)
    return np.einsum("nij,nj->ni", r, np.broadcast_to(v, (r.shape[0], 3)))


# Face points in the head's frame (x left, y up, z forward), torso lengths from the top of the neck.
_FACE = {
    0: (0.0, 0.2, 0.14), 1: (0.035, 0.25, 0.12), 2: (0.06, 0.25, 0.11), 3: (0.085, 0.25, 0.1),
    4: (-0.035, 0.25, 0.12), 5: (-0.06, 0.25, 0.11), 6: (-0.085, 0.25, 0.1), 7: (0.12, 0.22, 0.0),
    8: (-0.12, 0.22, 0.0), 9: (0.04, 0.14, 0.12), 10: (-0.04, 0.14, 0.12),
}


def landmarks_3d(body: Body, m: Motion) -> np.ndarray:
    """``(N, 33, 3)`` world positions in metres, feet (or whatever is lowest) on the ground plus ``m.air``."""
    n, b = m.n, body
    out = np.zeros((n, NUM_LANDMARKS, 3))
    r_root = ry(m.heading) @ rx(m.body_pitch) @ rz(-m.body_roll)
    r_up = r_root @ ry(m.twist) @ rx(m.bend) @ rz(-m.lean)
    sh_mid = _apply(r_up, (0, 1.0, 0))
    neck_top = sh_mid + _apply(r_up, (0, b.neck, 0))
    r_head = r_up @ rx(m.head_pitch) @ ry(m.head_yaw)
    for i, p in _FACE.items():
        out[:, i] = neck_top + _apply(r_head, np.array(p) * b.head)
    for side, s in enumerate(_SIDES):
        hip = _apply(r_root, (s * b.hip_width / 2, 0, 0))
        r_thigh = r_root @ rz(s * m.hip_abd[:, side]) @ rx(-m.hip_flex[:, side])
        knee = hip + _apply(r_thigh, (0, -b.thigh, 0))
        r_shank = r_thigh @ rx(m.knee[:, side])
        ankle = knee + _apply(r_shank, (0, -b.shank, 0))
        r_foot = r_shank @ rx(-m.ankle[:, side])
        out[:, 23 + side], out[:, 25 + side], out[:, 27 + side] = hip, knee, ankle
        out[:, 29 + side] = ankle + _apply(r_foot, (0, -b.ankle_height * 0.7, -0.08))
        out[:, 31 + side] = ankle + _apply(r_foot, (s * 0.02, -b.ankle_height, b.foot))
        shoulder = sh_mid + _apply(r_up, (s * b.shoulder_width / 2, 0, 0))
        r_ua = r_up @ ry(s * m.sh_horiz[:, side]) @ rz(s * m.sh_abd[:, side]) @ rx(-m.sh_flex[:, side])
        elbow = shoulder + _apply(r_ua, (0, -b.upper_arm, 0))
        r_fa = r_ua @ ry(s * m.elbow_plane[:, side]) @ rx(-m.elbow[:, side])
        wrist = elbow + _apply(r_fa, (0, -b.forearm, 0))
        out[:, 11 + side], out[:, 13 + side], out[:, 15 + side] = shoulder, elbow, wrist
        out[:, 17 + side] = wrist + _apply(r_fa, (-s * 0.03, -b.hand, 0.0))  # pinky
        out[:, 19 + side] = wrist + _apply(r_fa, (s * 0.02, -b.hand * 1.08, 0.02))  # index
        out[:, 21 + side] = wrist + _apply(r_fa, (s * 0.05, -b.hand * 0.6, 0.05))  # thumb
    out *= b.torso_m
    out[:, :, 1] -= out[:, :, 1].min(axis=1, keepdims=True)  # lowest point on the ground
    out[:, :, 1] += m.air[:, None]
    out[:, :, 0] += m.root_xz[:, None, 0]
    out[:, :, 2] += m.root_xz[:, None, 1]
    return out


def leg_length_m(body: Body) -> float:
    return (body.thigh + body.shank + body.ankle_height) * body.torso_m

