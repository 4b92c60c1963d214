"""Keep up instead of lagging: switch a pose bundle to the cheaper mode it was trained for when the device is slow.

Why not just drop frames: a camera queue that overflows drops frames, and
the sampler then takes later ones, so the time between the frames the head
sees grows past the interval it was trained on and its answers quietly get
worse. A pose bundle instead declares the modes its head was trained for
(``pose.landmark_every`` in metadata.json, :mod:`har.edge.pose.modes`): the
sampling interval stays the same in all of them, only how many sampled
frames run the pose models changes.

:class:`ModeGovernor` measures what one sampled frame costs, in blocks of
sampled frames (a skip mode alternates cheap and full frames), from start-up
on. When the mean is over the budget (``budget`` of the sampling interval;
the rest is left for decoding the frames in between, the head and the
sinks) it steps to the next cheaper mode; when the cost the better mode
would have now (this mode's cost scaled by the share of frames each
computes) fits well under the budget again, it steps back. Every switch is
logged once, with the figures that made it, and is in the metrics.
Only live sources adapt: a file is read as fast as the device goes, so its
events do not depend on the machine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from har.edge.pose.modes import PoseMode

log = logging.getLogger(__name__)

#: Share of the sampling interval one sampled frame's pose work may take.
BUDGET = 0.6
#: Step back up only when the better mode's estimated cost is under this share of the budget.
UP_MARGIN = 0.75
#: Sampled frames per measurement block after the first (start-up) block.
BLOCK = 12
STARTUP_BLOCK = 6
#: Blocks to stay in a mode before stepping back up (no flapping).
MIN_BLOCKS_BEFORE_UP = 3


class ModeGovernor:
    """Choose among ``modes`` (preferred first, then cheaper) what the device sustains at ``interval_s``."""

    def __init__(self, modes: Sequence[PoseMode], interval_s: float, budget: float = BUDGET,
                 clock=time.monotonic):
        if not modes:
            raise ValueError("a governor needs at least one mode")
        self.modes = list(modes)
        self.interval_s = float(interval_s)
        self.budget_s = budget * self.interval_s
        self.index = 0
        self.switches = 0
        self.last_cost_s: float | None = None
        self._clock = clock
        self._block: list[float] = []
        self._blocks_here = 0
        self._warned_cheapest = False

    @property
    def mode(self) -> PoseMode:
        return self.modes[self.index]

    def observe(self, seconds: float) -> PoseMode | None:
        """Record one sampled frame's pose cost; returns the new mode when this frame made it switch."""
        self._block.append(float(seconds))
        need = STARTUP_BLOCK if self.switches == 0 and self._blocks_here == 0 else BLOCK
        if len(self._block) < need:
            return None
        cost = sum(self._block) / len(self._block)
        self._block.clear()
        self._blocks_here += 1
        self.last_cost_s = cost
        if cost > self.budget_s:
            if self.index + 1 < len(self.modes):
                return self._switch(self.index + 1, cost, "is over")
            if not self._warned_cheapest:
                self._warned_cheapest = True
                log.warning("pose: %.1f ms per sampled frame in the cheapest mode (%s) is over the %.0f ms budget "
                            "of the %.2f s sampling interval; frames will be dropped (fewer threads elsewhere, or "
                            "a faster device)", cost * 1e3, self.mode.name, self.budget_s * 1e3, self.interval_s)
            return None
        if self.index > 0 and self._blocks_here >= MIN_BLOCKS_BEFORE_UP:
            better = self.modes[self.index - 1]
            estimate = cost * self.mode.landmark_every / better.landmark_every
            if estimate < UP_MARGIN * self.budget_s:
                return self._switch(self.index - 1, estimate, "fits")
        return None

    def _switch(self, index: int, cost: float, verb: str) -> PoseMode:
        old = self.mode
        self.index = index
        self.switches += 1
        self._blocks_here = 0
        self._block.clear()
        log.warning("pose: %.1f ms per sampled frame %s the %.0f ms budget of the %.2f s sampling interval: "
                    "switching from %s to %s (the head was trained for both; the interval stays %.2f s)",
                    cost * 1e3, verb, self.budget_s * 1e3, self.interval_s, old.name, self.mode.name, self.interval_s)
        return self.mode

    def metrics(self) -> dict:
        """Numbers for the metrics snapshot and Prometheus (all numeric)."""
        return {"pose_landmark_every": self.mode.landmark_every, "pose_mode_switches": self.switches,
                "pose_ms_per_sampled_frame": round(self.last_cost_s * 1e3, 2) if self.last_cost_s is not None else 0.0,
                "pose_budget_ms": round(self.budget_s * 1e3, 1)}


def check_declared_modes(pose: dict) -> str | None:
    """What is wrong with a bundle's ``pose.landmark_every`` / ``pose.default_landmark_every``, or None."""
    ks = pose.get("landmark_every", [1])
    default = pose.get("default_landmark_every", ks[0] if isinstance(ks, list) and ks else None)
    if (not isinstance(ks, list) or not ks
            or not all(isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= 4 for k in ks)):
        return f"pose.landmark_every must be a list of integers from 1 to 4, not {ks!r}"
    if default not in ks or isinstance(default, bool):
        return f"pose.default_landmark_every must be one of pose.landmark_every {ks}, not {default!r}"
    return None


def bundle_modes(bundle) -> list[PoseMode]:
    """The modes a pose bundle declares, preferred first (``pose.landmark_every``; [1] for older bundles)."""
    pose = bundle.metadata.get("pose") or {}
    ks = pose.get("landmark_every") or [1]
    default = int(pose.get("default_landmark_every", ks[0]))
    ordered = [default] + sorted(int(k) for k in ks if int(k) > default)
    return [PoseMode(landmark_every=k) for k in ordered]


def measure_landmark_s(bundle, threads: int = 1, runs: int = 5) -> float:
    """Median seconds of one landmark model run (crop, model, refinement) on this device, after one warm-up.

    The model is the one the bundle runs with here (:func:`har.edge.pose.lite.choose_landmarks`).
    """
    import numpy as np

    from har.edge.pose.detector import Roi
    from har.edge.pose.landmarks import PoseLandmarker
    from har.edge.pose.lite import choose_landmarks

    lm = PoseLandmarker(choose_landmarks(bundle)[0], threads=threads)
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    roi = Roi(320.0, 240.0, 300.0, 0.0)
    lm.run(frame, roi)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        lm.run(frame, roi)
        times.append(time.perf_counter() - t0)
    return float(sorted(times)[len(times) // 2])


def sustained_mode(modes: Sequence[PoseMode], landmark_s: float, interval_s: float,
                   budget: float = BUDGET) -> tuple[PoseMode | None, float]:
    """The first of ``modes`` whose mean cost (``landmark_s`` per computed frame) fits the budget, and that cost.

    What ``har-edge doctor`` reports from a few timed landmark runs: None
    when not even the cheapest mode fits.
    """
    for m in modes:
        cost = landmark_s / m.landmark_every
        if cost <= budget * interval_s:
            return m, cost
    return None, landmark_s / modes[-1].landmark_every
