"""Pipeline health numbers: input fps, inferences per second, latency, drops.

Logged every ``interval_s`` and at exit, and optionally served in Prometheus
text format by :mod:`har.edge.prometheus` so a fleet can be scraped without extra agents.
The process's own memory, threads and open files are included (on Linux), so
a leak shows on a dashboard long before it takes a device down; sinks add
gauges of their own (the MQTT outbox backlog) through :attr:`Metrics.gauges`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from har.edge.prometheus import LatencyHistogram

log = logging.getLogger(__name__)


class Metrics:
    def __init__(self, window: int = 500):
        self.t0 = time.monotonic()
        self.frames = 0
        self.sampled = 0
        self.inferences = 0
        self.events = 0
        self.dropped = 0
        self.queue_depth = 0
        self.outages = 0
        self.extra: dict[str, float] = {}  # numbers other stages report (a pose bundle's mode: har.edge.pose.adapt)
        self._lat_ms: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()
        self.gauges: dict[str, Callable[[], float]] = {}  # name -> reader, e.g. the MQTT outbox backlog

        self.latency_hist = LatencyHistogram()  # raw counts for /metrics (har.edge.prometheus)

    def inference(self, latency_s: float) -> None:
        self.latency_hist.observe(latency_s)
        with self._lock:
            self.inferences += 1
            self._lat_ms.append(latency_s * 1000.0)

    @property
    def input_fps(self) -> float:
        """Frames per second since start; cheap enough for every frame."""
        return self.frames / max(time.monotonic() - self.t0, 1e-9)

    def snapshot(self) -> dict:
        with self._lock:
            lat = np.asarray(self._lat_ms) if self._lat_ms else np.zeros(1)
            elapsed = max(time.monotonic() - self.t0, 1e-9)
            return {
                "uptime_s": round(elapsed, 1),
                "frames": self.frames,
                "input_fps": round(self.frames / elapsed, 1),
                "sampled_frames": self.sampled,
                "inferences": self.inferences,
                "inferences_per_s": round(self.inferences / elapsed, 2),
                "latency_ms_p50": round(float(np.percentile(lat, 50)), 2),
                "latency_ms_p95": round(float(np.percentile(lat, 95)), 2),
                "dropped_frames": self.dropped,
                "queue_depth": self.queue_depth,
                "events": self.events,
                "source_outages": self.outages,
                **self.extra,
            }

    def report(self) -> dict:
        """:meth:`snapshot` plus the process's memory, threads and files and the sinks' gauges (slower)."""
        return {**self.snapshot(), **process_stats(), **{name: _read(fn) for name, fn in self.gauges.items()}}


def _read(fn: Callable[[], float]) -> float:
    try:
        return fn()
    except Exception:  # a stopped sink: report nothing rather than fail the scrape
        return -1


def process_stats() -> dict:
    """Resident memory (MB), threads and open file descriptors of this process; {} where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return {
            "rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
            "threads": int(fields["Threads"]),
            "open_fds": len(os.listdir("/proc/self/fd")),
        }
    except (OSError, KeyError, ValueError):
        return {}
