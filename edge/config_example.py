"""The example config, generated from the config schema itself.

Why generated: a hand-written example drifted from the code (missing options,
wrong defaults). Here every option of :class:`~har.edge.config.EdgeConfig`
appears with its real default and one line of help; a test fails when an
option has no help or ``configs/edge.example.toml`` differs from
:func:`render`. ``har-edge init`` writes the same text with a device's values.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from har.edge.config import EdgeConfig

HEADER = """\
# har-edge device configuration: every option, with its default.
# Generated from the config schema (har.edge.config_example); a test keeps this file in sync.
# Flags given to `har-edge run` override this file; `har-edge run --print-config` shows the merged result.
# MQTT secrets come from the environment (the service's env file), never from this file:
# HAR_MQTT_HOST, HAR_MQTT_PORT, HAR_MQTT_USERNAME, HAR_MQTT_PASSWORD,
# HAR_MQTT_CA_FILE, HAR_MQTT_CERT_FILE, HAR_MQTT_KEY_FILE.
"""

#: One line per option; an option missing here fails tests/edge/test_config_example.py.
HELP: dict[str, str] = {
    "bundle": "bundle folder from `har export`; unset: the default pose model shipped with har-edge",
    "source.camera": "USB/V4L2 camera index 0-99 (/dev/videoN)",
    "source.source": "video file, or rtsp:// / http:// stream, or URL of a video file",
    "source.realtime": "play a file at its own fps (a stand-in camera) instead of as fast as possible",
    "source.loop": "start a file again at its end (demos, soak tests)",
    "source.picamera2": "Raspberry Pi camera module (apt install python3-picamera2)",
    "source.width": "requested capture width (camera / picamera2)",
    "source.height": "requested capture height",
    "source.reconnect_max_s": "cap of the reconnect backoff when the camera or stream drops",
    "source.open_timeout_s": "a stream that does not open or deliver a frame this long counts as lost, seconds",
    "inference.threads": "interpreter threads, 1-64",
    "inference.delegate": "\"edgetpu\" for a Coral accelerator (docs/edgetpu.md)",
    "inference.stride": "classify every N sampled frames once the window is full",
    "inference.streaming": "auto | on | off: encoder+head when the bundle has them, or the whole window",
    "smoother.average_windows": "average of the last k probability vectors (1 = none)",
    "smoother.enter_threshold": "an action starts when its averaged probability reaches this",
    "smoother.exit_threshold": "the active action ends when its averaged probability falls below this",
    "smoother.min_duration_s": "a new label must hold this long before it counts",
    "smoother.background_labels": "labels meaning 'no action': never reported",
    "smoother.state_interval_s": "seconds between periodic state events (0 = none)",
    "sinks.console": "one line per event on stdout",
    "sinks.console_state": "also print the periodic state lines",
    "sinks.jsonl": "append events as JSON lines to this file",
    "sinks.jsonl_max_bytes": "rotate the JSON-lines file above this size",
    "sinks.output": "annotated video (mp4/avi)",
    "sinks.output_segment_s": "start a new annotated video file this often, seconds (bounds memory; 0 = one file)",
    "sinks.mqtt": "publish to MQTT (the [mqtt] table)",
    "mqtt.host": "broker host (HAR_MQTT_HOST overrides)",
    "mqtt.port": "broker port; 8883 is the usual TLS port (HAR_MQTT_PORT overrides)",
    "mqtt.prefix": "topics live under <prefix>/<device_id>/",
    "mqtt.device_id": "unset: this machine's hostname; made topic-safe (\"Living Room\" -> Living_Room)",
    "mqtt.client_id": "unset: har-edge-<device_id>-<pid>; must be unique per broker",
    "mqtt.keepalive_s": "the broker declares the device dead (Last Will) after ~1.5x this",
    "mqtt.tls": "TLS without client files (implied by ca_file / cert_file)",
    "mqtt.ca_file": "CA certificate (PEM) that signed the broker's certificate",
    "mqtt.cert_file": "client certificate (PEM), needs key_file",
    "mqtt.key_file": "client key (PEM, not encrypted)",
    "mqtt.username": "set HAR_MQTT_USERNAME in the env file instead",
    "mqtt.password": "set HAR_MQTT_PASSWORD in the env file instead",
    "mqtt.outbox_path": "durable queue of undelivered events (SQLite)",
    "mqtt.discovery": "publish Home Assistant MQTT discovery configs",
    "mqtt.discovery_prefix": "Home Assistant's discovery prefix",
    "mqtt.qos_events": "QoS of event messages: 1 or 2",
    "mqtt.reconnect_min_delay_s": "first reconnect delay, doubled up to the max",
    "mqtt.reconnect_max_delay_s": "longest reconnect delay",
    "mqtt.max_inflight": "events sent but not yet acknowledged",
    "mqtt.late_after_s": "an event delivered this long after it happened carries late: true",
    "mqtt.stats_interval_s": "publish pipeline stats on <prefix>/<device_id>/stats this often (0 = never)",
    "mqtt.snapshot": "publish a JPEG of the frame that started an action, retained (opt-in)",
    "mqtt.configuration_url": "link shown on the Home Assistant device page",
    "metrics.interval_s": "log pipeline metrics this often (0 = only at exit)",
    "metrics.prometheus_port": "serve Prometheus metrics at http://<prometheus_host>:<port>/metrics",
    "metrics.prometheus_host": "address the metrics endpoint listens on",
}

#: Shown (commented out) for options whose default is unset.
EXAMPLES: dict[str, Any] = {
    "bundle": "/opt/har-edge/bundle",
    "source.camera": 0,
    "source.source": "rtsp://camera.local/stream",
    "source.width": 640,
    "source.height": 480,
    "inference.delegate": "edgetpu",
    "sinks.jsonl": "/var/lib/har-edge/events.jsonl",
    "sinks.output": "/tmp/annotated.mp4",
    "mqtt.device_id": "livingroom",
    "mqtt.client_id": "har-livingroom",
    "mqtt.outbox_path": "~/.local/state/har-edge/outbox.sqlite3",
    "mqtt.ca_file": "/etc/har-edge/ca.crt",
    "mqtt.cert_file": "/etc/har-edge/client.crt",
    "mqtt.key_file": "/etc/har-edge/client.key",
    "mqtt.username": "har",
    "mqtt.password": "...",
    "mqtt.configuration_url": "http://raspberrypi.local:9108/metrics",
    "metrics.prometheus_port": 9108,
}

#: Defaults that depend on the machine: shown as an example, not as the value of this machine.
MACHINE_DEFAULTS = {"mqtt.device_id", "mqtt.client_id", "mqtt.outbox_path"}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def options(cfg: Any = None, where: str = "") -> list[tuple[str, Any]]:
    """Every (dotted key, default) of the schema in declaration order; tables after top-level keys."""
    cfg = EdgeConfig() if cfg is None else cfg
    flat, tables = [], []
    for f in dataclasses.fields(cfg):
        key = f"{where}.{f.name}" if where else f.name
        value = getattr(cfg, f.name)
        (tables if dataclasses.is_dataclass(value) else flat).append((key, value))
    out = list(flat)
    for key, value in tables:
        out += options(value, key)
    return out


def render(values: dict[str, Any] | None = None, header: str = HEADER) -> str:
    """The example config; ``values`` (dotted key -> value) replace defaults and are written uncommented."""
    values = values or {}
    defaults = {k: v for k, v in options()}
    lines = [header.rstrip("\n"), ""]
    table = None
    for key, default in defaults.items():
        section, _, name = key.rpartition(".")
        if section != table:
            if table is not None or section:
                lines += ["", f"[{section}]"]
            table = section
        help_ = HELP[key]
        if key in values:
            lines.append(f"{name} = {toml_value(values[key])}  # {help_}")
        elif default is None or key in MACHINE_DEFAULTS:
            example = EXAMPLES.get(key, default)
            lines.append(f"# {name} = {toml_value(example)}  # {help_}")
        else:
            lines.append(f"{name} = {toml_value(default)}  # {help_}")
    return "\n".join(lines) + "\n"
