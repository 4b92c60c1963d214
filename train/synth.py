"""A small deterministic synthetic action-video dataset, rendered on the spot.

Why: the main job must run offline, and a dataset that ships as code is
reproducible bit for bit. The classes are built so that one frame cannot solve
them: ``squat_down``/``stand_up`` differ only in temporal order,
``walk_left``/``walk_right`` only in direction, and ``idle``/``wave``/``jump``
need motion. A *group* (``gNN``) is one actor in one scene: background texture,
figure colours, size and position are shared by its clips, so a group-disjoint
split tests generalisation to new actors and scenes, as UCF's groups do.

Files follow the UCF convention ``<Class>/v_<Class>_gNN_cNN.mp4``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

CLASSES = ("idle", "wave", "jump", "squat_down", "stand_up", "walk_left", "walk_right")
WIDTH, HEIGHT, FPS = 160, 120, 15.0
WALK_SPEED = 0.15  # frame widths per second


@dataclass(frozen=True)
class SynthConfig:
    """Size of the generated dataset (defaults: 7 classes x 32 groups x 1 clip)."""

    groups: int = 32
    clips_per_group: int = 1
    duration_s: float = 3.0
    fps: float = FPS
    width: int = WIDTH
    height: int = HEIGHT
    seed: int = 0
    classes: tuple[str, ...] = CLASSES


@dataclass(frozen=True)
class Actor:
    """What stays fixed within a group: scene and figure appearance."""

    background: np.ndarray  # (H*2, W*2, 3) uint8 texture larger than the frame, for shake
    body_color: tuple[int, int, int]
    head_color: tuple[int, int, int]
    scale: float  # figure height in pixels
    base_x: float
    base_y: float  # feet position
    thickness: int


def _texture(rng: np.random.Generator, h: int, w: int, bright: bool) -> np.ndarray:
    lo, hi = (150, 230) if bright else (25, 105)
    base = rng.integers(lo, hi, size=3)
    tint = rng.integers(-25, 25, size=3)
    small = rng.normal(0, 1, size=(max(2, h // 16), max(2, w // 16), 1))
    noise = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    ramp = np.linspace(-1, 1, h)[:, None, None]
    img = base + 12 * noise + tint * ramp
    for _ in range(rng.integers(2, 6)):  # furniture-like blocks, same tone as the room
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        bw, bh = rng.integers(w // 12, w // 4), rng.integers(h // 12, h // 3)
        img[y0 : y0 + bh, x0 : x0 + bw] = rng.integers(lo, hi, size=3)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_actor(rng: np.random.Generator, cfg: SynthConfig) -> Actor:
    h, w = cfg.height, cfg.width
    # Figures contrast with their room (as a person stands out from a wall),
    # but which of the two is bright changes from group to group.
    bright_room = bool(rng.random() < 0.5)
    lo, hi = (0, 90) if bright_room else (160, 256)
    body = tuple(int(c) for c in rng.integers(lo, hi, size=3))
    head = tuple(int(c) for c in rng.integers(lo, hi, size=3))
    return Actor(
        background=_texture(rng, h * 2, w * 2, bright_room),
        body_color=body,
        head_color=head,
        scale=float(rng.uniform(0.55, 0.75) * h),
        base_x=float(rng.uniform(0.35, 0.65) * w),
        base_y=float(rng.uniform(0.82, 0.95) * h),
        thickness=int(rng.integers(7, 11)),
    )


def _smooth(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)


def pose(action: str, t: float, duration: float, speed: float, phase: float, w: int) -> dict:
    """Figure pose at time ``t``: offsets, crouch (0..1), arm and leg angles."""
    cyc = 2 * np.pi * speed * t + phase
    p = {"dx": 0.0, "dy": 0.0, "crouch": 0.0, "arm_l": 0.35, "arm_r": 0.35, "leg": 0.0, "sway": 0.0}
    if action == "idle":
        p["sway"] = 0.03 * np.sin(0.5 * cyc)
    elif action == "wave":
        # The whole arm sweeps from the hip to overhead: visible even at 64x64.
        p["arm_r"] = 1.6 + 1.3 * np.sin(2.0 * cyc)
        p["arm_l"] = 1.6 - 1.3 * np.sin(2.0 * cyc + phase)
    elif action == "jump":
        p["dy"] = -abs(np.sin(cyc)) * 0.35
        p["arm_l"] = p["arm_r"] = 0.35 + 1.2 * abs(np.sin(cyc))
    elif action in ("squat_down", "stand_up"):
        # The change sits mid-clip so every training window sees most of it.
        start, span = 0.3 * duration, 0.4 * duration
        k = _smooth((t - start) / span)
        p["crouch"] = k if action == "squat_down" else 1.0 - k
        p["arm_l"] = p["arm_r"] = 0.35 + 1.0 * p["crouch"]
    elif action in ("walk_left", "walk_right"):
        sign = -1.0 if action == "walk_left" else 1.0
        p["dx"] = sign * (t - duration / 2) * WALK_SPEED * w  # centred on the clip's middle
        p["leg"] = 0.5 * np.sin(2.0 * cyc)
        p["arm_l"], p["arm_r"] = 0.35 + 0.3 * np.sin(2.0 * cyc), 0.35 - 0.3 * np.sin(2.0 * cyc)
    else:
        raise ValueError(f"unknown synthetic action {action!r}")
    return p


def draw_figure(img: np.ndarray, actor: Actor, p: dict, x: float, y: float) -> None:
    s = actor.scale
    crouch = p["crouch"]
    leg_len = 0.45 * s * (1.0 - 0.45 * crouch)
    hip = np.array([x + p["sway"] * s, y - leg_len + p["dy"] * s])
    shoulder = hip + np.array([0.0, -0.35 * s])
    head = shoulder + np.array([0.0, -0.13 * s])
    col, th = actor.body_color, actor.thickness

    def line(a, b):
        cv2.line(img, tuple(int(v) for v in a), tuple(int(v) for v in b), col, th, cv2.LINE_AA)

    line(hip, shoulder)
    knee_out = 0.18 * s * crouch
    for side, leg in ((-1, p["leg"]), (1, -p["leg"])):
        foot = np.array([hip[0] + side * 0.08 * s + np.sin(leg) * 0.3 * s, y + p["dy"] * s])
        knee = (hip + foot) / 2 + np.array([side * knee_out, 0.0])
        line(hip, knee)
        line(knee, foot)
    arm = 0.3 * s
    for side, ang in ((-1, p["arm_l"]), (1, p["arm_r"])):
        hand = shoulder + np.array([side * np.sin(ang) * arm, np.cos(ang) * arm])
        line(shoulder, hand)
    cv2.circle(img, tuple(int(v) for v in head), int(0.1 * s), actor.head_color, -1, cv2.LINE_AA)


def render_clip(action: str | None, actor: Actor, rng: np.random.Generator, cfg: SynthConfig,
                duration_s: float | None = None, x_offset: float | None = None) -> list[np.ndarray]:
    """Render BGR frames for one clip; ``action=None`` renders the empty scene.

    ``x_offset`` pins the figure's horizontal base position (scenarios use it
    so a person does not jump between segments); by default it varies per clip.
    """
    duration = duration_s or cfg.duration_s
    n = int(round(duration * cfg.fps))
    h, w = cfg.height, cfg.width
    speed = rng.uniform(0.6, 1.2)
    phase = rng.uniform(0, 2 * np.pi)
    noise_sigma = rng.uniform(1, 5)
    blur = int(rng.choice([0, 0, 3]))
    shake = rng.uniform(0, 2.0)
    # Anyone may stand anywhere: where a clip's figure is must not tell its class
    # (otherwise "standing at the right edge" would read as walk_right).
    travel = WALK_SPEED * duration / 2 * w if action in ("walk_left", "walk_right") else 0.0
    x_mid = float(np.clip(actor.base_x + rng.uniform(-0.35, 0.35) * w, 0.1 * w + travel, 0.9 * w - travel))
    occluder = None
    if rng.random() < 0.2:  # partial occlusion by a foreground block
        ow, oh = int(rng.uniform(0.08, 0.15) * w), int(rng.uniform(0.15, 0.3) * h)
        ox, oy = int(rng.uniform(0, w - ow)), int(rng.uniform(0.3, 0.9) * h - oh)
        occluder = (ox, max(0, oy), ow, oh, tuple(int(c) for c in rng.integers(0, 256, size=3)))
    frames = []
    for i in range(n):
        t = i / cfg.fps
        sx, sy = (rng.normal(0, shake, size=2) + [w / 2, h / 2]).astype(int)
        img = actor.background[sy : sy + h, sx : sx + w].copy()
        if action is not None:
            p = pose(action, t, duration, speed, phase, w)
            x = (x_mid if x_offset is None else x_offset) + p["dx"]
            draw_figure(img, actor, p, x, actor.base_y)
        if occluder:
            ox, oy, ow, oh, oc = occluder
            img[oy : oy + oh, ox : ox + ow] = oc
        if blur:
            img = cv2.GaussianBlur(img, (blur, blur), 0)
        img = np.clip(img + rng.normal(0, noise_sigma, img.shape), 0, 255).astype(np.uint8)
        frames.append(img)
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}")
    for f in frames:
        writer.write(f)
    writer.release()


def iter_dataset(cfg: SynthConfig):
    """Yield ``(class, group, clip, frames)``; deterministic for a given config."""
    for ci, cls in enumerate(cfg.classes):
        for g in range(1, cfg.groups + 1):
            # The actor depends on the group only: one actor+scene per group across classes.
            actor = make_actor(np.random.default_rng([cfg.seed, g]), cfg)
            for c in range(1, cfg.clips_per_group + 1):
                rng = np.random.default_rng([cfg.seed, g, ci, c])
                yield cls, g, c, render_clip(cls, actor, rng, cfg)


def generate(out: Path, cfg: SynthConfig = SynthConfig()) -> int:
    """Write the dataset under ``out``; returns the number of videos."""
    out = Path(out)
    count = 0
    for cls, g, c, frames in iter_dataset(cfg):
        write_video(out / cls / f"v_{cls}_g{g:02d}_c{c:02d}.mp4", frames, cfg.fps)
        count += 1
    log.debug("wrote %d videos to %s", count, out)
    return count


def render_scenario(segments: list[tuple[str | None, float]], seed: int = 0, group: int = 99,
                    cfg: SynthConfig = SynthConfig()) -> list[np.ndarray]:
    """One continuous video of several actions in a row (for the edge demo and tests).

    ``segments`` is ``[(action or None, seconds), ...]``; the same actor and
    scene play all of them, like a camera watching one person.
    """
    actor = make_actor(np.random.default_rng([seed, group]), cfg)
    frames: list[np.ndarray] = []
    x = 0.3 * cfg.width  # the person keeps their place from one segment to the next
    for k, (action, seconds) in enumerate(segments):
        rng = np.random.default_rng([seed, group, 1000 + k])
        if action is None:
            frames += render_clip(None, actor, rng, cfg, duration_s=seconds)
            continue
        start = pose(action, 0.0, seconds, 1.0, 0.0, cfg.width)["dx"]
        end = pose(action, seconds, seconds, 1.0, 0.0, cfg.width)["dx"]
        frames += render_clip(action, actor, rng, cfg, duration_s=seconds, x_offset=x - start)
        x = min(max(x - start + end, 0.1 * cfg.width), 0.9 * cfg.width)
    return frames
