import dataclasses
import json
import math

import numpy as np
import pytest

from har.edge.events import ACTION_ENDED, ACTION_STARTED, STATE, Event


def test_helper_constructors_fill_the_right_fields():
    s = Event.started(12.4, "wave", 0.93, started_at=12.0)
    assert (s.kind, s.label, s.ts, s.started_at, s.confidence) == (ACTION_STARTED, "wave", 12.4, 12.0, 0.93)
    e = Event.ended(15.1, "wave", 0.8, started_at=12.0, start_event_id=s.event_id)
    assert e.kind == ACTION_ENDED and e.ended_at == 15.1 and e.start_event_id == s.event_id
    assert e.duration_s == pytest.approx(3.1)
    st = Event.state(20.0, None, 0.0, probabilities={"wave": 0.1}, stats={"fps": 14.9})
    assert st.kind == STATE and st.probabilities == {"wave": 0.1} and st.stats == {"fps": 14.9}


def test_ids_are_unique_uuid4_hex_and_wall_time_is_set():
    ids = {Event.started(0.0, "a", 1.0).event_id for _ in range(200)}
    assert len(ids) == 200
    ev = Event.started(0.0, "a", 1.0)
    assert len(ev.event_id) == 32 and int(ev.event_id, 16) >= 0
    assert ev.wall_time > 1.6e9


def test_events_are_frozen_and_kind_is_validated():
    ev = Event.started(1.0, "a", 0.9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.label = "b"
    with pytest.raises(ValueError, match="kind"):
        Event(kind="bogus", ts=0.0)


def test_to_dict_is_json_safe_and_rounded():
    ev = Event.state(
        1.23456789,
        "wave",
        0.987654321,
        probabilities={"wave": np.float32(0.987654321), "clap": 0.0123456},
        stats={
            "fps": np.float64(14.94321),
            "frames": np.int64(7),
            "nan": float("nan"),
            "shape": (1, 2),
            "arr": np.ones(2),
        },
    )
    d = ev.to_dict()
    text = json.dumps(d, allow_nan=False)  # would raise on NaN / numpy types
    assert d["ts"] == 1.235 and d["confidence"] == 0.9877
    assert d["probabilities"] == {"wave": 0.9877, "clap": 0.0123}
    assert d["stats"] == {"fps": 14.943, "frames": 7, "nan": None, "shape": [1, 2], "arr": [1.0, 1.0]}
    assert json.loads(text) == d
    assert ev.to_json() == json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def test_dict_round_trip_keeps_identity_and_ignores_unknown_keys():
    s = Event.started(3.0, "wave", 0.9)
    e = Event.ended(5.5, "wave", 0.75, started_at=3.0, start_event_id=s.event_id)
    for ev in (s, e):
        d = ev.to_dict()
        d["device_id"] = "pi"  # added by the MQTT sink
        back = Event.from_dict(json.loads(json.dumps(d)))
        assert back.to_dict() == ev.to_dict()  # equal up to to_dict's rounding
        assert (back.event_id, back.kind, back.label, back.start_event_id) == (
            ev.event_id,
            ev.kind,
            ev.label,
            ev.start_event_id,
        )
    with pytest.raises(ValueError, match="kind"):
        Event.from_dict({"label": "x"})


def test_non_finite_times_become_null():
    assert Event.started(math.inf, "a", 0.5).to_dict()["ts"] is None
