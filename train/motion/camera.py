"""Cameras around the generated person: where they stand, how they look, how they project.

Why random cameras: the head sees 2-D keypoints, and the same jumping jack
from the side, from a ceiling corner or through a phone held upright gives
very different ones. Each take gets one camera: yaw all around the body,
height from the floor to the ceiling, distance and focal length such that
the person fills anywhere from a fifth of the frame to more than all of it
(close-ups cut the legs off), a little roll, an aspect ratio from 16:9 to
portrait, and either a static mount or a slow pan that follows the person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ASPECTS = ((4, 3), (16, 9), (5, 4), (9, 16), (1, 1), (3, 4))
ASPECT_P = (0.32, 0.34, 0.1, 0.1, 0.07, 0.07)
SHORT_SIDES = (120, 144, 180, 240, 360, 480, 720, 1080)


@dataclass
class Camera:
    width: int
    height: int
    focal_px: float
    position: np.ndarray  # (3,) metres
    rotation: np.ndarray  # (N, 3, 3) world -> camera (x right, y down, z forward), per frame (pans)
    yaw_deg: float  # where the camera stands relative to the person's initial facing: 0 in front, 90 on the left
    panning: bool

    @property
    def aspect(self) -> float:
        return self.width / self.height

    def describe(self) -> dict:
        return {"width": self.width, "height": self.height, "focal_px": round(self.focal_px, 1),
                "height_m": round(float(self.position[1]), 2), "yaw_deg": round(self.yaw_deg, 1),
                "panning": self.panning}


def _look(forward: np.ndarray, roll: float) -> np.ndarray:
    """(N, 3) viewing directions -> (N, 3, 3) world-to-camera rotations (rows: right, down, forward)."""
    f = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    right = np.cross(f, np.array([0.0, 1.0, 0.0]))
    right /= np.maximum(np.linalg.norm(right, axis=-1, keepdims=True), 1e-9)
    down = np.cross(f, right)
    c, s = np.cos(roll), np.sin(roll)
    return np.stack([c * right + s * down, -s * right + c * down, f], axis=1)


def sample_camera(rng: np.random.Generator, world: np.ndarray, heading0: float, fps: float,
                  travelling: bool) -> Camera:
    """A camera for the take whose landmarks are ``world`` (N, 33, 3)."""
    aw, ah = ASPECTS[rng.choice(len(ASPECTS), p=ASPECT_P)]
    short = int(rng.choice(SHORT_SIDES))
    width, height = (round(short * aw / ah), short) if aw >= ah else (short, round(short * ah / aw))
    hfov = np.deg2rad(rng.uniform(45, 90) if aw >= ah else rng.uniform(35, 65))
    focal = width / 2 / np.tan(hfov / 2)
    hips = (world[:, 23] + world[:, 24]) / 2
    stature = float(np.ptp(world[0, :, 1])) or 1.7
    r = rng.random()
    fill = rng.uniform(1.0, 3.5) if (r < 0.15 and not travelling) else rng.uniform(0.25, 0.8) if travelling \
        else rng.uniform(0.22, 0.95)  # person height / frame height; above 1 a close-up cuts the legs off
    distance = stature * focal / (fill * height)
    panning = rng.random() < (0.4 if travelling else 0.08)
    path = float(np.linalg.norm(np.ptp(hips[:, [0, 2]], axis=0)))
    if travelling and not panning:  # a static camera sees most of the way: the person crosses, then may leave
        distance = max(distance, path / rng.uniform(0.6, 1.5) * focal / width)
    yaw = rng.uniform(0, 360)
    centre = hips.mean(axis=0)
    away = np.array([np.sin(heading0 + np.deg2rad(yaw)), 0.0, np.cos(heading0 + np.deg2rad(yaw))])
    cam_h = rng.uniform(0.4, 2.8) if fill < 1.0 else rng.uniform(0.9, 1.8)
    position = centre + away * distance
    position[1] = cam_h
    if fill < 1.0:
        aim_h = stature * rng.uniform(0.35, 0.65)
    else:  # close-ups keep the head in view (the frame's top edge near the top of the head), as people frame them
        aim_h = stature * (rng.uniform(0.95, 1.1) - 0.5 / fill)
    offset = np.cross(away, [0.0, 1.0, 0.0]) * rng.uniform(-0.2, 0.2) * distance * width / focal
    if panning:  # the aim follows the hips with a lag
        lag = np.exp(-1.0 / (fps * rng.uniform(0.2, 0.8)))
        aim = np.empty_like(hips)
        aim[0] = hips[0]
        for i in range(1, len(hips)):
            aim[i] = lag * aim[i - 1] + (1 - lag) * hips[i]
    else:
        aim = np.broadcast_to(centre, hips.shape).copy()
    aim = aim + offset
    aim[:, 1] = aim_h
    rotation = _look(aim - position, np.deg2rad(rng.normal(0, 3)))
    return Camera(width, height, float(focal), position, rotation, float(yaw), panning)


def project(cam: Camera, world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 33, 3)`` world points -> (normalized x, y and BlazePose-style z ``(N, 33, 3)``, depth in metres).

    x and y are fractions of the frame's width and height (outside [0, 1]
    off-frame); z is depth relative to the hip midpoint in x's scale, smaller
    nearer, as BlazePose reports it.
    """
    cam_pts = np.einsum("nij,nkj->nki", cam.rotation, world - cam.position)
    depth = cam_pts[..., 2]
    safe = np.maximum(depth, 0.05)
    x = (cam.focal_px * cam_pts[..., 0] / safe + cam.width / 2) / cam.width
    y = (cam.focal_px * cam_pts[..., 1] / safe + cam.height / 2) / cam.height
    hip_depth = (safe[:, 23] + safe[:, 24])[:, None] / 2
    z = (depth - hip_depth) * cam.focal_px / (hip_depth * cam.width)
    return np.stack([x, y, z], -1), depth
