"""Home Assistant's documented MQTT discovery schema, for the platforms har-edge publishes, and its templates.

From the Home Assistant MQTT integration docs (mqtt, sensor.mqtt, binary_sensor.mqtt,
event.mqtt, switch.mqtt, image.mqtt pages): the keys each platform accepts (full
names; har-edge never abbreviates), which are required, and the enumerations it
validates. Templates are rendered with Jinja2's immutable sandbox, as Home
Assistant does, against the payloads the device really published.
"""

from __future__ import annotations

import json
from datetime import datetime

from jinja2.sandbox import ImmutableSandboxedEnvironment

COMMON = {"name", "unique_id", "object_id", "availability_topic", "payload_available", "payload_not_available",
          "device", "origin", "icon", "entity_category", "enabled_by_default", "qos", "json_attributes_topic",
          "json_attributes_template", "value_template", "state_topic", "encoding", "availability_mode"}
DEVICE_KEYS = {"identifiers", "connections", "name", "manufacturer", "model", "model_id", "sw_version",
               "hw_version", "serial_number", "suggested_area", "via_device", "configuration_url"}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
ENTITY_CATEGORIES = {"config", "diagnostic"}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
SENSOR_DEVICE_CLASSES = {"enum", "duration", "timestamp", "temperature", "humidity", "power", "energy",
                         "data_rate", "data_size", "frequency"}  # the ones a device like this could use
DURATION_UNITS = {"d", "h", "min", "s", "ms"}
BINARY_DEVICE_CLASSES = {"motion", "occupancy", "presence", "moving", "problem", "running", "safety"}
EVENT_DEVICE_CLASSES = {"button", "doorbell", "motion"}

PLATFORMS = {
    "sensor": ({"state_topic"}, {"device_class", "state_class", "unit_of_measurement", "options",
                                 "suggested_display_precision", "force_update", "expire_after"}),
    "binary_sensor": ({"state_topic"}, {"device_class", "payload_on", "payload_off", "expire_after",
                                        "force_update", "off_delay"}),
    "event": ({"state_topic", "event_types"}, {"device_class"}),
    "switch": ({"command_topic"}, {"payload_on", "payload_off", "state_on", "state_off", "optimistic",
                                   "retain", "device_class"}),
    "image": (set(), {"image_topic", "url_topic", "content_type", "image_encoding", "url_template"}),
}


def check_config(topic: str, conf: dict, discovery_prefix: str = "homeassistant") -> str:
    """Assert ``conf`` is a valid discovery config for the platform in ``topic``; returns the platform."""
    parts = topic.split("/")
    assert len(parts) == 5 and parts[0] == discovery_prefix and parts[4] == "config", topic
    platform = parts[1]
    assert platform in PLATFORMS, f"{topic}: platform {platform} not checked here"
    required, extra = PLATFORMS[platform]
    allowed = COMMON | required | extra
    assert required <= set(conf), f"{topic}: missing {required - set(conf)}"
    assert set(conf) <= allowed, f"{topic}: unknown keys {set(conf) - allowed}"
    assert isinstance(conf["unique_id"], str) and conf["unique_id"]
    assert set(conf["device"]) <= DEVICE_KEYS and conf["device"]["identifiers"]
    assert set(conf["origin"]) <= ORIGIN_KEYS and conf["origin"]["name"]
    if "entity_category" in conf:
        assert conf["entity_category"] in ENTITY_CATEGORIES, topic
    if "qos" in conf:
        assert conf["qos"] in (0, 1, 2), topic
    for key in ("value_template", "json_attributes_template"):
        if key in conf:
            ImmutableSandboxedEnvironment().from_string(conf[key])  # parses
    if platform == "sensor":
        if "state_class" in conf:
            assert conf["state_class"] in STATE_CLASSES, topic
        dc = conf.get("device_class")
        if dc is not None:
            assert dc in SENSOR_DEVICE_CLASSES, topic
        if dc == "enum":
            assert conf.get("options") and "unit_of_measurement" not in conf and "state_class" not in conf, topic
        if dc == "duration":
            assert conf.get("unit_of_measurement") in DURATION_UNITS, topic
    if platform == "binary_sensor" and "device_class" in conf:
        assert conf["device_class"] in BINARY_DEVICE_CLASSES, topic
    if platform == "event":
        assert isinstance(conf["event_types"], list) and conf["event_types"], topic
        if "device_class" in conf:
            assert conf["device_class"] in EVENT_DEVICE_CLASSES, topic
    if platform == "image":
        assert ("image_topic" in conf) != ("url_topic" in conf), topic
    return platform


def render(template: str, payload: bytes | str):
    """What Home Assistant computes from ``payload`` with ``template`` (value_json = the parsed payload)."""
    text = payload.decode() if isinstance(payload, bytes) else payload
    try:
        value_json = json.loads(text)
    except ValueError:
        value_json = None
    return ImmutableSandboxedEnvironment().from_string(template).render(value=text, value_json=value_json)


def check_event_entity(conf: dict, payload: bytes) -> dict | None:
    """The event entity's view of one events-topic payload: its attributes, or None when it does not fire."""
    out = json.loads(render(conf["value_template"], payload))
    if not out:
        return None
    assert out["event_type"] in conf["event_types"], out
    return out


def check_iso(value: str) -> datetime:
    """Home Assistant parses ISO 8601 with a UTC offset; a naive time would be read as local."""
    t = datetime.fromisoformat(value)
    assert t.utcoffset() is not None, value
    return t
