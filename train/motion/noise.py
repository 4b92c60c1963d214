"""What BlazePose does to a perfect skeleton: jitter, visibility, missed frames, swaps and snaps.

Why model the estimator: on the device the head never sees true joints, it
sees BlazePose's guesses, and a head trained on clean skeletons trusts them
too much (turning all of this off cost about 15 points on real footage).
The shape of each effect was measured by running the estimator on the real
clips of ``realclips/actions`` (docs/motion.md): on people about 20 px per
torso, frame-to-frame jitter of steady points is about 0.005-0.015 torso
lengths and grows as the person gets smaller; a limb on the far side of the
body in a side view has visibility near 0.1 while the near one stays near 1;
points outside the frame are still reported, with visibility near 0, and
far outside (the legs below a face close-up) they are guesses that move by
a torso length or more from frame to frame.

All rates are per second, not per frame, so a take generated at 15 or 30
frames per second has the same behaviour once sampled.
"""

from __future__ import annotations

import numpy as np

from har.edge.pose.features import MIRROR_INDEX

#: Per-landmark jitter multiplier: face and trunk steady, hands and feet worst.
_JITTER = np.array([0.8] * 11 + [1.0, 1.0, 1.4, 1.4, 1.9, 1.9, 2.2, 2.2, 2.2, 2.2, 2.2, 2.2,
                                 1.0, 1.0, 1.4, 1.4, 1.9, 1.9, 2.1, 2.1, 2.2, 2.2])
_ARM = np.array([13, 15, 17, 19, 21])  # left; +1 for right
_LEG = np.array([25, 27, 29, 31])
_VIS_BASE = np.array([0.6] * 11 + [0.6, 0.6, 0.2, 0.2, 0.0, 0.0, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3,
                                   0.6, 0.6, 0.2, 0.2, -0.2, -0.2, -0.4, -0.4, -0.4, -0.4])


def _ar1(rng, n: int, taus: np.ndarray, dt: float) -> np.ndarray:
    """Unit-variance AR(1) noise ``(n, k)``: channel ``j`` has correlation time ``taus[j]`` seconds."""
    rho = np.exp(-dt / np.maximum(taus, 1e-3))
    scale = np.sqrt(1 - rho * rho)
    e = rng.standard_normal((n, len(taus)))
    out = np.empty_like(e)
    out[0] = e[0]
    for i in range(1, n):  # one pass for every channel of the take
        out[i] = rho * out[i - 1] + scale * e[i]
    return out


def _runs(rng, rate_per_frame: np.ndarray, mean_len: int) -> np.ndarray:
    """Boolean (N,) where events started at ``rate_per_frame`` last about ``mean_len`` frames."""
    on = np.zeros(len(rate_per_frame), bool)
    left = 0
    for i, p in enumerate(rate_per_frame):
        if left == 0 and rng.random() < p:
            left = 1 + int(rng.poisson(max(mean_len - 1, 0)))
        if left:
            on[i], left = True, left - 1
    return on


def _outside(xy: np.ndarray) -> np.ndarray:
    """How far each point lies outside the frame, in frame fractions (0 inside)."""
    return np.maximum(np.maximum(-xy, xy - 1.0), 0.0).max(axis=-1)


