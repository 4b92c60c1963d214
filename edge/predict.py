"""Windows of a whole video file, cut exactly as the live pipeline cuts them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from har.edge.bundle import Bundle
from har.edge.preprocess import preprocess_frame
from har.edge.sampler import IntervalSampler
from har.edge.sources import FileSource
from har.edge.window import Window


def windows_of_file(path: str | Path, bundle: Bundle, item: Callable[[np.ndarray], np.ndarray] = lambda x: x,
                    stride: int = 1) -> Iterator[np.ndarray]:
    """Yield each full window (of ``item(frame)``: frames or encoder features)."""
    src = FileSource(path)
    sampler = IntervalSampler(bundle.interval_s or 0.1)
    sampler.set_frame_period(1.0 / src.fps)
    win = Window(bundle.seq_len, stride)
    for ts, frame in src:
        if sampler.accept(ts):
            win.push(item(preprocess_frame(frame, bundle.frame_size)))
            if win.due:
                yield win.array()
