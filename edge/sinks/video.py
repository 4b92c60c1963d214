"""Write an annotated copy of the video: label, confidence and fps burned into each frame.

Why: the quickest way to judge a model on a Pi is to watch what it saw next to
what it said. :func:`annotate` is pure so the workstation ``predict`` command
draws exactly the same overlay.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def annotate(frame_bgr: np.ndarray, text_lines: Sequence[str], *, alpha: float = 0.6) -> np.ndarray:
    """Return a copy of ``frame_bgr`` with ``text_lines`` top-left on a translucent dark box.

    The text size follows the frame height so the overlay stays readable from
    240p to 1080p. The input frame is not modified.
    """
    out = np.ascontiguousarray(frame_bgr).copy()
    lines = [str(t) for t in text_lines if t]
    if not lines or out.ndim != 3:
        return out
    h, w = out.shape[:2]
    scale = max(0.4, h / 720.0 * 0.8)
    thickness = max(1, round(scale * 2))
    pad = max(4, round(6 * scale))
    sizes = [cv2.getTextSize(t, _FONT, scale, thickness) for t in lines]
    line_h = max(th + base for (_, th), base in sizes) + pad
    box_w = min(w, max(tw for (tw, _), _ in sizes) + 2 * pad)
    box_h = min(h, line_h * len(lines) + pad)
    roi = out[:box_h, :box_w]
    roi[:] = (roi.astype(np.float32) * (1.0 - alpha)).astype(np.uint8)  # darken behind the text
    y = pad
    for text, ((_, th), _) in zip(lines, sizes, strict=True):
        y += th
        cv2.putText(out, text, (pad, y), _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
        y += line_h - th
    return out


#: BlazePose's skeleton: pairs of landmark indices joined by a bone (mediapipe's POSE_CONNECTIONS).
POSE_EDGES = ((0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
              (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22),
              (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30),
              (29, 31), (30, 32), (27, 31), (28, 32))


def draw_skeleton(frame_bgr: np.ndarray, landmarks: np.ndarray, min_visibility: float = 0.5) -> np.ndarray:
    """A copy of ``frame_bgr`` with the pose drawn on it: what a pose bundle's head was given.

    ``landmarks`` is ``(33, >=4)``: x, y as fractions of the frame, z, visibility;
    landmarks below ``min_visibility`` (or NaN) and their bones are left out.
    """
    out = np.ascontiguousarray(frame_bgr).copy()
    h, w = out.shape[:2]
    lm = np.asarray(landmarks, np.float32)
    ok = np.isfinite(lm[:, :4]).all(axis=1) & (np.nan_to_num(lm[:, 3]) >= min_visibility)
    px = np.nan_to_num(lm[:, :2] * np.array([w, h], np.float32)).round().astype(int)
    thickness = max(1, round(h / 240))
    for a, b in POSE_EDGES:
        if ok[a] and ok[b]:
            cv2.line(out, tuple(px[a]), tuple(px[b]), (80, 220, 80), thickness, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        cv2.circle(out, tuple(px[i]), thickness + 1, (40, 120, 255), -1, cv2.LINE_AA)
    return out


def overlay_lines(label: str | None, confidence: float, fps_now: float | None = None) -> list[str]:
    """The standard overlay text: ``wave 0.93`` (or ``idle``) and ``14.8 fps``."""
    lines = [f"{label} {confidence:.2f}" if label else "idle"]
    if fps_now is not None:
        lines.append(f"{fps_now:.1f} fps")
    return lines


class VideoSink:
    """Annotate and write frames with ``cv2.VideoWriter`` (mp4v for .mp4, MJPG for .avi).

    Not an event :class:`~har.edge.sinks.base.Sink`: it needs frames, so the
    pipeline calls :meth:`write` per frame. The writer opens lazily on the first
    frame so the size can come from the stream; with ``size=(w, h)`` frames are
    resized to it.

    ``segment_s`` starts a new file after that many seconds of video: ``path``
    becomes ``<stem>.1<ext>``, ``<stem>.1<ext>`` becomes ``<stem>.2<ext>`` and
    so on up to ``backups``. An mp4 keeps its whole index in memory until it is
    closed (about 60 bytes a frame, 4 MB an hour at 20 fps) and is unplayable
    if the power goes before that, so a device that runs for days needs
    segments. ``segment_s=0`` writes one file.
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int] | None = None,
                 segment_s: float = 0.0, backups: int = 3):
        self.path = Path(path).expanduser()
        ext = self.path.suffix.lower()
        if ext not in _FOURCC:
            raise ValueError(
                f"Unsupported video file type {ext or '(none)'!r} for {self.path}; use .mp4 or .avi."
            )
        if not fps or fps <= 0:
            raise ValueError(f"Video fps must be positive, got {fps}.")
        self.fps = float(fps)
        self.size = None if size is None else (int(size[0]), int(size[1]))
        if segment_s < 0 or backups < 0:
            raise ValueError(f"segment_s and backups must be >= 0, got {segment_s} and {backups}.")
        self._fourcc = _FOURCC[ext]
        self._writer: cv2.VideoWriter | None = None
        self.frames = 0
        self.segment_frames = round(segment_s * self.fps)
        self.backups = int(backups)
        self._in_segment = 0

    def write(
        self,
        frame_bgr: np.ndarray,
        label: str | None,
        confidence: float,
        fps_now: float | None = None,
    ) -> None:
        if frame_bgr.ndim == 2:
            frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2BGR)
        if self.segment_frames and self._in_segment >= self.segment_frames:
            self._rotate()
        if self._writer is None:
            self._open(frame_bgr)
        w, h = self.size
        if frame_bgr.shape[1] != w or frame_bgr.shape[0] != h:
            frame_bgr = cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_AREA)
        self._writer.write(annotate(frame_bgr, overlay_lines(label, confidence, fps_now)))
        self.frames += 1
        self._in_segment += 1

    def _rotate(self) -> None:
        self.stop()
        self._in_segment = 0
        if not self.backups:
            return  # the next segment starts the file over
        for i in range(self.backups - 1, 0, -1):
            if self._backup(i).exists():
                os.replace(self._backup(i), self._backup(i + 1))
        os.replace(self.path, self._backup(1))
        log.debug("rotated %s", self.path)

    def _backup(self, i: int) -> Path:
        return self.path.with_name(f"{self.path.stem}.{i}{self.path.suffix}")

    def _open(self, first: np.ndarray) -> None:
        if self.size is None:
            self.size = (int(first.shape[1]), int(first.shape[0]))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self._fourcc), self.fps, self.size)
        if not writer.isOpened():
            raise RuntimeError(
                f"Could not open a video writer for {self.path} (codec {self._fourcc}, size {self.size}); "
                "check the folder is writable and OpenCV has that codec."
            )
        self._writer = writer
        log.info(
            "writing annotated video to %s (%s, %dx%d @ %.1f fps)",
            self.path,
            self._fourcc,
            *self.size,
            self.fps,
        )

    def stop(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
