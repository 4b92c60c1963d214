"""MqttSink against a real mosquitto (fixtures in conftest.py), plus config tests that need no broker.

Subscribers deduplicate on event_id, as documented: QoS 1 may repeat a message
around a reconnect, but every event must arrive, and the first occurrences
must be in publication order.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from har.edge.events import Event
from har.edge.sinks.mqtt import MqttConfig, MqttSink

PREFIX = "har"
DEV = "testdev"
EVENTS = f"{PREFIX}/{DEV}/events"
STATE = f"{PREFIX}/{DEV}/state"
AVAIL = f"{PREFIX}/{DEV}/availability"
LABELS = ["wave", "clap"]

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from har.edge.events import Event
    from har.edge.sinks.mqtt import MqttConfig, MqttSink

    port, outbox, marker, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    cfg = MqttConfig(host="127.0.0.1", port=port, prefix="har", device_id="testdev", outbox_path=outbox,
                     reconnect_min_delay_s=0.1, reconnect_max_delay_s=0.5, keepalive_s=5)
    sink = MqttSink(cfg, ["wave", "clap"])
    ids = []
    for i in range(n):
        ev = Event.started(float(i), "wave", 0.9)
        sink.publish(ev)
        ids.append(ev.event_id)
    deadline = time.monotonic() + 5
    while n == 0 and not sink.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    with open(marker + ".tmp", "w") as f:
        json.dump({"connected": sink.connected, "ids": ids}, f)
    os.replace(marker + ".tmp", marker)
    time.sleep(60)  # until SIGKILL
    """
)


def ids_in_order(messages):
    """First occurrence of each event_id, in arrival order (the documented subscriber dedupe)."""
    seen, out = set(), []
    for m in messages:
        eid = json.loads(m.payload)["event_id"]
        if eid not in seen:
            seen.add(eid)
            out.append(eid)
    return out


def payloads(messages):
    return [m.payload.decode() for m in messages]


@pytest.fixture
def make_sink(tmp_path):
    sinks = []

    def make(port, outbox=None, on_availability=None, **kw):
        cfg = MqttConfig(
            host="127.0.0.1",
            port=port,
            prefix=PREFIX,
            device_id=DEV,
            outbox_path=str(outbox or tmp_path / "outbox.sqlite3"),
            reconnect_min_delay_s=0.1,
            reconnect_max_delay_s=0.5,
            keepalive_s=5,
            **kw,
        )
        sink = MqttSink(cfg, LABELS, on_availability=on_availability)
        sinks.append(sink)
        return sink

    yield make
    for s in sinks:
        s.stop(timeout_s=0.5)


@pytest.fixture
def child(tmp_path):
    """Run the CHILD script: ``child(port, outbox, n) -> (proc, marker_data)``; SIGKILLed at teardown."""
    procs = []
    script = tmp_path / "child.py"
    script.write_text(CHILD)

    def run(port, outbox, n, wait_until):
        marker = tmp_path / f"marker-{len(procs)}.json"
        proc = subprocess.Popen([sys.executable, str(script), str(port), str(outbox), str(marker), str(n)])
        procs.append(proc)
        assert wait_until(lambda: marker.exists() or proc.poll() is not None, 15.0), "child did not start"
        assert proc.poll() is None, f"child exited with {proc.returncode}"
        return proc, json.loads(marker.read_text())

    yield run
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(5)


# -- no broker needed ----------------------------------------------------------


def test_config_defaults_and_validation():
    import socket

    cfg = MqttConfig()
    assert cfg.device_id == socket.gethostname() and cfg.client_id == f"har-edge-{cfg.device_id}-{os.getpid()}"
    assert "~" not in cfg.outbox_path and cfg.outbox_path.endswith("har-edge/outbox.sqlite3")
    assert cfg.tls is False and cfg.qos_events == 1
    assert MqttConfig(ca_file="/ca.pem").tls is True
    with pytest.raises(ValueError, match="together"):
        MqttConfig(username="u")
    with pytest.raises(ValueError, match="together"):
        MqttConfig(password="p")
    with pytest.raises(ValueError, match="key"):
        MqttConfig(cert_file="/c.pem")
    with pytest.raises(ValueError, match="qos_events"):
        MqttConfig(qos_events=0)
    with pytest.raises(ValueError, match="device_id"):
        MqttConfig(device_id="a/b")
    with pytest.raises(ValueError, match="prefix"):
        MqttConfig(prefix="har/#")
    with pytest.raises(ValueError, match="port"):
        MqttConfig(port=0)
    assert "s3cret" not in repr(MqttConfig(username="u", password="s3cret"))


