"""Throughput: the real edge pipeline over a file at stride 1, counted from the first classified window."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from har.edge.bench.plan import BenchError
from har.edge.pipeline import Pipeline

#: Windows classified per pipeline pass after the first (a 0.1 s interval makes that 2 s of 30 fps video).
STEADY_WINDOWS = 20


class _SteadyState:
    """Wraps a classifier: notes when the first window is classified and ends the pass ``windows`` later.

    Throughput is counted from the first classified window, because the
    seconds before it only fill the window; capping the windows keeps a slow
    variant from taking minutes per pass.
    """

    def __init__(self, inner, source, windows: int):
        self.inner, self.source, self.windows = inner, source, windows
        self.started: tuple[float, int] | None = None  # (perf_counter, index of the frame being processed)
        self.classified = 0

    def item(self, frame_u8: np.ndarray) -> np.ndarray:
        return self.inner.item(frame_u8)

    def classify(self, window: np.ndarray) -> np.ndarray:
        if self.started is None:
            self.started = (time.perf_counter(), self.source.frames_read)
        probs = self.inner.classify(window)
        self.classified += 1
        if self.classified > self.windows:
            self.source.stop()  # the pipeline ends at the next read
        return probs


def pipeline_pass(bundle, classifier, video: str | Path, windows: int = STEADY_WINDOWS) -> dict | None:
    """Run the edge :class:`Pipeline` over ``video`` at stride 1: frames/s from the first classified window on.

    ``classifier`` is anything with the pipeline's ``item``/``classify``
    interface (the Keras rows of ``har bench`` pass a Keras one). The pass
    ends ``windows`` windows after the first one, or at the end of the file.
    None for a bundle trained with uniform sampling, which the live pipeline
    cannot run.
    """
    from har.edge.config import load_config
    from har.edge.sinks.base import MultiSink
    from har.edge.sources import FileSource

    if bundle.sampling_mode != "interval":
        return None
    cfg = load_config(None, {"inference.stride": 1, "metrics.interval_s": 0.0})
    source = FileSource(video)
    timed = _SteadyState(classifier, source, windows)
    pipe_log = logging.getLogger("har.edge.pipeline")
    level = pipe_log.level
    pipe_log.setLevel(logging.WARNING)  # its metrics line at the end of a run would print once per pass
    try:
        summary = Pipeline(cfg, bundle, MultiSink([]), classifier=timed).run(source)
    finally:
        pipe_log.setLevel(level)
    end = time.perf_counter()
    if timed.started is None:
        raise BenchError(f"{video} is too short for one window of {bundle.seq_len} frames "
                         f"{bundle.interval_s:g} s apart")
    t0, first_frame = timed.started
    fps = (summary.frames - first_frame) / max(end - t0, 1e-9)
    return {"fps": round(fps, 2), "x_realtime": round(fps / source.fps, 2), "windows": timed.classified}


def decode_pass(video: str | Path) -> float:
    """Frames/s of decoding ``video`` alone: the ceiling any pipeline pass can reach."""
    from har.edge.sources import FileSource

    source = FileSource(video)
    t0 = time.perf_counter()
    n = sum(1 for _ in source)
    return round(n / max(time.perf_counter() - t0, 1e-9), 2)


def median_pass(passes: list[dict | None]) -> dict | None:
    """The pass with the median frames/s (its x real time and inference count come with it)."""
    done = sorted((p for p in passes if p is not None), key=lambda p: p["fps"])
    return done[len(done) // 2] if done else None
