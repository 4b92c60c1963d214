"""What a benchmark run measures: its variants, its thread counts, and its one error."""

from __future__ import annotations

from dataclasses import dataclass

from har.edge.config import MAX_THREADS
from har.edge.errors import HarError
from har.edge.records import ConfigError


class BenchError(HarError, RuntimeError):
    """A benchmark that could not run; the message is one sentence saying why."""


@dataclass(frozen=True)
class Variant:
    """One thing to time: a bundle run whole-window or streaming, with optional test clips to classify."""

    name: str
    bundle: str
    mode: str  # "window" or "streaming"
    test_clips: str | None = None  # .npz with "clips" (uint8, N x seq_len x H x W x 3)


def parse_threads(text: str) -> tuple[int, ...]:
    """``"1,2"`` -> ``(1, 2)``; a ConfigError (a ValueError) with one sentence otherwise."""
    try:
        threads = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        threads = ()
    if not threads or min(threads) < 1 or max(threads) > MAX_THREADS:
        raise ConfigError(f"--threads must be comma-separated positive integers (at most {MAX_THREADS}) such as "
                         f"1,2, not {text!r}")
    return threads


def one_line(e: BaseException) -> str:
    """An exception as one line of at most 300 characters, for a row's ``error``."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."
