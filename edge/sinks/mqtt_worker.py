"""The MQTT sink's worker thread: the only caller of ``client.publish`` while the sink runs.

It sends the SQLite outbox in order (at most ``max_inflight`` unacknowledged
at a time), deletes a row only on the broker's PUBACK from the connection it
was sent on, resends from the oldest unacknowledged row after every
reconnect, and republishes the retained latest values (discovery,
availability, state, action, detect, snapshot, stats) after each (re)connect
or Home Assistant restart. Why a thread of its own: see
:mod:`.mqtt_callbacks`. Mixed into :class:`~har.edge.sinks.mqtt.MqttSink`,
whose ``__init__`` creates the state used here and starts :meth:`_run`.
"""

from __future__ import annotations

import json
import logging
import time

from har.edge.sinks.late import stamp

log = logging.getLogger("har.edge.sinks.mqtt")  # one logger for the whole sink, as users configure it


class OutboxWorker:
    """The worker loop of :class:`~har.edge.sinks.mqtt.MqttSink` and what it publishes."""

    def _run(self) -> None:
        inflight: dict[int, tuple[int, str]] = {}  # mid -> (seq, event_id)
        cursor = 0  # highest seq handed to paho on this connection
        gen = 0
        online = False
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._wake or self._stop_worker, timeout=1.0)
                self._wake = False
                stop = self._stop_worker
                connected, cur_gen = self._connected, self._gen
                acks, self._acks = self._acks, []
                announce = self._announce and connected
                if announce:
                    self._announce = False
                reason = self._disconnect_reason
            try:
                # Acks from the connection we sent on are trustworthy; delete those rows.
                for g, mid in acks:
                    if g == gen and mid in inflight:
                        _, event_id = inflight.pop(mid)
                        if self._outbox.ack(event_id):
                            self._delivered += 1
                if cur_gen != gen:  # new connection (or none): resend from the oldest unacked row
                    if online and connected and cur_gen - gen >= 2:
                        online = False  # dropped and back between two wake-ups: still report it
                        self._report(False, reason)
                    inflight.clear()
                    cursor = 0
                    gen = cur_gen
                if connected != online:
                    online = connected
                    self._report(online, reason)
                if stop:
                    return
                if not connected:
                    continue
                if announce:
                    self._announce_now()
                self._publish_latest()
                room = self.config.max_inflight - len(inflight)
                if room > 0:
                    for item in self._outbox.peek(room, after_seq=cursor):
                        payload = stamp(item.payload, item.created, time.time(), self.config.late_after_s)
                        info = self._client.publish(item.topic, payload, qos=item.qos, retain=item.retain)
                        if info.rc != self._mqtt.MQTT_ERR_SUCCESS:
                            break  # connection just dropped; on_disconnect will reset us
                        inflight[info.mid] = (item.seq, item.event_id)
                        cursor = item.seq
            except Exception:
                if self._outbox.closed:
                    return
                log.exception("MQTT outbox worker error; retrying")
                time.sleep(0.5)

    def _report(self, online: bool, reason: str | None) -> None:
        cfg = self.config
        if online:
            log.info("MQTT connected to %s:%d as %s", cfg.host, cfg.port, cfg.client_id)
        else:
            log.warning("MQTT connection to %s:%d lost (%s); events wait in the outbox", cfg.host, cfg.port, reason)
        if self.on_availability is not None:
            try:
                self.on_availability(online, None if online else reason)
            except Exception:
                log.exception("on_availability hook failed")

    def _announce_now(self) -> None:
        """After (re)connect or an HA restart: discovery, then availability, then all latest values.

        Retained latest-value topics use QoS 0: they are re-published on every
        connect, and QoS 0 keeps paho from replaying a stale value after a newer one.
        """
        with self._cond:
            retired, self._retired = self._retired, set()
        for topic in sorted(retired):  # an empty retained payload removes the entity and the stale value
            self._client.publish(topic, b"", qos=0, retain=True)
        if self.config.discovery:
            for topic, conf in self._configs.items():
                self._client.publish(topic, json.dumps(conf, separators=(",", ":")), qos=0, retain=True)
        with self._cond:
            self._retained.mark_all()
            self._stats_at = 0.0
        self._publish_latest()

    def _publish_latest(self) -> None:
        with self._cond:
            messages = self._retained.take()
        for topic, payload, qos in messages:
            if not payload:  # an empty retained config removes the entity in Home Assistant
                log.info("clearing Home Assistant discovery config %s (its label is gone)", topic)
            self._client.publish(topic, payload, qos=qos, retain=True)
        self._publish_stats()

    def _wake_worker(self) -> None:
        """Call with ``_cond`` held: the worker publishes what changed."""
        self._wake = True
        self._cond.notify_all()

    def _publish_stats(self) -> None:
        every = self.config.stats_interval_s
        if self.metrics is None or not every or time.monotonic() - self._stats_at < every:
            return
        self._stats_at = time.monotonic()
        data = {**self.metrics.snapshot(), "mqtt_outbox": len(self._outbox), "detecting": self.detecting}
        self._client.publish(self.topics.stats, json.dumps(data, separators=(",", ":")), qos=0, retain=True)
