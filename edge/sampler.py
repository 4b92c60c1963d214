"""Pick frames by timestamp at the rate the model was trained on.

Why timestamps and not "every Nth frame": a camera's fps drifts, drops frames
and differs from the training videos'. Training cut clips at fixed seconds
between frames (``interval_s``); taking the frame nearest to each target time
here gives the model the same motion speed whatever the camera does.
"""

from __future__ import annotations

EPS = 1e-9  # ties go to the earlier frame, exactly as training's round-half-up does


class IntervalSampler:
    """Accept one frame every ``interval_s`` seconds of media time.

    Targets are ``t0 + k * interval_s`` (computed, not accumulated, so there is
    no float drift); a frame within half a frame period of the target is taken,
    which is the nearest frame, the same one :func:`har.models.clips.clip_indices`
    picks from a file.
    """

    def __init__(self, interval_s: float, tolerance_s: float = 0.0):
        if not 0 < interval_s < float("inf"):  # NaN would take every frame, infinity none
            raise ValueError(f"interval_s must be a finite number > 0, not {interval_s!r}")
        self.interval_s = interval_s
        self.tolerance_s = tolerance_s
        self._t0: float | None = None
        self._k = 0

    def set_frame_period(self, period_s: float) -> None:
        """Frames within half a period of a target time count as on time."""
        self.tolerance_s = max(0.0, 0.5 * period_s)

    def accept(self, ts: float) -> bool:
        if self._t0 is None:
            self._t0, self._k = ts, 0
        target = self._t0 + self._k * self.interval_s
        if ts + self.tolerance_s + EPS < target:
            return False
        self._k += 1
        if self._t0 + self._k * self.interval_s <= ts - self.tolerance_s:
            # A gap (camera stall) longer than one interval: restart the grid
            # here instead of accepting a burst of late frames.
            self._t0, self._k = ts, 1
        return True

    def reset(self) -> None:
        self._t0 = None