def test_config_from_env_overrides_connection_and_secrets():
    base = MqttConfig(host="h", device_id="pi", prefix="home/har")
    env = {
        "HAR_MQTT_HOST": "broker.lan",
        "HAR_MQTT_PORT": "8883",
        "HAR_MQTT_USERNAME": "pi",
        "HAR_MQTT_PASSWORD": "pw",
        "HAR_MQTT_CA_FILE": "/etc/ca.pem",
        "HAR_MQTT_CERT_FILE": "/etc/c.pem",
        "HAR_MQTT_KEY_FILE": "/etc/k.pem",
    }
    cfg = MqttConfig.from_env(base, environ=env)
    assert (cfg.host, cfg.port, cfg.username, cfg.password) == ("broker.lan", 8883, "pi", "pw")
    assert (cfg.ca_file, cfg.cert_file, cfg.key_file, cfg.tls) == (
        "/etc/ca.pem",
        "/etc/c.pem",
        "/etc/k.pem",
        True,
    )
    assert (cfg.prefix, cfg.device_id) == ("home/har", "pi")  # untouched
    assert MqttConfig.from_env(base, environ={}).host == "h"
    with pytest.raises(ValueError, match="HAR_MQTT_PORT"):
        MqttConfig.from_env(base, environ={"HAR_MQTT_PORT": "abc"})
    with pytest.raises(ValueError, match="together"):
        MqttConfig.from_env(base, environ={"HAR_MQTT_USERNAME": "pi"})


def test_missing_paho_gives_install_hint(monkeypatch, tmp_path):
    for mod in ("paho", "paho.mqtt", "paho.mqtt.client"):
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(ImportError, match=r"pip install 'har-edge\[mqtt\]'"):
        MqttSink(MqttConfig(outbox_path=str(tmp_path / "o.sqlite3")), LABELS)


def test_missing_tls_file_is_a_clear_error(tmp_path):
    pytest.importorskip("paho.mqtt")
    cfg = MqttConfig(ca_file=str(tmp_path / "nope.pem"), outbox_path=str(tmp_path / "o.sqlite3"))
    with pytest.raises(ValueError, match="TLS file not found"):
        MqttSink(cfg, LABELS)


def unused_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_broker_down_never_blocks(make_sink, wait_until):
    pytest.importorskip("paho.mqtt")
    calls = []
    sink = make_sink(unused_port(), on_availability=lambda *a: calls.append(a))
    t0 = time.monotonic()
    for i in range(20):
        sink.publish(Event.started(float(i), "wave", 0.9))
        sink.publish(Event.state(float(i), "wave", 0.9))
    assert time.monotonic() - t0 < 1.0
    assert not sink.connected and sink.pending == 20 and sink.delivered == 0
    t0 = time.monotonic()
    sink.stop(timeout_s=0.5)
    assert time.monotonic() - t0 < 2.0
    assert sink.pending == 20 and calls == []
    with pytest.raises(RuntimeError, match="stopped"):
        sink.publish(Event.started(99.0, "wave", 0.9))


# -- real broker -----------------------------------------------------------------


