"""Human-readable event lines on a terminal."""

from __future__ import annotations

import sys
from typing import TextIO

from har.edge.events import ACTION_ENDED, ACTION_STARTED, STATE, Event
from har.edge.sinks.base import Sink

_UNICODE = ("▶", "■", "·")
_ASCII = (">", "#", ".")


class ConsoleSink(Sink):
    """One line per started/ended event; state lines only with ``show_state=True``.

    Falls back to ASCII markers when the stream cannot encode the Unicode ones
    (a Windows console or ``LANG=C`` over SSH to a Pi).
    """

    def __init__(self, stream: TextIO | None = None, show_state: bool = False):
        self.stream = stream if stream is not None else sys.stdout
        self.show_state = show_state
        self._marks = _UNICODE if _can_encode(self.stream, "".join(_UNICODE)) else _ASCII

    def format(self, event: Event) -> str | None:
        """The line for ``event`` (without newline), or None if it is not shown."""
        start, end, dot = self._marks
        t = f"{event.ts:.2f}s"
        label = event.label if event.label is not None else "-"
        if event.kind == ACTION_STARTED:
            return f"{t}  {start} {'started':<8} {label}  ({event.confidence:.2f})"
        if event.kind == ACTION_ENDED:
            return f"{t}  {end} {'ended':<8} {label}  after {event.duration_s or 0.0:.2f}s"
        if event.kind == STATE and self.show_state:
            label = event.label if event.label is not None else "idle"
            line = f"{t}  {dot} {'state':<8} {label}  ({event.confidence:.2f})"
            for key, value in (event.stats or {}).items():
                line += f"  {key}={value:.1f}" if isinstance(value, float) else f"  {key}={value}"
            return line
        return None

    def publish(self, event: Event) -> None:
        line = self.format(event)
        if line is not None:
            self.stream.write(line + "\n")
            self.stream.flush()

    def stop(self) -> None:
        self.stream.flush()


def _can_encode(stream: TextIO, text: str) -> bool:
    encoding = getattr(stream, "encoding", None)
    if not encoding:  # StringIO and friends hold str: anything goes
        return True
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True
