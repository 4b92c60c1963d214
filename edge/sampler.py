"""Pick frames by timestamp at the rate the model was trained on.

Why timestamps and not "every Nth frame": a camera's fps drifts, drops frames
and differs from the training videos'. Training cut clips at fixed seconds
between frames (``interval_s``); taking the frame nearest to each target time
here gives the model the same motion speed whatever the camera does.
"""

from __future__ import annotations


class IntervalSampler:
    """Accept one frame every ``interval_s`` seconds of media time."""

    def __init__(self, interval_s: float, tolerance_s: float = 0.0):
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self.interval_s = interval_s
        self.tolerance_s = tolerance_s  # half a frame period picks the nearest frame
        self._next: float | None = None
        self.accepted = 0

    def set_frame_period(self, period_s: float) -> None:
        """Frames within half a period of a target time count as on time."""
        self.tolerance_s = max(0.0, 0.5 * period_s - 1e-6)

    def accept(self, ts: float) -> bool:
        if self._next is None:
            self._next = ts
        if ts + self.tolerance_s < self._next:
            return False
        self._next += self.interval_s
        if self._next <= ts - self.tolerance_s:
            # A gap (camera stall) longer than one interval: restart the grid
            # instead of accepting a burst of late frames.
            self._next = ts + self.interval_s
        self.accepted += 1
        return True

    def reset(self) -> None:
        self._next = None
