"""Turn a stream of per-clip probability vectors into action started/ended events.

Why: raw classifier output flickers. A label that wins one clip and loses the
next would produce a storm of started/ended messages. The smoother applies, in
order:

1. a moving average over the last ``average_windows`` probability vectors,
2. hysteresis: a label is *entered* when it is the arg-max of the average and
   its averaged probability is ``>= enter_threshold``; the active action is left
   when its averaged probability falls ``< exit_threshold`` or another label is
   entered (so a label hovering around one threshold does not flicker),
3. a minimum duration: a label must stay entered for ``min_duration_s`` before
   it is confirmed, which suppresses short blips from idle, and short takeovers
   of a running action by another label while the running one stays above
   ``exit_threshold``. The start time reported is still the moment it first
   crossed ``enter_threshold``. Leaving is not delayed: an action whose
   probability falls below ``exit_threshold`` ends at once (averaging and the
   hysteresis band are what keep single bad clips from ending it).

Background labels ("no action") are entered and left like any other label but
never produce events; entering one ends the running action.

Everything is pure numpy on the media timestamps given to :meth:`Smoother.update`,
so replaying the same file gives the same events.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from har.edge.events import Event


@dataclass
class SmootherConfig:
    """How eager the smoother is. The defaults suit a ~1 s clip model on a Pi."""

    # Average of the last k probability vectors (1 = no averaging). Larger is steadier but lags.
    average_windows: int = 3
    # An action starts when its averaged probability is >= this (and it is the top label).
    enter_threshold: float = 0.6
    # The active action ends when its averaged probability falls below this.
    exit_threshold: float = 0.4
    # A newly entered label must stay entered this many seconds before it counts.
    min_duration_s: float = 0.0
    # Labels meaning "no action": never reported, and entering one ends the active action.
    background_labels: list[str] = field(default_factory=list)
    # Seconds of media time between periodic state events (0 disables state events).
    state_interval_s: float = 5.0

    def __post_init__(self) -> None:
        if isinstance(self.average_windows, bool) or not isinstance(self.average_windows, int):
            raise ValueError(f"average_windows must be an integer, got {self.average_windows!r}.")
        if self.average_windows < 1:
            raise ValueError(f"average_windows must be at least 1, got {self.average_windows}.")
        for name in ("enter_threshold", "exit_threshold", "min_duration_s", "state_interval_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}.")
        if not 0.0 <= self.exit_threshold <= self.enter_threshold <= 1.0:
            raise ValueError(
                "Thresholds must satisfy 0 <= exit_threshold <= enter_threshold <= 1, "
                f"got exit={self.exit_threshold} and enter={self.enter_threshold}."
            )
        if self.min_duration_s < 0:
            raise ValueError(f"min_duration_s must be >= 0, got {self.min_duration_s}.")
        if self.state_interval_s < 0:
            raise ValueError(
                f"state_interval_s must be >= 0 (0 disables state events), got {self.state_interval_s}."
            )
        if isinstance(self.background_labels, str) or not all(
            isinstance(x, str) for x in self.background_labels
        ):
            raise ValueError("background_labels must be a list of label names.")
        self.background_labels = list(self.background_labels)


@dataclass
class _Track:
    """A label that is entered (candidate) or confirmed (active)."""

    index: int
    since: float  # media time it first crossed enter_threshold
    event_id: str | None = None  # id of the action_started event once confirmed
    conf_sum: float = 0.0
    n: int = 0
    last: float = 0.0

    def add(self, p: float) -> None:
        self.conf_sum += p
        self.n += 1
        self.last = p

    @property
    def mean(self) -> float:
        return self.conf_sum / self.n if self.n else 0.0


class Smoother:
    """Feed it ``update(ts, probs)`` per inference; it returns the events to publish.

    Confidence reported on ``action_ended`` is the MEAN averaged probability of the
    label over the updates from its first crossing until it ended: a steadier
    summary than the peak, which one lucky clip can set. ``action_started``
    reports the averaged probability at the moment it was confirmed.
    """

    def __init__(self, labels: Sequence[str], config: SmootherConfig | None = None):
        self.labels = [str(x) for x in labels]
        if not self.labels:
            raise ValueError("Smoother needs at least one label.")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"Labels must be unique, got {self.labels}.")
        self.config = config if config is not None else SmootherConfig()
        unknown = [b for b in self.config.background_labels if b not in self.labels]
        if unknown:
            raise ValueError(f"Background labels {unknown} are not among the model labels {self.labels}.")
        self._background = np.array([x in self.config.background_labels for x in self.labels])
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new stream starts; timestamps may restart from 0)."""
        self._window: deque[np.ndarray] = deque(maxlen=self.config.average_windows)
        self._avg: np.ndarray | None = None
        self._last_ts: float | None = None
        self._active: _Track | None = None
        self._candidate: _Track | None = None
        self._last_state_ts: float | None = None
        self._stats: dict[str, Any] | None = None

    @property
    def current(self) -> tuple[str | None, float]:
        """(active action label, its averaged probability), or (None, 0.0) when idle."""
        a = self._active
        if a is None or self._background[a.index] or self._avg is None:
            return None, 0.0
        return self.labels[a.index], float(self._avg[a.index])

    @property
    def probabilities(self) -> dict[str, float] | None:
        """The latest averaged probabilities per label (None before the first update)."""
        if self._avg is None:
            return None
        return {label: float(p) for label, p in zip(self.labels, self._avg, strict=True)}

    def update(self, ts: float, probs: np.ndarray, stats: Mapping[str, Any] | None = None) -> list[Event]:
        """Add one probability vector observed at media time ``ts`` (seconds).

        ``probs`` has one entry per label (a leading batch axis of 1 is accepted).
        ``stats`` (fps, latency...) is remembered and attached to state events.
        Returns events in order: ended before started before state.
        """
        ts = self._check_ts(ts)
        p = np.asarray(probs, dtype=np.float64)
        if p.size != len(self.labels):
            raise ValueError(
                f"Expected {len(self.labels)} probabilities (one per label), got shape {p.shape}."
            )
        p = p.reshape(-1)
        if not np.all(np.isfinite(p)):
            raise ValueError("Probabilities must be finite numbers.")
        if stats is not None:
            self._stats = dict(stats)

        self._window.append(p)
        avg = np.mean(np.stack(self._window), axis=0)
        self._avg = avg
        cfg = self.config
        events: list[Event] = []

        # 1. Which label (if any) is entered now, other than the active one?
        top = int(np.argmax(avg))
        top_p = float(avg[top])
        active = self._active
        if top_p >= cfg.enter_threshold and (active is None or top != active.index):
            if self._candidate is None or self._candidate.index != top:
                self._candidate = _Track(top, ts)
            self._candidate.add(top_p)
        else:
            self._candidate = None
        cand = self._candidate

        # 2. Does the active label fall out on its own? If a candidate has been entered
        #    meanwhile, the active one really ended when the candidate took over.
        if active is not None:
            a_p = float(avg[active.index])
            if a_p < cfg.exit_threshold:
                events += self._end(ts, ended_at=cand.since if cand else ts)
            else:
                active.add(a_p)

        # 3. Confirm the candidate once it has lasted min_duration_s.
        if cand is not None and ts - cand.since >= cfg.min_duration_s:
            if self._active is not None:
                events += self._end(ts, ended_at=cand.since)
            self._candidate = None
            self._active = cand
            if not self._background[cand.index]:
                ev = Event.started(ts, self.labels[cand.index], cand.last, started_at=cand.since)
                cand.event_id = ev.event_id
                events.append(ev)

        # 4. State: periodically, and right after a change so retained state is fresh.
        if cfg.state_interval_s > 0 and (
            events or self._last_state_ts is None or ts - self._last_state_ts >= cfg.state_interval_s
        ):
            events.append(self._state(ts))
        return events

    def flush(self, ts: float | None = None) -> list[Event]:
        """End of stream: end the open action at ``ts`` (default: the last update time), then reset."""
        if ts is None:
            ts = self._last_ts
        if ts is None:  # never updated
            return []
        ts = self._check_ts(ts)
        events = self._end(ts, ended_at=ts) if self._active is not None else []
        self._active = None
        if events and self.config.state_interval_s > 0:
            events.append(self._state(ts))
        self.reset()
        return events

    # -- internals -----------------------------------------------------------

    def _check_ts(self, ts: float) -> float:
        ts = float(ts)
        if not math.isfinite(ts):
            raise ValueError(f"Timestamp must be a finite number of seconds, got {ts}.")
        if self._last_ts is not None and ts < self._last_ts:
            raise ValueError(
                f"Timestamps must not decrease: got {ts} after {self._last_ts} (call reset() for a new stream)."
            )
        self._last_ts = ts
        return ts

    def _end(self, ts: float, ended_at: float) -> list[Event]:
        """Leave the active label; only real actions produce an event."""
        a = self._active
        self._active = None
        if a is None or self._background[a.index]:
            return []
        ended_at = max(ended_at, a.since)
        return [
            Event.ended(
                ts,
                self.labels[a.index],
                a.mean,
                started_at=a.since,
                ended_at=ended_at,
                start_event_id=a.event_id,
            )
        ]

    def _state(self, ts: float) -> Event:
        self._last_state_ts = ts
        label, conf = self.current
        a = self._active
        return Event.state(
            ts,
            label,
            conf,
            probabilities=self.probabilities,
            stats=self._stats,
            started_at=a.since if label is not None and a is not None else None,
        )
