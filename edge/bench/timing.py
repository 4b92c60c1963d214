"""Latency: p50/p95 of every runner, interleaved round by round so a slow moment hits all of them alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np


def summarize(seconds: Iterable[float]) -> dict:
    """p50 and p95 in milliseconds of per-call times given in seconds."""
    s = np.asarray(list(seconds), dtype=np.float64) * 1e3
    return {"p50": round(float(np.percentile(s, 50)), 4), "p95": round(float(np.percentile(s, 95)), 4),
            "n": int(s.size)}


def time_interleaved(runners: dict[str, Callable[[], object]], rounds: int = 7, per_round: int = 8,
                     warmup: int = 3) -> dict[str, dict]:
    """p50/p95 ms per call of each runner, interleaved round by round after ``warmup`` calls each."""
    samples: dict[str, list[float]] = {k: [] for k in runners}
    for fn in runners.values():
        for _ in range(warmup):
            fn()
    for _ in range(rounds):
        for key, fn in runners.items():
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                samples[key].append(time.perf_counter() - t0)
    return {k: summarize(v) for k, v in samples.items()}
