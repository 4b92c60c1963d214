"""The paho client as the sink needs it: paho 2.x, auth, TLS, Last Will and reconnect backoff.

Everything here is checked before the first connection attempt, so a wrong
file or setting is one sentence at start-up, not a retry loop that never
succeeds: a missing or unreadable TLS file, a key encrypted with a pass
phrase that a headless device cannot type.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from har.edge.errors import HarError
from har.edge.mqtt_config import MqttConfig, MqttError

log = logging.getLogger("har.edge.sinks.mqtt")

#: A connection the broker closes sooner than this after accepting it counts as "dropped at once".
SHORT_CONNECTION_S = 5.0
#: After this many such drops in a row, say that another client probably has our client id.
DUPLICATE_HINT_AFTER = 3


class MqttMissing(HarError, ImportError):
    """paho-mqtt is not installed (or too old)."""


def import_paho():
    try:
        import paho.mqtt.client as mqtt
    except ImportError as exc:
        raise MqttMissing(
            "MQTT output needs paho-mqtt; install the [mqtt] extra: pip install 'har-edge[mqtt]'"
        ) from exc
    if not hasattr(mqtt, "CallbackAPIVersion"):
        raise MqttMissing("MQTT output needs paho-mqtt 2.x; upgrade with: pip install 'har-edge[mqtt]'")
    return mqtt


def make_client(mqtt, cfg: MqttConfig, will_topic: str):
    """A paho client for ``cfg`` whose Last Will marks ``will_topic`` offline; callbacks are the caller's."""
    for path in (cfg.ca_file, cfg.cert_file, cfg.key_file):
        if path and not Path(path).expanduser().is_file():
            raise MqttError(f"MQTT TLS file not found: {path}")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cfg.client_id, clean_session=True,
                         protocol=mqtt.MQTTv311)
    client.suppress_exceptions = True  # a bug in a callback must not kill the network thread
    if cfg.username is not None:
        client.username_pw_set(cfg.username, cfg.password)
    if cfg.tls:
        try:
            client.tls_set(ca_certs=_expand(cfg.ca_file), certfile=_expand(cfg.cert_file),
                           keyfile=_expand(cfg.key_file),
                           keyfile_password=_no_pass_phrase(cfg.key_file))  # called only for an encrypted key
        except ssl.SSLError as e:
            raise MqttError(f"MQTT TLS files {cfg.ca_file}, {cfg.cert_file}, {cfg.key_file} cannot be used ({e}); "
                            "check they are PEM files and the key belongs to the certificate.") from None
    client.will_set(will_topic, "offline", qos=1, retain=True)
    client.reconnect_delay_set(cfg.reconnect_min_delay_s, cfg.reconnect_max_delay_s)
    return client


class DropWatch:
    """Say so when the broker keeps closing new connections: with MQTT 3.1.1 that is how it drops the older
    of two clients with one client id, and the two then take turns every second."""

    def __init__(self, cfg: MqttConfig):
        self.cfg, self.short = cfg, 0  # connections in a row the broker closed right after accepting them

    def note(self, lasted_s: float) -> None:
        self.short = self.short + 1 if lasted_s < SHORT_CONNECTION_S else 0
        if self.short == DUPLICATE_HINT_AFTER:
            log.warning("MQTT broker %s:%d closed the connection %d times in a row right after accepting it: "
                        "another client is probably connected with the same client id %r (a second har-edge "
                        "on this host?); give each instance its own mqtt.client_id", self.cfg.host, self.cfg.port,
                        DUPLICATE_HINT_AFTER, self.cfg.client_id)


def _expand(path: str | None) -> str | None:
    return None if path is None else str(Path(path).expanduser())


def _no_pass_phrase(key_file: str | None):
    """A password callback for an encrypted key: refuse, instead of OpenSSL prompting on a headless device."""

    def refuse() -> str:
        raise MqttError(
            f"MQTT key_file {key_file} is encrypted with a pass phrase, which a device cannot type; store it "
            f"decrypted (openssl pkey -in {key_file} -out plain.key), readable only by the service user."
        )

    return refuse
