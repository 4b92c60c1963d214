"""Enrolment as a device does it: real clips, the default pose model, no TensorFlow, a real broker.

The TensorFlow blocker is the one tests/edge/test_no_tensorflow.py uses: the
commands run in a fresh interpreter where importing TensorFlow, Keras or the
workstation packages fails, so anything that needed them would fail here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from har.edge.sinks.mqtt import MqttConfig, MqttSink
from tests.edge.test_no_tensorflow import BLOCKER

pytestmark = pytest.mark.mqtt
DEV = "enrolldev"
ROOT = Path(__file__).resolve().parents[2]


def har_edge(*args: str, env: dict) -> subprocess.CompletedProcess:
    code = BLOCKER + "import sys\nfrom har.edge.cli import main\nsys.argv = ['har-edge', *sys.argv[1:]]\nmain()\n"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_enrol_from_real_files_without_tensorflow_then_run_with_jsonl_and_mqtt(
        realclips, real_pose_models, broker, subscribe, tmp_path):
    wave = realclips / "actions" / "wave_one_hand" / "weizmann_lena_wave1.avi"
    walk = realclips / "actions" / "walk" / "weizmann_lyova_walk.avi"
    env = {"HAR_EDGE_ENROLMENT": str(tmp_path / "enrolment.json")}
    res = har_edge("enroll", "--label", "greet", "--source", str(wave), "--source", str(wave), "--start", "0",
                   "--start", "0.5", "--end", "2.0", "--end", "2.5", env=env)
    assert res.returncode == 0, res.stderr
    assert "enrolled 'greet': 2 example(s)" in res.stdout
    listed = har_edge("enroll", "--list", env=env)
    assert "greet: 2 example(s)" in listed.stdout, listed.stderr

    sub = subscribe(broker, ["homeassistant/binary_sensor/#", f"har/{DEV}/#"])
    config = tmp_path / "config.toml"
    config.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\ndevice_id = "{DEV}"\ndiscovery = true\n'
                      f'outbox_path = "{tmp_path / "outbox.sqlite3"}"\n')
    jsonl = tmp_path / "events.jsonl"
    for clip in (walk, wave):  # a second process: the enrolment survives a restart
        res = har_edge("run", "--config", str(config), "--source", str(clip), "--jsonl", str(jsonl), "--mqtt",
                       env=env)
        assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in jsonl.read_text().splitlines()]
    started = [e["label"] for e in events if e["kind"] == "action_started"]
    assert "greet" in started and started[-1] == "greet"
    assert started[0] == "walk"  # a clip of another action keeps its base label, not the enrolled one
    topic = f"homeassistant/binary_sensor/{DEV}/action_greet/config"
    assert sub.wait_for(lambda s: s.on(topic) and s.on(f"har/{DEV}/events"))
    assert json.loads(sub.on(topic)[-1].payload)["state_topic"] == f"har/{DEV}/action/greet"
    delivered = [json.loads(m.payload) for m in sub.on(f"har/{DEV}/events")]
    assert any(e["label"] == "greet" and e["kind"] == "action_started" for e in delivered)


def test_mqtt_adds_and_removes_entities_when_labels_change(broker, subscribe, tmp_path, wait_until):
    sub = subscribe(broker, ["homeassistant/+/+/+/config"])
    cfg = MqttConfig(host="127.0.0.1", port=broker.port, device_id=DEV, discovery=True,
                     outbox_path=str(tmp_path / "outbox.sqlite3"), reconnect_min_delay_s=0.1,
                     reconnect_max_delay_s=0.5)
    sink = MqttSink(cfg, ["wave", "clap"])
    try:
        topic = f"homeassistant/binary_sensor/{DEV}/action_stretch/config"
        event = f"homeassistant/event/{DEV}/detection/config"
        assert sub.wait_for(lambda s: s.on(event))
        assert not sub.on(topic)
        sink.labels_changed(["wave", "clap", "stretch"])
        assert sub.wait_for(lambda s: s.on(topic) and s.on(topic)[-1].payload)
        assert json.loads(sub.on(topic)[-1].payload)["name"] == "stretch"
        assert sub.wait_for(lambda s: "stretch" in json.loads(s.on(event)[-1].payload)["event_types"])
        sink.labels_changed(["wave", "clap"])
        assert sub.wait_for(lambda s: s.on(topic)[-1].payload == b"")  # Home Assistant removes the entity
        assert sub.wait_for(lambda s: "stretch" not in json.loads(s.on(event)[-1].payload)["event_types"])
    finally:
        sink.stop(timeout_s=0.5)
