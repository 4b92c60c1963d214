"""What the edge pipeline tells the world: action started, action ended, periodic state.

Why a single small type: every sink (console, JSON lines, MQTT, ...) receives the
same :class:`Event`, and ``to_dict``/``from_dict`` is the one wire format, so a
subscriber that reads the JSON lines file can parse MQTT payloads too.

Times: ``ts``, ``started_at`` and ``ended_at`` are *media/pipeline* seconds (the
position in the video or the pipeline clock), which keeps replays of a recorded
file deterministic. ``wall_time`` is ``time.time()`` when the event was created.
The dict form also carries wall-clock ISO 8601 times (UTC, milliseconds), which
is what Home Assistant and most automations want: ``time`` (when the event was
made), and ``started_time`` / ``ended_time`` (``wall_time`` moved back by the
pipeline seconds between that moment and ``ts``).

``event_id`` is a fresh uuid4 hex per event. Delivery over MQTT is at-least-once,
so subscribers deduplicate on it; an ``action_ended`` event carries the id of its
``action_started`` event in ``start_event_id`` so the two can be joined.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

ACTION_STARTED = "action_started"
ACTION_ENDED = "action_ended"
STATE = "state"
KINDS = (ACTION_STARTED, ACTION_ENDED, STATE)

# Decimals kept by to_dict: milliseconds for times, 1e-4 for probabilities.
_TIME_DECIMALS = 3
_PROB_DECIMALS = 4


def new_event_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, kw_only=True)
class Event:
    """One thing that happened. Frozen so sinks cannot change what other sinks see.

    (The ``probabilities`` and ``stats`` dicts are still mutable objects: treat them
    as read-only.)
    """

    kind: str
    ts: float
    label: str | None = None
    confidence: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    duration_s: float | None = None
    probabilities: dict[str, float] | None = None  # state only
    stats: dict[str, Any] | None = None  # state only: fps, latency_ms, ...
    start_event_id: str | None = None  # action_ended only: id of its action_started
    event_id: str = field(default_factory=new_event_id)
    wall_time: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Event kind must be one of {', '.join(KINDS)}, got {self.kind!r}.")

    # -- helper constructors -------------------------------------------------

    @classmethod
    def started(cls, ts: float, label: str, confidence: float, started_at: float | None = None) -> Event:
        return cls(
            kind=ACTION_STARTED,
            ts=ts,
            label=label,
            confidence=confidence,
            started_at=ts if started_at is None else started_at,
        )

    @classmethod
    def ended(
        cls,
        ts: float,
        label: str,
        confidence: float,
        started_at: float,
        ended_at: float | None = None,
        start_event_id: str | None = None,
    ) -> Event:
        end = ts if ended_at is None else ended_at
        return cls(
            kind=ACTION_ENDED,
            ts=ts,
            label=label,
            confidence=confidence,
            started_at=started_at,
            ended_at=end,
            duration_s=max(0.0, end - started_at),
            start_event_id=start_event_id,
        )

    @classmethod
    def state(
        cls,
        ts: float,
        label: str | None,
        confidence: float,
        probabilities: Mapping[str, float] | None = None,
        stats: Mapping[str, Any] | None = None,
        started_at: float | None = None,
    ) -> Event:
        return cls(
            kind=STATE,
            ts=ts,
            label=label,
            confidence=confidence,
            started_at=started_at,
            probabilities=None
            if probabilities is None
            else {str(k): float(v) for k, v in probabilities.items()},
            stats=None if stats is None else dict(stats),
        )

    # -- serialization -------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict with every field (stable keys make subscribers simpler).

        Floats are rounded (times to ms, probabilities to 1e-4) and non-finite
        numbers become ``None`` because JSON has no NaN.
        """
        probs = None
        if self.probabilities is not None:
            probs = {str(k): _round(v, _PROB_DECIMALS) for k, v in self.probabilities.items()}
        return {
            "kind": self.kind,
            "event_id": self.event_id,
            "ts": _round(self.ts, _TIME_DECIMALS),
            "label": self.label,
            "confidence": _round(self.confidence, _PROB_DECIMALS),
            "started_at": _round(self.started_at, _TIME_DECIMALS),
            "ended_at": _round(self.ended_at, _TIME_DECIMALS),
            "duration_s": _round(self.duration_s, _TIME_DECIMALS),
            "probabilities": probs,
            "stats": None if self.stats is None else _json_safe(self.stats),
            "start_event_id": self.start_event_id,
            "wall_time": _round(self.wall_time, _TIME_DECIMALS),
            "time": iso_time(_round(self.wall_time, _TIME_DECIMALS)),
            "started_time": self._wall_of(self.started_at),
            "ended_time": self._wall_of(self.ended_at),
        }

    def _wall_of(self, t: float | None) -> str | None:
        """ISO wall-clock time of pipeline time ``t`` (the event was made at ``wall_time``, pipeline ``ts``)."""
        wall, ts, t = (_round(x, _TIME_DECIMALS) for x in (self.wall_time, self.ts, t))  # what to_dict keeps
        if wall is None or ts is None or t is None:
            return None
        return iso_time(wall - (ts - t))

    def to_json(self) -> str:
        """Compact one-line JSON (what the JSONL and MQTT sinks write)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Inverse of :meth:`to_dict`. Unknown keys are ignored so newer producers stay readable."""
        if "kind" not in data or "ts" not in data:
            raise ValueError("An event dict needs at least 'kind' and 'ts'.")
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known and v is not None}
        kwargs["ts"] = float(kwargs["ts"])
        for name in ("confidence", "started_at", "ended_at", "duration_s", "wall_time"):
            if name in kwargs:
                kwargs[name] = float(kwargs[name])
        if "probabilities" in kwargs:
            kwargs["probabilities"] = {str(k): float(v) for k, v in kwargs["probabilities"].items()}
        if "stats" in kwargs:
            kwargs["stats"] = dict(kwargs["stats"])
        return cls(**kwargs)


def iso_time(epoch_s: float | None) -> str | None:
    """``2026-12-01T14:25:03.123+00:00``: ISO 8601, UTC, milliseconds (what Home Assistant parses)."""
    if epoch_s is None or not math.isfinite(epoch_s):
        return None
    ms = round(epoch_s * 1000)  # whole milliseconds first: a float's .xxx9999 must not truncate down
    return datetime.fromtimestamp(ms // 1000, tz=UTC).replace(microsecond=ms % 1000 * 1000).isoformat(
        timespec="milliseconds")


def _round(x: float | None, ndigits: int) -> float | None:
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return round(x, ndigits)


def _json_safe(value: Any) -> Any:
    """Stats come from the pipeline (numpy scalars, tuples...): make them plain JSON values."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _round(value, _TIME_DECIMALS)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    # numpy scalars and arrays, without importing numpy here
    if hasattr(value, "tolist"):
        return _json_safe(value.tolist())
    return str(value)
