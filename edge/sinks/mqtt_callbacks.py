"""The MQTT sink's paho callbacks: they run on paho's network thread and only record facts and wake the worker.

Why nothing more: paho calls ``on_publish`` while holding its own lock, so
publishing from a callback, or taking the sink's lock around
``client.publish``, can deadlock. Each callback updates the state guarded by
``_cond`` (connected, connection generation, acknowledged message ids,
"announce again") and wakes the worker (:mod:`.mqtt_worker`), the only thread
that publishes. Mixed into :class:`~har.edge.sinks.mqtt.MqttSink`, whose
``__init__`` creates the state used here.
"""

from __future__ import annotations

import logging
import time

from har.edge.sinks.homeassistant import discovery_filter, is_orphan

log = logging.getLogger("har.edge.sinks.mqtt")  # one logger for the whole sink, as users configure it


class PahoCallbacks:
    """``client.on_*`` handlers of :class:`~har.edge.sinks.mqtt.MqttSink`: record and wake, nothing else."""

    def _on_log(self, client, userdata, level, buf) -> None:
        # paho reports every failed reconnect as an error; outages are expected here and
        # reported once by _report, so keep paho at debug except for bugs in our callbacks.
        if buf.startswith("Caught exception"):
            log.error("paho: %s", buf)
        else:
            log.debug("paho: %s", buf)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker %s:%d refused the connection: %s", self.config.host, self.config.port, reason_code)
            return
        self._connect_failures = 0
        self._connected_at = time.monotonic()
        client.subscribe(self.topics.detect_set, qos=1)
        if self.config.discovery:
            client.subscribe(self.topic_ha_status, qos=1)
            client.subscribe(discovery_filter(self.config.discovery_prefix, self.config.device_id), qos=1)
        with self._cond:
            self._connected = True
            self._gen += 1
            self._announce = True
            self._wake_worker()

    def _on_connect_fail(self, client, userdata) -> None:
        self._connect_failures += 1
        if self._connect_failures == 1:
            log.warning(
                "cannot reach MQTT broker %s:%d; retrying in the background, events wait in the outbox",
                self.config.host,
                self.config.port,
            )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._cond:
            was = self._connected
            self._connected = False
            self._gen += 1
            self._disconnect_reason = str(reason_code)
            self._wake_worker()
        if was:
            self._connect_failures = 1  # the drop itself is reported; stay quiet while retrying
            self._note_drop(time.monotonic() - self._connected_at)
        else:
            self._on_connect_fail(client, userdata)

    def _note_drop(self, lasted_s: float) -> None:
        if not self._stopped:
            self._drops.note(lasted_s)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._cond:
            self._acks.append((self._gen, mid))
            self._wake_worker()

    def _on_message(self, client, userdata, message) -> None:
        # Home Assistant publishes "online" on <discovery_prefix>/status when it (re)starts.
        if message.topic == self.topic_ha_status and message.payload.strip().lower() == b"online":
            with self._cond:
                self._announce = True
                self._wake_worker()
        elif message.topic == self.topics.detect_set:
            command = message.payload.strip().upper()
            if command not in (b"ON", b"OFF"):
                log.warning("ignoring %r on %s (expected ON or OFF)", message.payload[:20], message.topic)
                return
            with self._cond:
                self._retained.set_detect(command == b"ON")
                self._wake_worker()
            log.info("detection turned %s over MQTT", command.decode().lower())
            if self.on_detect is not None:
                self.on_detect(command == b"ON")
        elif self.config.discovery and is_orphan(message.topic, message.payload, set(self._configs)):
            with self._cond:
                self._retained.add_orphan(message.topic)
                self._wake_worker()
