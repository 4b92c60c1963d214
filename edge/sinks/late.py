"""Mark events that reach the broker late, so an automation can ignore stale ones.

Why at send time: an event waits in the outbox while the broker is down and
is delivered, in order, when it is back, minutes or days later. "Someone fell"
an hour ago should not switch on the lights now. Each payload is stamped when
it is handed to the broker with ``age_s`` (seconds since the event was made)
and ``late`` (``age_s`` above ``mqtt.late_after_s``); a resend after a lost
acknowledgement is stamped again with its new age.
"""

from __future__ import annotations

import json
import math


def stamp(payload: bytes, created: float, now: float, late_after_s: float) -> bytes:
    """``payload`` (an event's JSON) with ``age_s`` and ``late`` set; other payloads unchanged."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return payload
    if not isinstance(data, dict):
        return payload
    made = data.get("wall_time")
    made = made if isinstance(made, int | float) and math.isfinite(made) else created
    age = max(0.0, now - made)
    data["age_s"] = round(age, 3)
    data["late"] = age > late_after_s
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
