"""Home Assistant and Frigate-style topics against a real broker: schema, orphans, slugs, late events,
the detection switch, stats and snapshots."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from har.edge.events import Event
from har.edge.metrics import Metrics
from har.edge.sinks.homeassistant import discovery_configs
from har.edge.sinks.mqtt import MqttConfig, MqttSink
from har.edge.sinks.topics import Topics
from tests.edge import ha_schema

pytestmark = pytest.mark.mqtt


def _cfg(port, tmp_path, **kw):
    kw.setdefault("outbox_path", str(tmp_path / "outbox.sqlite3"))
    return MqttConfig(host="127.0.0.1", port=port, prefix="har", reconnect_min_delay_s=0.1,
                      reconnect_max_delay_s=0.5, keepalive_s=5, **kw)


@pytest.fixture
def sinks():
    made = []
    yield made
    for s in made:
        s.stop(timeout_s=0.5)


def test_every_discovery_config_matches_home_assistants_schema(tmp_path):
    cfg = MqttConfig(device_id="Living Room", discovery=True, snapshot=True, configuration_url="http://pi.local/",
                     outbox_path=str(tmp_path / "o.sqlite3"))
    configs = discovery_configs(cfg, ["wave", "sit down"], Topics("har", "Living Room"), "1.2.3")
    platforms = {ha_schema.check_config(t, c) for t, c in configs.items()}
    assert platforms == {"sensor", "binary_sensor", "event", "switch", "image"}
    for topic, c in configs.items():
        assert " " not in topic and c["origin"] == {"name": "har-edge", "sw_version": "1.2.3"}
        assert c["device"]["configuration_url"] == "http://pi.local/"
    node = "Living_Room"
    ev = configs[f"homeassistant/event/{node}/detection/config"]
    assert ev["qos"] == 1 and ev["device_class"] == "motion" and ev["state_topic"] == "har/Living_Room/events"
    diagnostic = {t.split("/")[3] for t, c in configs.items() if c.get("entity_category") == "diagnostic"}
    assert diagnostic == {"input_fps", "latency", "dropped_frames"}
    assert configs[f"homeassistant/binary_sensor/{node}/action_sit_down/config"]["state_topic"] == \
        "har/Living_Room/action/sit_down"


def test_device_id_with_spaces_makes_slugged_topics_everywhere(broker, subscribe, sinks, tmp_path, wait_until):
    sub = subscribe(broker, ["har/#"])
    sink = MqttSink(_cfg(broker.port, tmp_path, device_id="Living Room"), ["wave"])
    sinks.append(sink)
    sink.publish(Event.started(1.0, "wave", 0.9))
    assert sub.wait_for(lambda s: s.on("har/Living_Room/events"))
    assert all(" " not in m.topic for m in sub.messages)
    assert json.loads(sub.on("har/Living_Room/events")[0].payload)["device_id"] == "Living Room"


def test_labels_that_are_gone_get_their_retained_configs_cleared(broker, subscribe, sinks, tmp_path, wait_until):
    first = MqttSink(_cfg(broker.port, tmp_path, device_id="dev", discovery=True), ["wave", "clap"])
    watch = subscribe(broker, ["homeassistant/+/dev/+/config"])
    assert watch.wait_for(lambda s: "homeassistant/binary_sensor/dev/action_clap/config" in {m.topic for m in s.messages})
    first.stop(timeout_s=2)
    second = MqttSink(_cfg(broker.port, tmp_path, device_id="dev", discovery=True), ["wave", "jump"])
    sinks.append(second)
    clap = "homeassistant/binary_sensor/dev/action_clap/config"
    assert watch.wait_for(lambda s: any(m.topic == clap and m.payload == b"" for m in s.messages))
    # A new subscriber sees the configs of the current labels only: Home Assistant removed the clap entity.
    late = subscribe(broker, ["homeassistant/+/dev/+/config"])
    every = set(second.discovery_configs())
    assert late.wait_for(lambda s: {m.topic for m in s.messages} >= every)
    time.sleep(0.3)
    assert {m.topic for m in late.messages if m.payload} == every and clap not in every


def test_events_replayed_from_the_outbox_after_an_outage_are_marked_late(broker, subscribe, sinks, tmp_path):
    from har.edge.sinks.outbox import Outbox

    # An event made an hour ago, left in the outbox by a run that lost its broker.
    old = Event(kind="action_ended", ts=2.0, label="wave", confidence=0.8, started_at=1.0, ended_at=2.0,
                duration_s=1.0, wall_time=time.time() - 3600)
    with Outbox(tmp_path / "outbox.sqlite3") as box:
        box.put(old.event_id, "har/dev/events", old.to_json(), qos=1)
    sub = subscribe(broker, ["har/dev/events"])
    sink = MqttSink(_cfg(broker.port, tmp_path, device_id="dev", late_after_s=30), ["wave"])
    sinks.append(sink)
    new = Event.started(3.0, "wave", 0.9)
    sink.publish(new)
    assert sub.wait_for(lambda s: len(s.messages) >= 2)
    got = [json.loads(m.payload) for m in sub.messages]
    assert [g["event_id"] for g in got[:2]] == [old.event_id, new.event_id]  # in order, the old one first
    assert got[0]["late"] is True and got[0]["age_s"] >= 3600
    assert got[1]["late"] is False and got[1]["age_s"] < 30


def test_late_stamp_is_what_the_broker_receives(broker, subscribe, sinks, tmp_path):
    sub = subscribe(broker, ["har/dev/events"])
    sink = MqttSink(_cfg(broker.port, tmp_path, device_id="dev", late_after_s=30), ["wave"])
    sinks.append(sink)
    old = Event(kind="action_started", ts=1.0, label="wave", confidence=0.9, started_at=1.0,
                wall_time=time.time() - 120)
    sink.publish(old)
    sink.publish(Event.started(2.0, "wave", 0.9))
    assert sub.wait_for(lambda s: len(s.messages) >= 2)
    first, second = (json.loads(m.payload) for m in sub.messages[:2])
    assert first["event_id"] == old.event_id and first["late"] is True and 119 < first["age_s"] < 200
    assert second["late"] is False and 0 <= second["age_s"] < 30
    assert ha_schema.check_iso(first["time"]) == ha_schema.check_iso(first["started_time"])


def test_detect_switch_turns_detection_off_and_on_with_retained_state(broker, subscribe, sinks, tmp_path):
    calls = []
    sink = MqttSink(_cfg(broker.port, tmp_path, device_id="dev"), ["wave"], on_detect=calls.append)
    sinks.append(sink)
    sub = subscribe(broker, ["har/dev/detect"])
    assert sub.wait_for(lambda s: s.on("har/dev/detect") and s.on("har/dev/detect")[-1].payload == b"ON")
    sub.client.publish("har/dev/detect/set", "OFF", qos=1)
    assert sub.wait_for(lambda s: s.on("har/dev/detect")[-1].payload == b"OFF")
    assert calls == [False] and sink.detecting is False
    sub.client.publish("har/dev/detect/set", "bogus", qos=1)
    sub.client.publish("har/dev/detect/set", "on", qos=1)
    assert sub.wait_for(lambda s: s.on("har/dev/detect")[-1].payload == b"ON")
    assert calls == [False, True] and sink.detecting is True
    late = subscribe(broker, ["har/dev/detect"])
    assert late.wait_for(lambda s: s.messages and s.messages[-1].payload == b"ON" and s.messages[-1].retain)


def test_stats_topic_carries_the_pipeline_metrics(broker, subscribe, sinks, tmp_path):
    metrics = Metrics()
    metrics.frames, metrics.dropped = 120, 3
    metrics.inference(0.012)
    sub = subscribe(broker, ["har/dev/stats"])
    sink = MqttSink(_cfg(broker.port, tmp_path, device_id="dev", stats_interval_s=0.2), ["wave"], metrics=metrics)
    sinks.append(sink)
    assert sub.wait_for(lambda s: len(s.messages) >= 2)
    stats = json.loads(sub.messages[-1].payload)
    assert stats["frames"] == 120 and stats["dropped_frames"] == 3 and stats["inferences"] == 1
    assert stats["latency_ms_p50"] == pytest.approx(12.0) and stats["mqtt_outbox"] == 0 and stats["detecting"]


def test_snapshot_of_the_frame_that_started_an_action_is_retained(broker, subscribe, sinks, tmp_path):
    import cv2

    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, :32] = (0, 0, 255)
    off = MqttSink(_cfg(broker.port, tmp_path / "a", device_id="dev"), ["wave"])
    sinks.append(off)
    off.snapshot(Event.started(1.0, "wave", 0.9), frame)  # not opted in: nothing is kept
    on = MqttSink(_cfg(broker.port, tmp_path / "b", device_id="dev2", snapshot=True), ["wave"])
    sinks.append(on)
    on.snapshot(Event.ended(2.0, "wave", 0.9, 1.0), frame)  # only action_started
    on.snapshot(Event.started(3.0, "wave", 0.9), frame)
    sub = subscribe(broker, ["har/+/snapshot"])
    assert sub.wait_for(lambda s: s.messages)
    time.sleep(0.3)
    assert [m.topic for m in sub.messages] == ["har/dev2/snapshot"]
    late = subscribe(broker, ["har/+/snapshot"])
    assert late.wait_for(lambda s: s.messages) and late.messages[0].retain
    img = cv2.imdecode(np.frombuffer(sub.messages[0].payload, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == frame.shape and img[24, 10, 2] > 200 and img[24, 50, 2] < 50
