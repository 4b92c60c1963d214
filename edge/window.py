"""A ring buffer of the last ``seq_len`` sampled items (frames or features).

``ready`` says when a window is full; ``due`` says when to classify: every
``stride`` new items once full, so inference cost is set by the stride, not the
camera. ``clear()`` starts over after a gap in the video, because a window
spanning an outage would show the model motion that never happened.
"""

from __future__ import annotations

import numpy as np


class Window:
    def __init__(self, seq_len: int, stride: int = 1):
        if seq_len < 1 or stride < 1:
            raise ValueError("seq_len and stride must be >= 1")
        self.seq_len = seq_len
        self.stride = stride
        self._buf: np.ndarray | None = None
        self._count = 0  # items pushed since the last clear
        self._pos = 0

    def push(self, item: np.ndarray) -> None:
        if self._buf is None or self._buf.shape[1:] != item.shape or self._buf.dtype != item.dtype:
            self._buf = np.zeros((self.seq_len, *item.shape), item.dtype)
        self._buf[self._pos] = item
        self._pos = (self._pos + 1) % self.seq_len
        self._count += 1

    @property
    def ready(self) -> bool:
        return self._count >= self.seq_len

    @property
    def due(self) -> bool:
        return self.ready and (self._count - self.seq_len) % self.stride == 0

    def array(self) -> np.ndarray:
        """Items oldest first, shape ``(seq_len, ...)``."""
        if not self.ready or self._buf is None:
            raise RuntimeError("window not full yet")
        return np.roll(self._buf, -self._pos, axis=0)

    def clear(self) -> None:
        self._count = 0
        self._pos = 0
