"""Write an annotated copy of the video: label, confidence and fps burned into each frame.

Why: the quickest way to judge a model on a Pi is to watch what it saw next to
what it said. The drawing itself is :mod:`har.edge.draw`, so the workstation
``predict`` command draws exactly the same overlay.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from har.edge.draw import annotate, overlay_lines

log = logging.getLogger(__name__)

_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}


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
