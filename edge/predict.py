"""Windows of a whole video file, cut exactly as the live pipeline cuts them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from har.edge.bundle import Bundle
from har.edge.preprocess import frame_preprocessor
from har.edge.sampler import IntervalSampler
from har.edge.sources import FileSource
from har.edge.window import Window


def sliding_windows(frames: Iterable[np.ndarray], fps: float, interval_s: float | None, seq_len: int,
                    stride: int = 1, item: Callable[[np.ndarray], np.ndarray] = lambda x: x
                    ) -> Iterator[tuple[int, np.ndarray]]:
    """``(index of the last frame, window)`` for each window the live pipeline would classify.

    Frames are taken at ``interval_s`` by their media time (``index / fps``);
    ``interval_s=None`` takes every frame. ``item`` (preprocessing, encoding)
    runs on taken frames only.
    """
    sampler = IntervalSampler(interval_s) if interval_s else None
    if sampler is not None:
        sampler.set_frame_period(1.0 / fps)
    win = Window(seq_len, stride)
    for i, frame in enumerate(frames):
        if sampler is None or sampler.accept(i / fps):
            win.push(item(frame))
            if win.due:
                yield i, win.array()


def windows_of_file(path: str | Path, bundle: Bundle, item: Callable[[np.ndarray], np.ndarray] = lambda x: x,
                    stride: int = 1) -> Iterator[np.ndarray]:
    """Yield each full window (of ``item(frame)``: frames, encoder features or pose keypoints)."""
    src = FileSource(path)
    frames = (frame for _, frame in src)
    prepare = frame_preprocessor(bundle.encoder_kind, bundle.frame_size)
    for _, window in sliding_windows(frames, src.fps, bundle.interval_s or 0.1, bundle.seq_len, stride,
                                     lambda f: item(prepare(f))):
        yield window
