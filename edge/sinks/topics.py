"""The MQTT topics of one device, all under ``<prefix>/<slug(device_id)>/``.

Why one place: a ``device_id`` such as ``Living Room`` must become the same
topic-safe ``Living_Room`` in the event topics, the discovery configs and the
subscriptions, or Home Assistant listens where nothing is published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def slug(text: str) -> str:
    """Topic- and Home-Assistant-safe form of a label or device id."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "_"


@dataclass(frozen=True)
class Topics:
    prefix: str
    device_id: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{slug(self.device_id)}"

    @property
    def events(self) -> str:  # action_started / action_ended, QoS 1, not retained
        return f"{self.base}/events"

    @property
    def state(self) -> str:  # latest state event, retained
        return f"{self.base}/state"

    @property
    def availability(self) -> str:  # online / offline, retained; the Last Will
        return f"{self.base}/availability"

    @property
    def stats(self) -> str:  # pipeline metrics as JSON, retained
        return f"{self.base}/stats"

    @property
    def detect(self) -> str:  # ON / OFF: is detection running, retained
        return f"{self.base}/detect"

    @property
    def detect_set(self) -> str:  # commands: ON / OFF
        return f"{self.base}/detect/set"

    @property
    def snapshot(self) -> str:  # JPEG of the frame that started the latest action, retained
        return f"{self.base}/snapshot"

    def action(self, label: str) -> str:  # ON / OFF while that action is active, retained
        return f"{self.base}/action/{slug(label)}"
