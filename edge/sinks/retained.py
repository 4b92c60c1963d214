"""The retained latest-value topics of the MQTT sink, coalesced.

Availability, the latest state, detection ON/OFF and the snapshot are
*latest-only*: a subscriber wants the current value, never a backlog, so
they are not queued in the outbox. Setting a value marks it dirty;
:meth:`Retained.take` hands the worker what changed since the last call
(everything after :meth:`Retained.mark_all`, on every (re)connect) and the
orphaned discovery configs to clear. An action's ON/OFF is the exception:
every transition goes out in order, so an action that starts and ends
between two passes of the worker still shows as ON, then OFF, in Home
Assistant's history. Not thread-safe on its own: the sink calls it under
its condition lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from har.edge.sinks.topics import Topics

#: (topic, payload, qos) for ``client.publish(..., retain=True)``.
Message = tuple[str, "bytes | str", int]


class Retained:
    def __init__(self, topics: Topics, labels: Sequence[str]):
        self.topics = topics
        self.online = True
        self.detecting = True
        self.state: bytes | None = None
        self.actions = dict.fromkeys(labels, False)
        self._snapshot: bytes | None = None
        self._orphans: set[str] = set()
        self._dirty: set[str] = {"detect"}  # keys: availability, state, detect
        self._transitions: list[tuple[str, bool]] = []  # (label, on), in order

    def set_online(self, online: bool) -> None:
        self.online = bool(online)
        self._dirty.add("availability")

    def set_state(self, payload: bytes) -> None:
        self.state = payload
        self._dirty.add("state")

    def set_action(self, label: str, on: bool) -> None:
        if label in self.actions:
            self.actions[label] = on
            self._transitions.append((label, on))

    def set_detect(self, on: bool) -> None:
        self.detecting = on
        self._dirty.add("detect")

    def set_snapshot(self, jpeg: bytes) -> None:
        self._snapshot = jpeg

    def add_orphan(self, topic: str) -> None:
        """A retained discovery config whose label is gone: cleared with an empty payload."""
        self._orphans.add(topic)

    def relabel(self, labels: Sequence[str]) -> None:
        self.actions = {x: self.actions.get(x, False) for x in labels}

    def mark_all(self) -> None:
        """After a (re)connect or a Home Assistant restart every value goes out again."""
        self._dirty |= {"availability", "detect"}
        self._transitions = list(self.actions.items())
        if self.state is not None:
            self._dirty.add("state")

    def take(self) -> list[Message]:
        """What changed since the last call, QoS 0 (re-sent on every connect, so paho never replays a stale one);
        orphan clears at QoS 1 (sent once)."""
        t, dirty, out = self.topics, self._dirty, []
        if "availability" in dirty:
            out.append((t.availability, "online" if self.online else "offline", 0))
        if "state" in dirty and self.state is not None:
            out.append((t.state, self.state, 0))
        out += [(t.action(x), "ON" if on else "OFF", 0) for x, on in self._transitions if x in self.actions]
        if "detect" in dirty:
            out.append((t.detect, "ON" if self.detecting else "OFF", 0))
        out += [(topic, b"", 1) for topic in sorted(self._orphans)]
        if self._snapshot is not None:
            out.append((t.snapshot, self._snapshot, 0))
        self._dirty, self._orphans, self._snapshot, self._transitions = set(), set(), None, []
        return out