def estimator_noise(rng: np.random.Generator, proj: np.ndarray, depth: np.ndarray, size_px: tuple[int, int],
                    fps: float, scale: float = 1.0) -> tuple[np.ndarray, dict]:
    """``proj`` (N, 33, 3) perfect x, y, z -> ``(N, 33, 5)`` as ``PoseEstimator`` gives it (NaN rows: no pose).

    ``scale`` multiplies every effect (0 turns the model off, for comparisons).
    Returns the landmarks and a few facts about the take (detection rate, size).
    """
    n = len(proj)
    w, h = size_px
    dt = 1.0 / fps
    px = proj[..., :2] * np.array([w, h])
    hip = (px[:, 23] + px[:, 24]) / 2
    torso_px = np.linalg.norm((px[:, 11] + px[:, 12]) / 2 - hip, axis=-1)
    torso_px = np.maximum(torso_px, 1.0)
    size = float(np.median(torso_px))
    outside = _outside(proj[..., :2])

    # Which side is away from the camera (side views hide the far arm and leg).
    occ = np.zeros((n, 33))
    for pair, limb in (((11, 12), _ARM), ((23, 24), _LEG)):
        gap = depth[:, pair[0]] - depth[:, pair[1]]  # > 0: left side farther
        width = np.linalg.norm(px[:, pair[0]] - px[:, pair[1]], axis=-1) / torso_px
        side_view = np.clip(1.0 - width / 0.45, 0.0, 1.0)  # shoulders/hips seen end-on
        far_left = (gap > 0) * side_view
        occ[:, limb] = far_left[:, None]
        occ[:, limb + 1] = ((gap <= 0) * side_view)[:, None]
    occ *= scale

    # Jitter: correlated per landmark, larger for small people, hidden and off-frame points.
    sigma0 = rng.uniform(0.003, 0.012) * scale
    grow = 1.0 + 12.0 / np.maximum(torso_px, 4.0)
    sigma = sigma0 * grow[:, None] * _JITTER[None] * (1 + 2.5 * occ) * (1 + 4 * np.minimum(outside, 0.5))
    slow = rng.uniform(0.3, 1.0)
    taus = np.concatenate([np.full(66, rng.uniform(0.04, 0.2)), np.full(3, slow), np.full(33, 0.2),
                           np.full(66, rng.uniform(0.1, 0.3))])
    ar = _ar1(rng, n, taus, dt)
    # Far outside the frame BlazePose only guesses: legs below a close-up wander by a torso length or more.
    wild = np.clip(outside / 0.25, 0.0, 1.0) * scale
    guess = ar[:, 102:].reshape(n, 33, 2) * (rng.uniform(0.2, 0.6) * wild * torso_px[:, None])[..., None]
    noise = ar[:, :66].reshape(n, 33, 2) * (sigma * torso_px[:, None])[..., None]
    crop = ar[:, 66:68] * rng.uniform(0.0, 0.02) * scale * torso_px[:, None]
    zoom = 1 + ar[:, 68:69] * rng.uniform(0.0, 0.02) * scale
    centre = hip[:, None]
    noisy_px = centre + (px - centre) * zoom[:, None] + noise + guess + crop[:, None]

    # Visibility and presence, as the model's sigmoid outputs.
    logit = rng.normal(4.2, 0.4) + _VIS_BASE[None] - 6.5 * occ - 12 * outside
    logit = logit + 0.8 * ar[:, 69:102] * scale
    logit = np.clip(logit, -30, 30)
    vis = 1 / (1 + np.exp(-logit))
    pres = 1 / (1 + np.exp(-(logit + 2.5)))

    out = np.zeros((n, 33, 5), np.float32)
    out[..., :2] = noisy_px / np.array([w, h])
    out[..., 2] = proj[..., 2] + sigma * rng.standard_normal((n, 33))
    out[..., 3], out[..., 4] = vis, pres

    # Swaps: left and right legs (or arms) trade places for a moment, mostly in side views.
    side = occ[:, [13, 25]].max(axis=1)
    for limb in (_LEG, _ARM):
        swap = _runs(rng, scale * rng.uniform(0.0, 0.25) * (1 + 3 * side) * dt, max(1, round(0.25 * fps)))
        rows = np.flatnonzero(swap)[:, None]
        out[rows, limb], out[rows, limb + 1] = out[rows, limb + 1], out[rows, limb].copy()
    # Snaps: a hidden limb jumps onto the visible one for a moment.
    snap = _runs(rng, scale * rng.uniform(0.0, 0.4) * side * dt, max(1, round(0.2 * fps)))
    for i in np.flatnonzero(snap):
        far = 0 if occ[i, 13] > occ[i, 14] else 1
        for limb in (_ARM, _LEG):
            out[i, limb + far, :2] = out[i, limb + 1 - far, :2] + rng.normal(0, 0.02, 2)

    # Missed frames: BlazePose's detector looks for a face and the tracker for a torso, so a close-up with the
    # face in view is found (a real face close-up was found in every frame) and a body cut off at the neck or
    # walking out of the frame is lost; tiny or fast people are missed more; the rest at a low rate.
    face_out = outside[:, 0] > 0.02
    hips_out = np.maximum(outside[:, 23], outside[:, 24]) > 0.02
    gone = (outside > 0).mean(axis=1) > 0.5
    speed = np.linalg.norm(np.gradient(hip, axis=0), axis=-1) * fps / torso_px  # torso lengths per second
    tiny = 1 / (1 + np.exp(np.clip((torso_px - 6.0) / 1.5, -30, 30)))
    blur = np.clip((speed - 4.0) / 8.0, 0, 1) * np.clip(25.0 / torso_px - 0.5, 0, 1)
    p_miss = (rng.uniform(0.0, 0.4) * dt + 0.8 * tiny + 0.5 * blur + 0.4 * face_out + 0.3 * hips_out
              + 0.9 * (gone & face_out))
    p_miss = np.clip(p_miss * scale, 0, 1)
    missed = np.zeros(n, bool)
    stay = float(np.exp(-dt / rng.uniform(0.05, 0.4)))
    for i in range(n):
        missed[i] = rng.random() < p_miss[i] or (i > 0 and missed[i - 1] and rng.random() < stay * scale)
    out[missed] = np.nan

    facts = {"torso_px": round(size, 1), "detected": round(float(1 - missed.mean()), 3)}
    return out, facts


def mirror_names(landmarks: np.ndarray) -> np.ndarray:
    """Swap left and right *names* without moving any point: a back view read as a front view."""
    return landmarks[:, MIRROR_INDEX]
