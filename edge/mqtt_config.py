"""MQTT connection settings: the ``[mqtt]`` table of the device config.

Kept apart from the sink so the config reader does not import a sink (and
paho with it); the sink takes a finished :class:`MqttConfig`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from har.edge.errors import HarError

DEFAULT_OUTBOX = "~/.local/state/har-edge/outbox.sqlite3"
_ENV = {
    "host": "HAR_MQTT_HOST",
    "port": "HAR_MQTT_PORT",
    "username": "HAR_MQTT_USERNAME",
    "password": "HAR_MQTT_PASSWORD",
    "ca_file": "HAR_MQTT_CA_FILE",
    "cert_file": "HAR_MQTT_CERT_FILE",
    "key_file": "HAR_MQTT_KEY_FILE",
}
_TOPIC_FORBIDDEN = re.compile(r"[+#\x00]")


class MqttError(HarError, ValueError):
    """An MQTT setting or file the sink cannot use; the message says which and what to do."""


@dataclass
class MqttConfig:
    """Where and how to connect. Secrets come from the environment (:meth:`from_env`), never CLI flags."""

    host: str = "localhost"
    port: int = 1883
    prefix: str = "har"  # topics live under <prefix>/<device_id>/
    device_id: str | None = None  # default: this machine's hostname
    client_id: str | None = None  # default: har-edge-<device_id>-<pid>; must be unique per broker
    keepalive_s: int = 30  # the broker declares us dead (Last Will) after ~1.5x this; at most 65535
    tls: bool = False  # implied by ca_file/cert_file
    ca_file: str | None = None
    cert_file: str | None = None  # client certificate (needs key_file)
    key_file: str | None = None
    username: str | None = None
    password: str | None = None
    outbox_path: str = DEFAULT_OUTBOX  # durable queue of undelivered events
    discovery: bool = False  # publish Home Assistant MQTT discovery configs
    discovery_prefix: str = "homeassistant"
    qos_events: int = 1  # 1 or 2; 0 would give no broker acknowledgement to delete on
    reconnect_min_delay_s: float = 1.0  # first retry delay, doubled up to the max
    reconnect_max_delay_s: float = 60.0
    max_inflight: int = 10  # events sent but not yet acknowledged (order is kept regardless)
    late_after_s: float = 60.0  # an event delivered later than this after it happened says late: true
    stats_interval_s: float = 60.0  # publish pipeline stats this often (0 = never)
    snapshot: bool = False  # JPEG of the frame that started an action, retained on <base>/snapshot
    configuration_url: str | None = None  # link on the Home Assistant device page

    def __post_init__(self) -> None:
        if self.device_id is None:
            self.device_id = socket.gethostname() or "har-edge"
        if self.client_id is None:
            # The pid too: a broker drops the older of two clients with one id, and two instances on one
            # host (a camera each) would otherwise knock each other off every second.
            self.client_id = f"har-edge-{self.device_id}-{os.getpid()}"
        self.outbox_path = str(Path(self.outbox_path).expanduser())
        self.port = int(self.port)
        for name in ("prefix", "device_id", "discovery_prefix"):
            value = getattr(self, name)
            if not value or _TOPIC_FORBIDDEN.search(value) or value.startswith("/") or value.endswith("/"):
                raise ValueError(
                    f"MQTT {name} {value!r} must be non-empty, without '+', '#' or leading/trailing '/'."
                )
        if "/" in self.device_id:
            raise ValueError(f"MQTT device_id {self.device_id!r} must not contain '/'.")
        if not 0 < self.port < 65536:
            raise ValueError(f"MQTT port must be between 1 and 65535, got {self.port}.")
        if not 1 <= self.keepalive_s <= 65535:  # MQTT's field is 16 bits; paho cannot send more
            raise MqttError(f"keepalive_s must be from 1 to 65535 seconds, got {self.keepalive_s}.")
        if self.qos_events not in (1, 2):
            raise ValueError(
                f"qos_events must be 1 or 2 (QoS 0 has no acknowledgement), got {self.qos_events}."
            )
        if (self.username is None) != (self.password is None):
            raise ValueError(
                "MQTT username and password must be given together (set both HAR_MQTT_USERNAME and HAR_MQTT_PASSWORD)."
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("An MQTT client certificate needs its key: set both cert_file and key_file.")
        if self.ca_file or self.cert_file:
            self.tls = True
        if not 0 < self.reconnect_min_delay_s <= self.reconnect_max_delay_s:
            raise ValueError(
                "Reconnect delays must satisfy 0 < reconnect_min_delay_s <= reconnect_max_delay_s."
            )
        if self.max_inflight < 1:
            raise ValueError(f"max_inflight must be at least 1, got {self.max_inflight}.")
        if not self.late_after_s >= 0 or not self.stats_interval_s >= 0:
            raise ValueError("late_after_s and stats_interval_s must be >= 0.")

    @classmethod
    def from_env(cls, base: MqttConfig | None = None, environ: Mapping[str, str] | None = None) -> MqttConfig:
        """``base`` with host, port, credentials and TLS files overridden by HAR_MQTT_* variables."""
        env = os.environ if environ is None else environ
        base = base if base is not None else cls()
        changes: dict[str, Any] = {}
        for name, var in _ENV.items():
            value = env.get(var)
            if value is None or value == "":
                continue
            if name == "port":
                try:
                    value = int(value)
                except ValueError:
                    raise ValueError(f"{var} must be a port number, got {value!r}.") from None
            changes[name] = value
        return dataclasses.replace(base, **changes)

    def __repr__(self) -> str:  # never print the password
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if shown["password"] is not None:
            shown["password"] = "***"
        return "MqttConfig(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"