@pytest.mark.mqtt
def test_events_state_availability_and_actions(broker, subscribe, make_sink, wait_until):
    sub = subscribe(broker, [f"{PREFIX}/{DEV}/#"])
    sink = make_sink(broker.port)
    assert sub.wait_for(lambda s: payloads(s.on(AVAIL)) == ["online"])
    assert sink.connected

    started = Event.started(1.0, "wave", 0.93)
    state = Event.state(1.0, "wave", 0.93, probabilities={"wave": 0.93, "clap": 0.07}, stats={"fps": 15.0})
    ended = Event.ended(3.5, "wave", 0.9, started_at=1.0, start_event_id=started.event_id)
    for ev in (started, state, ended):
        sink.publish(ev)

    assert sub.wait_for(lambda s: len(s.on(EVENTS)) == 2)
    msgs = sub.on(EVENTS)
    assert ids_in_order(msgs) == [started.event_id, ended.event_id]
    assert all(m.qos == 1 and not m.retain for m in msgs)
    body = json.loads(msgs[1].payload)
    assert body["kind"] == "action_ended" and body["start_event_id"] == started.event_id
    assert body["device_id"] == DEV and body["duration_s"] == 2.5
    assert wait_until(lambda: sink.pending == 0 and sink.delivered == 2)

    action = f"{PREFIX}/{DEV}/action/wave"
    assert sub.wait_for(lambda s: payloads(s.on(action))[-1:] == ["OFF"] and "ON" in payloads(s.on(action)))
    assert sub.wait_for(lambda s: s.on(STATE))

    # A late subscriber gets the retained state and availability, but no events.
    late = subscribe(broker, [STATE, AVAIL, EVENTS, f"{PREFIX}/{DEV}/action/+"])
    assert late.wait_for(lambda s: s.on(STATE) and s.on(AVAIL) and len(s.on(f"{PREFIX}/{DEV}/action/clap")))
    (st,) = late.on(STATE)
    assert st.retain and json.loads(st.payload)["event_id"] == state.event_id
    assert late.on(AVAIL)[0].retain and payloads(late.on(AVAIL)) == ["online"]
    assert payloads(late.on(f"{PREFIX}/{DEV}/action/clap")) == ["OFF"]
    assert late.on(EVENTS) == []

    # The pipeline's own availability hook drives the topic too.
    sink.availability(False, "camera lost")
    assert sub.wait_for(lambda s: payloads(s.on(AVAIL))[-1] == "offline")
    sink.availability(True)
    assert sub.wait_for(lambda s: payloads(s.on(AVAIL))[-1] == "online")

    sink.stop(timeout_s=2)
    assert sub.wait_for(lambda s: payloads(s.on(AVAIL))[-1] == "offline")
    after = subscribe(broker, [AVAIL])
    assert after.wait_for(lambda s: s.on(AVAIL))
    assert payloads(after.on(AVAIL)) == ["offline"] and after.on(AVAIL)[0].retain


@pytest.mark.mqtt
def test_last_will_offline_when_process_is_killed(broker, subscribe, child, tmp_path, wait_until):
    sub = subscribe(broker, [AVAIL])
    proc, info = child(broker.port, tmp_path / "child-outbox.sqlite3", 0, wait_until)
    assert info["connected"]
    assert sub.wait_for(lambda s: payloads(s.on(AVAIL)) == ["online"])
    proc.send_signal(signal.SIGKILL)
    proc.wait(5)
    assert sub.wait_for(lambda s: payloads(s.on(AVAIL))[-1:] == ["offline"])
    after = subscribe(broker, [AVAIL])
    assert after.wait_for(lambda s: s.on(AVAIL))
    assert payloads(after.on(AVAIL)) == ["offline"] and after.on(AVAIL)[0].retain


@pytest.mark.mqtt
def test_broker_outage_delivers_every_event_once_in_order(
    persistent_broker, subscribe, make_sink, wait_until
):
    broker = persistent_broker
    # A persistent session: the broker queues for this subscriber while it reconnects.
    sub = subscribe(broker, [EVENTS], client_id="durable-sub", clean_session=False)
    hook = []
    sink = make_sink(broker.port, on_availability=lambda online, reason: hook.append(online))
    assert wait_until(lambda: sink.connected)
    events = [Event.started(float(i), "wave" if i % 2 else "clap", 0.9) for i in range(30)]

    for ev in events[:10]:
        sink.publish(ev)
    broker.stop()  # right away: some of the first ten are still in flight
    assert wait_until(lambda: not sink.connected)
    t0 = time.monotonic()
    for ev in events[10:20]:
        sink.publish(ev)
    assert time.monotonic() - t0 < 1.0, "publish must not block while the broker is down"
    assert sink.pending >= 10

    broker.start()
    for ev in events[20:]:
        sink.publish(ev)
    expected = [e.event_id for e in events]
    assert sub.wait_for(lambda s: len(ids_in_order(s.on(EVENTS))) >= 30, timeout_s=10), broker.log_text()
    assert ids_in_order(sub.on(EVENTS)) == expected
    assert wait_until(lambda: sink.pending == 0)
    assert sink.delivered == 30
    assert wait_until(lambda: hook == [True, False, True]), hook


