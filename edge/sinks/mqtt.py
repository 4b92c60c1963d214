"""Publish events to an MQTT broker without ever blocking the detection loop or losing an event.

Topics, under ``<prefix>/<device_id>/`` (the device id made topic-safe, :mod:`.topics`):

* ``events``       every action_started/action_ended, QoS ``qos_events`` (1), never retained;
                   stamped ``age_s``/``late`` when handed to the broker (:mod:`.late`);
* ``state``        the latest state event, retained (latest-only, not queued);
* ``availability`` ``online``/``offline``, retained; the Last Will is ``offline``;
* ``action/<label>`` ``ON``/``OFF`` retained while that action is active (HA binary sensors);
* ``stats``        pipeline metrics as JSON every ``stats_interval_s``, retained;
* ``detect``       ``ON``/``OFF`` retained; ``detect/set`` turns detection off and on;
* ``snapshot``     JPEG of the frame that started the latest action (``snapshot = true``), retained.

Home Assistant discovery configs come from :mod:`.homeassistant`.

Delivery contract. Every event is first written to a SQLite :class:`Outbox`.
A worker thread publishes queued events in order while connected and deletes a
row only when the broker acknowledged it (PUBACK). After a reconnect or a
process restart it resumes from the oldest unacknowledged row. So an event is
never lost and never re-queued once acknowledged, but it can reach the broker
twice: its ack was lost with the connection, or paho retransmits its own
unacknowledged copy (DUP) after a reconnect while the outbox sends it again.
**Subscribers must deduplicate on ``event_id``**; the first occurrence of
each event_id arrives in publication order (a connection carries a prefix of
what was sent, and every resend restarts from the oldest unacknowledged row).

Why a worker thread and not paho callbacks: paho calls ``on_publish`` while
holding its own lock, so publishing from a callback or holding our lock around
``client.publish`` can deadlock; callbacks only record facts and wake the
worker, which is the only thread calling ``publish``. The sink's code is split
by the thread that runs it: here the caller's side (the Sink API, start and
stop), :mod:`.mqtt_callbacks` paho's network thread, :mod:`.mqtt_worker` the
worker.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from har.edge.events import ACTION_ENDED, ACTION_STARTED, STATE, Event
from har.edge.mqtt_config import DEFAULT_OUTBOX, MqttConfig, MqttError  # noqa: F401 - re-exported
from har.edge.sinks.base import Sink
from har.edge.sinks.homeassistant import discovery_configs, node_id
from har.edge.sinks.mqtt_callbacks import PahoCallbacks
from har.edge.sinks.mqtt_client import DropWatch, MqttMissing, import_paho, make_client  # noqa: F401 - MqttMissing re-exported
from har.edge.sinks.mqtt_worker import OutboxWorker
from har.edge.sinks.outbox import Outbox
from har.edge.sinks.retained import Retained
from har.edge.sinks.topics import Topics, slug

log = logging.getLogger(__name__)



AvailabilityHook = Callable[[bool, "str | None"], None]


class MqttSink(Sink, PahoCallbacks, OutboxWorker):
    """See the module docstring for topics and the delivery contract.

    ``labels`` are the action labels (leave background labels out): they become
    the ``action/<label>`` topics and the Home Assistant entities.
    ``on_availability(connected, reason)`` is called (from the sink's worker
    thread) when the broker connection comes up or drops.

    :meth:`availability` (the :class:`Sink` hook) is the other direction: the
    pipeline says it is online/offline (e.g. camera lost) and the retained
    availability topic follows.
    """

    def __init__(
        self,
        config: MqttConfig,
        labels: Sequence[str],
        on_availability: AvailabilityHook | None = None,
        metrics=None,
        on_detect: Callable[[bool], None] | None = None,
    ):
        mqtt = import_paho()
        self._mqtt = mqtt
        self.config = cfg = config
        self.labels = [str(x) for x in labels]
        self._slugs = {label: slug(label) for label in self.labels}
        if len(set(self._slugs.values())) != len(self.labels):
            raise MqttError(f"Labels {self.labels} collide once made topic-safe; rename them.")
        self.on_availability = on_availability
        self.metrics = metrics  # a har.edge.metrics.Metrics: its snapshot() goes to the stats topic
        self.on_detect = on_detect  # called with True/False when <base>/detect/set says ON/OFF

        self.topics = Topics(cfg.prefix, cfg.device_id)
        self.topic_events = self.topics.events
        self.topic_state = self.topics.state
        self.topic_availability = self.topics.availability
        self.topic_ha_status = f"{cfg.discovery_prefix}/status"
        self._configs = self.discovery_configs() if cfg.discovery else {}

        self._cond = threading.Condition()
        # Shared with paho callbacks and the caller; guarded by _cond.
        self._connected = False
        self._gen = 0  # bumped on every connect/disconnect
        self._acks: list[tuple[int, int]] = []  # (generation, mid)
        self._wake = False
        self._announce = False
        self._disconnect_reason: str | None = None
        self._retained = Retained(self.topics, self.labels)  # latest-only values, guarded by _cond
        self._retired: set[str] = set()  # topics of labels no longer used: emptied (entity removed) on announce
        self._stop_worker = False
        self._stopped = False
        self._delivered = 0
        self._connect_failures = 0
        self._connected_at = 0.0
        self._drops = DropWatch(cfg)
        self._left_at_stop = 0
        self._stats_at = 0.0

        client = make_client(mqtt, cfg, self.topic_availability)
        client.on_log = self._on_log
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._client = client

        self._outbox = Outbox(cfg.outbox_path)  # last: it holds a lock until stop()
        pending = len(self._outbox)
        if pending:
            log.info("MQTT outbox %s holds %d undelivered events; sending them first", cfg.outbox_path, pending)
        self._worker = threading.Thread(target=self._run, name="har-mqtt-outbox", daemon=True)
        self._worker.start()
        # connect_async + loop_start: DNS, TCP, TLS and retries all happen on paho's thread.
        client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        client.loop_start()

    # -- metrics -------------------------------------------------------------

    @property
    def detecting(self) -> bool:
        """False after ``OFF`` on ``<base>/detect/set``, until ``ON``."""
        with self._cond:
            return self._retained.detecting

    @property
    def connected(self) -> bool:
        with self._cond:
            return self._connected

    @property
    def delivered(self) -> int:
        """Events acknowledged by the broker since this sink started."""
        return self._delivered

    @property
    def pending(self) -> int:
        """Events in the outbox, not yet acknowledged (includes earlier runs)."""
        return self._left_at_stop if self._outbox.closed else len(self._outbox)

    # -- Sink API (detection thread) -----------------------------------------

    def publish(self, event: Event) -> None:
        """Queue durably (events) or remember (state) and return at once."""
        if self._stopped:
            raise RuntimeError("MqttSink is stopped.")
        payload = self._payload(event)
        if event.kind == STATE:
            with self._cond:
                self._retained.set_state(payload)
                self._wake_worker()
            return
        self._outbox.put(event.event_id, self.topic_events, payload, qos=self.config.qos_events, retain=False)
        with self._cond:
            if event.kind in (ACTION_STARTED, ACTION_ENDED):
                self._retained.set_action(event.label, event.kind == ACTION_STARTED)
            self._wake_worker()

    def labels_changed(self, labels: list[str]) -> None:
        """New action labels while running (enrolment): add their entities, remove those of labels gone."""
        labels = [str(x) for x in labels]
        slugs = {label: slug(label) for label in labels}
        if len(set(slugs.values())) != len(labels):
            log.warning("MQTT: labels %s collide once made topic-safe; keeping the old ones", labels)
            return
        with self._cond:
            gone = [x for x in self.labels if x not in slugs]
            self._retired |= {t for x in gone for t in (self._discovery_topic(self._slugs[x]), self.topic_action(x))}
            self.labels, self._slugs = labels, slugs
            self._retained.relabel(labels)
            self._configs = self.discovery_configs() if self.config.discovery else {}
            self._announce = True
            self._wake_worker()

    def _discovery_topic(self, label_slug: str) -> str:
        return f"{self.config.discovery_prefix}/binary_sensor/{node_id(self.config.device_id)}/action_{label_slug}/config"

    def snapshot(self, event: Event, frame) -> None:
        """Keep a JPEG of the frame that started ``event`` for the retained snapshot topic (opt-in)."""
        if not self.config.snapshot or event.kind != ACTION_STARTED:
            return
        import cv2

        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            with self._cond:
                self._retained.set_snapshot(jpeg.tobytes())
                self._wake_worker()

    def availability(self, online: bool, reason: str | None = None) -> None:
        log.info("pipeline %s%s", "online" if online else "offline", f": {reason}" if reason else "")
        with self._cond:
            self._retained.set_online(online)
            self._wake_worker()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Deliver what can be delivered within ``timeout_s``, say ``offline``, disconnect.

        Undelivered events stay in the outbox for the next start. Returns
        promptly when the broker is unreachable.
        """
        if self._stopped:
            return
        self._stopped = True
        deadline = time.monotonic() + max(0.0, timeout_s)
        while time.monotonic() < deadline and self.connected and len(self._outbox):
            time.sleep(0.02)
        with self._cond:
            self._stop_worker = True
            self._cond.notify_all()
        self._worker.join(timeout=max(0.5, deadline - time.monotonic()))
        if self.connected:
            info = self._client.publish(self.topic_availability, "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=max(0.2, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        # loop_stop joins paho's thread, which can sit in a TCP connect for a while: bound the wait.
        stopper = threading.Thread(target=self._client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(timeout=max(1.0, deadline - time.monotonic()))
        self._left_at_stop = len(self._outbox)
        self._outbox.close()
        log.info("MQTT sink stopped: %d delivered, %d left in the outbox", self._delivered, self._left_at_stop)

    # -- topics and payloads -------------------------------------------------

    def topic_action(self, label: str) -> str:
        return self.topics.action(label)

    def _payload(self, event: Event) -> bytes:
        data = event.to_dict()
        data["device_id"] = self.config.device_id
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")

    def discovery_configs(self) -> dict[str, dict[str, Any]]:
        """Home Assistant discovery topic -> config (see :mod:`.homeassistant`)."""
        from har.edge import __version__

        return discovery_configs(self.config, self.labels, self.topics, __version__)
