"""Open a video file for reading, with uncompressed AVI decoded here.

Uncompressed (``BI_RGB``) AVI is the format of several classic action
datasets (Weizmann among them). OpenCV 4.13 and 4.14's bundled FFmpeg corrupt
the heap decoding it and abort the whole process, which no ``try`` can catch.
Those files are trivial to read directly: a RIFF walk to the frames and one
``np.frombuffer`` per frame. Everything else goes to ``cv2.VideoCapture``.

:func:`open_video` returns an object with the small part of the
``cv2.VideoCapture`` interface the readers use: ``isOpened``, ``read``,
``get`` (fps, size, frame count) and ``release``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

#: Extensions read as video files everywhere: datasets, `har-edge eval` folders, URLs to download.
VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".gif", ".mpg", ".mpeg")
_FRAME_CHUNKS = (b"db", b"dc")


def open_video(path: str | Path):
    """A capture for ``path``: :class:`RawAvi` where it applies, else OpenCV's."""
    raw = RawAvi.probe(path)
    return raw if raw is not None else cv2.VideoCapture(str(path))


class RawAvi:
    """Frames of an uncompressed 24- or 32-bit RGB AVI, read with numpy."""

    def __init__(self, path: Path, fps: float, width: int, height: int, bpp: int,
                 frames: list[tuple[int, int]]):
        self.path, self.fps, self.width, self.height = path, fps, width, height
        self._flip = height > 0  # DIBs are stored bottom-up unless the height is negative
        self._bpp, self._frames = bpp, frames
        self._next = 0
        self._file = open(path, "rb")

    @classmethod
    def probe(cls, path: str | Path) -> RawAvi | None:
        """A reader if ``path`` is a local uncompressed AVI, else None (let OpenCV try).

        Reads chunk headers only (and stops at the stream format when it is
        compressed), so probing a multi-gigabyte file costs a few reads.
        """
        p = Path(path)
        if "://" in str(path) or not p.is_file():
            return None
        info, frames = {"streams": 0}, []
        try:
            with open(p, "rb") as f:
                if f.read(12)[8:12] != b"AVI ":
                    return None
                _walk(f, 12, p.stat().st_size, info, frames)
        except (OSError, struct.error, ValueError, _NotRaw):
            return None
        if "format" not in info or not frames:
            return None
        width, height, bpp = info["format"]
        size = ((width * bpp // 8 + 3) & ~3) * abs(height)
        frames = [(off, n) for off, n in frames if n >= size]
        scale, rate = info.get("rate", (0, 0))
        return cls(p, rate / scale if scale and rate else 0.0, width, height, bpp, frames)

    def isOpened(self) -> bool:  # noqa: N802 - the cv2.VideoCapture name
        return not self._file.closed

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self._file.closed or self._next >= len(self._frames):
            return False, None
        off, _ = self._frames[self._next]
        self._next += 1
        w, h, ch = self.width, abs(self.height), self._bpp // 8
        row = (w * ch + 3) & ~3
        self._file.seek(off)
        buf = self._file.read(row * h)
        if len(buf) < row * h:  # truncated file: stop like a decoder at a damaged end
            self._next = len(self._frames)
            return False, None
        img = np.frombuffer(buf, np.uint8).reshape(h, row)[:, : w * ch].reshape(h, w, ch)[:, :, :3]
        return True, np.ascontiguousarray(img[::-1] if self._flip else img)

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FRAME_WIDTH: float(self.width),
                cv2.CAP_PROP_FRAME_HEIGHT: float(abs(self.height)),
                cv2.CAP_PROP_FRAME_COUNT: float(len(self._frames))}.get(prop, 0.0)

    def release(self) -> None:
        self._file.close()


class _NotRaw(Exception):
    """The video stream is compressed: OpenCV's business."""


def _walk(f, start: int, end: int, info: dict, frames: list) -> None:
    """Collect the first video stream's format, its rate and its frame offsets, reading headers only."""
    off = start
    while off + 8 <= end:
        f.seek(off)
        head = f.read(8)
        if len(head) < 8:
            return
        cid, (size,) = head[:4], struct.unpack("<I", head[4:])
        body = off + 8
        if cid in (b"RIFF", b"LIST"):
            _walk(f, body + 4, min(body + size, end), info, frames)
        elif cid == b"strh":
            strh = f.read(28)
            if "video" not in info and strh[:4] == b"vids":
                info["video"] = b"%02d" % info["streams"]
                info["rate"] = struct.unpack("<II", strh[20:28])
            info["streams"] += 1
        elif cid == b"strf" and "video" in info and "format" not in info:
            width, height, _, bpp, compression = struct.unpack("<iiHHI", f.read(20)[4:20])
            if compression != 0 or bpp not in (24, 32) or width <= 0 or height == 0:
                raise _NotRaw
            info["format"] = (width, height, bpp)
        elif cid[:2] == info.get("video") and cid[2:] in _FRAME_CHUNKS and size:
            frames.append((body, size))
        if size == 0 and cid == b"\0\0\0\0":
            return  # zero padding after the last chunk
        off = body + size + (size & 1)