@pytest.mark.mqtt
def test_outbox_survives_clean_stop_and_is_sent_by_the_next_instance(
    broker, subscribe, make_sink, tmp_path, wait_until
):
    outbox = tmp_path / "shared-outbox.sqlite3"
    broker.stop()
    first = make_sink(broker.port, outbox=outbox)
    events = [Event.started(float(i), "wave", 0.9) for i in range(5)]
    for ev in events:
        first.publish(ev)
    t0 = time.monotonic()
    first.stop(timeout_s=1.0)
    assert time.monotonic() - t0 < 3.0
    assert first.pending == 5 and first.delivered == 0

    broker.start()
    sub = subscribe(broker, [EVENTS])
    second = make_sink(broker.port, outbox=outbox)
    assert sub.wait_for(lambda s: len(ids_in_order(s.on(EVENTS))) >= 5)
    assert ids_in_order(sub.on(EVENTS)) == [e.event_id for e in events]
    assert wait_until(lambda: second.pending == 0 and second.delivered == 5)


@pytest.mark.mqtt
def test_outbox_survives_a_crash(broker, subscribe, make_sink, child, tmp_path, wait_until):
    outbox = tmp_path / "crash-outbox.sqlite3"
    broker.stop()
    proc, info = child(broker.port, outbox, 6, wait_until)
    assert not info["connected"] and len(info["ids"]) == 6
    proc.send_signal(signal.SIGKILL)  # no stop(), no flush: only what SQLite committed survives
    proc.wait(5)

    broker.start()
    sub = subscribe(broker, [EVENTS])
    sink = make_sink(broker.port, outbox=outbox)
    assert sub.wait_for(lambda s: len(ids_in_order(s.on(EVENTS))) >= 6)
    assert ids_in_order(sub.on(EVENTS)) == info["ids"]
    assert wait_until(lambda: sink.pending == 0)


@pytest.mark.mqtt
def test_home_assistant_discovery_and_reannounce(broker, subscribe, make_sink, wait_until):
    sub = subscribe(broker, ["homeassistant/+/+/+/config", AVAIL])
    sink = make_sink(broker.port, discovery=True)
    topics = {
        f"homeassistant/sensor/{DEV}/activity/config",
        f"homeassistant/event/{DEV}/detection/config",
        f"homeassistant/binary_sensor/{DEV}/action_wave/config",
        f"homeassistant/binary_sensor/{DEV}/action_clap/config",
    }

    def announced(s):
        """All four configs arrived, and availability 'online' after the last of them."""
        got = [m.topic for m in s.messages]
        if not topics <= set(got):
            return False
        last_config = max(i for i, t in enumerate(got) if t in topics)
        return AVAIL in got[last_config + 1 :]

    assert sub.wait_for(announced)

    configs = {m.topic: json.loads(m.payload) for m in sub.messages if m.topic in topics}
    for c in configs.values():
        assert c["availability_topic"] == AVAIL
        assert c["unique_id"].startswith(f"har_{DEV}_")
        assert c["device"]["identifiers"] == [f"har-edge-{DEV}"]
    assert len({c["unique_id"] for c in configs.values()}) == 4
    assert configs[f"homeassistant/sensor/{DEV}/activity/config"]["state_topic"] == STATE
    ev_cfg = configs[f"homeassistant/event/{DEV}/detection/config"]
    assert ev_cfg["event_types"] == LABELS and ev_cfg["state_topic"] == EVENTS
    wave = configs[f"homeassistant/binary_sensor/{DEV}/action_wave/config"]
    assert wave["state_topic"] == f"{PREFIX}/{DEV}/action/wave" and wave["payload_on"] == "ON"

    late = subscribe(broker, ["homeassistant/+/+/+/config"])
    every = set(sink.discovery_configs())
    assert topics <= every
    assert late.wait_for(lambda s: len(s.messages) >= len(every))
    assert {m.topic for m in late.messages} == every and all(m.retain for m in late.messages)

    # Home Assistant restarts and says so: the sink announces again.
    sub.clear()
    sub.client.publish("homeassistant/status", "online", qos=1)
    assert sub.wait_for(announced)
    assert sink.connected
