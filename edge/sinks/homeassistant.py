"""Home Assistant MQTT discovery: the retained configs that make a device and its entities appear.

Why its own module: the MQTT sink delivers; what Home Assistant needs to see
(entity kinds, device block, origin, units) changes with Home Assistant and
with the labels of a bundle, and is easier to check against Home Assistant's
documented schema in one place (tests/edge/ha_schema.py does).

Entities, all under one device ``HAR <device_id>``:

* ``sensor`` Activity: the current action (``idle`` when none), an ``enum``;
* ``event`` Detection: fires ``action_started`` events, ``event_type`` = label;
* ``binary_sensor`` per action label: ``ON`` while that action is active;
* ``switch`` Detection enabled: ``<base>/detect/set`` turns detection off/on;
* ``sensor`` Input fps, Inference latency, Dropped frames (diagnostic, from ``<base>/stats``);
* ``image`` Snapshot when ``mqtt.snapshot`` is on.

Orphans: a bundle with other labels leaves retained configs of the old ones
behind, and Home Assistant keeps their entities. The sink subscribes to this
device's discovery topics and clears (empty retained payload) every config
that :func:`discovery_configs` no longer produces: see :func:`is_orphan`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from har.edge.sinks.topics import Topics, slug

ORIGIN_NAME = "har-edge"


def node_id(device_id: str) -> str:
    return slug(device_id)


def discovery_filter(discovery_prefix: str, device_id: str) -> str:
    """Subscription that returns every retained discovery config of this device (to find orphans)."""
    return f"{discovery_prefix}/+/{node_id(device_id)}/+/config"


def is_orphan(topic: str, payload: bytes, current: set[str]) -> bool:
    """A retained, non-empty discovery config of this device that the current configs no longer hold."""
    return bool(payload) and topic.endswith("/config") and topic not in current


def discovery_configs(cfg, labels: Sequence[str], topics: Topics, version: str) -> dict[str, dict[str, Any]]:
    """Discovery topic -> config payload for ``labels`` (the action labels, background left out)."""
    node = node_id(cfg.device_id)
    dp = cfg.discovery_prefix
    device: dict[str, Any] = {
        "identifiers": [f"har-edge-{node}"],
        "name": f"HAR {cfg.device_id}",
        "manufacturer": "har-edge",
        "model": "activity recognition",
        "sw_version": version,
    }
    if cfg.configuration_url:
        device["configuration_url"] = cfg.configuration_url
    common = {
        "availability_topic": topics.availability,
        "device": device,
        "origin": {"name": ORIGIN_NAME, "sw_version": version},
    }
    options = list(dict.fromkeys([*labels, "idle"]))
    configs: dict[str, dict[str, Any]] = {
        f"{dp}/sensor/{node}/activity/config": {
            "name": "Activity",
            "unique_id": f"har_{node}_activity",
            "state_topic": topics.state,
            "device_class": "enum",
            "options": options,
            "value_template": "{{ value_json.label if value_json.label else 'idle' }}",
            "json_attributes_topic": topics.state,
            "json_attributes_template": (
                "{{ {'confidence': value_json.confidence, 'started_time': value_json.started_time,"
                " 'probabilities': value_json.probabilities} | tojson }}"
            ),
            "icon": "mdi:human",
            **common,
        },
        f"{dp}/event/{node}/detection/config": {
            "name": "Detection",
            "unique_id": f"har_{node}_detection",
            "state_topic": topics.events,
            "qos": cfg.qos_events,
            "device_class": "motion",
            "event_types": list(labels),
            # Only action_started fires the entity; "{}" is ignored by Home Assistant. Late events
            # (delivered from the outbox after an outage) keep their late/age_s attributes.
            "value_template": (
                "{% if value_json.kind == 'action_started' %}"
                "{{ {'event_type': value_json.label, 'confidence': value_json.confidence,"
                " 'event_id': value_json.event_id, 'time': value_json.time,"
                " 'late': value_json.late, 'age_s': value_json.age_s} | tojson }}"
                "{% else %}{}{% endif %}"
            ),
            **common,
        },
        f"{dp}/switch/{node}/detect/config": {
            "name": "Detection enabled",
            "unique_id": f"har_{node}_detect",
            "command_topic": topics.detect_set,
            "state_topic": topics.detect,
            "payload_on": "ON",
            "payload_off": "OFF",
            "entity_category": "config",
            "icon": "mdi:eye",
            **common,
        },
        f"{dp}/sensor/{node}/input_fps/config": {
            "name": "Input fps",
            "unique_id": f"har_{node}_input_fps",
            "state_topic": topics.stats,
            "value_template": "{{ value_json.input_fps }}",
            "unit_of_measurement": "fps",
            "state_class": "measurement",
            "entity_category": "diagnostic",
            **common,
        },
        f"{dp}/sensor/{node}/latency/config": {
            "name": "Inference latency",
            "unique_id": f"har_{node}_latency",
            "state_topic": topics.stats,
            "value_template": "{{ value_json.latency_ms_p50 }}",
            "unit_of_measurement": "ms",
            "device_class": "duration",
            "state_class": "measurement",
            "entity_category": "diagnostic",
            **common,
        },
        f"{dp}/sensor/{node}/dropped_frames/config": {
            "name": "Dropped frames",
            "unique_id": f"har_{node}_dropped_frames",
            "state_topic": topics.stats,
            "value_template": "{{ value_json.dropped_frames }}",
            "state_class": "total_increasing",
            "entity_category": "diagnostic",
            **common,
        },
    }
    if cfg.snapshot:
        configs[f"{dp}/image/{node}/snapshot/config"] = {
            "name": "Snapshot",
            "unique_id": f"har_{node}_snapshot",
            "image_topic": topics.snapshot,
            "content_type": "image/jpeg",
            **common,
        }
    for label in labels:
        s = slug(label)
        configs[f"{dp}/binary_sensor/{node}/action_{s}/config"] = {
            "name": label,
            "unique_id": f"har_{node}_action_{s}",
            "state_topic": topics.action(label),
            "payload_on": "ON",
            "payload_off": "OFF",
            **common,
        }
    return configs
