"""A device user's path end to end: the wheel into a fresh venv without TensorFlow, `har-edge init`,
`har-edge run` on a file with MQTT and Home Assistant discovery against a real mosquitto, and a
subscriber that checks every retained config and every payload against Home Assistant's schema.

Slow (it builds the wheel and installs its dependencies from the package index into a new venv).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.edge import ha_schema
from tests.edge.colour import scenario
from tests.helpers import need

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "Test Pi"
NODE = "Test_Pi"  # the device id made topic-safe
BASE = f"har/{NODE}"

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]


def _run(args, timeout=600, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)


def _offline(stderr: str) -> bool:
    return any(s in stderr for s in ("Could not find a version", "Failed to establish a new connection",
                                     "Temporary failure in name resolution", "No matching distribution"))


@pytest.fixture(scope="module")
def device_venv(tmp_path_factory) -> tuple[Path, Path]:
    """(the built wheel, a fresh venv with it and the [mqtt] extra installed)."""
    work = tmp_path_factory.mktemp("device_install")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", ROOT])
    need(built.returncode == 0 or not _offline(built.stderr), "building the wheel needs the package index "
         "(setuptools>=77 in an isolated build environment)")
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((work / "dist").glob("har_edge-*.whl"))
    venv = work / "venv"
    assert _run([sys.executable, "-m", "venv", venv]).returncode == 0
    inst = _run([venv / "bin" / "python", "-m", "pip", "install", "-q", f"{wheel}[mqtt]"], timeout=900)
    need(inst.returncode == 0 or not _offline(inst.stderr), "installing the wheel's dependencies needs the "
         "package index")
    assert inst.returncode == 0, inst.stderr[-3000:]
    return wheel, venv


def test_the_wheel_carries_the_deploy_files_the_license_and_the_default_model(device_venv):
    wheel, _ = device_venv
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ("har/edge/deploy/har-edge.service", "har/edge/deploy/raspberrypi-bookworm.txt",
                 "har/edge/deploy/raspberrypi-trixie.txt", "har/edge/default_model/metadata.json",
                 "har/edge/default_model/head.tflite"):
        assert path in names, path
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    meta = next(zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: Apache-2.0" in meta


def test_base_install_has_no_tensorflow_and_har_names_the_train_extra(device_venv):
    _, venv = device_venv
    probe = _run([venv / "bin" / "python", "-c", "import importlib.util as u; "
                  "print([m for m in ('tensorflow', 'keras', 'matplotlib') if u.find_spec(m)])"])
    assert probe.stdout.strip() == "[]", probe
    res = _run([venv / "bin" / "har", "train", "--data", "nowhere"])
    assert res.returncode == 2 and res.stderr.startswith("error: this command needs the [train] extra"), res
    assert "Traceback" not in res.stderr
    assert _run([venv / "bin" / "har-edge", "--version"]).stdout.startswith("har-edge ")


def _env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as systemd's EnvironmentFile= reads them."""
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def test_init_then_run_publishes_what_home_assistant_documents(device_venv, broker, subscribe, colour_bundle,
                                                               tmp_path):
    _, venv = device_venv
    har_edge = venv / "bin" / "har-edge"
    video = scenario(tmp_path / "clip.avi", [("idle", 1.0), ("red", 3.0), ("green", 3.0), ("idle", 2.0)])
    etc, state = tmp_path / "etc", tmp_path / "state"
    res = _run([har_edge, "init", "--dir", etc, "--unit-dir", tmp_path / "unit", "--state-dir", state,
                "--mqtt-host", "127.0.0.1", "--device-id", DEVICE, "--source", video])
    assert res.returncode == 0, res.stderr
    assert f"ExecStart={har_edge} run --config {etc / 'config.toml'}" in (tmp_path / "unit" / "har-edge.service").read_text()
    with open(etc / "env", "a") as f:
        f.write(f"HAR_MQTT_PORT={broker.port}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAR_")} | _env_file(etc / "env")

    doctor = _run([har_edge, "doctor", "--config", etc / "config.toml", "--mqtt"], env=env)
    assert f"[ ok ] mqtt broker: connected to 127.0.0.1:{broker.port}" in doctor.stdout, doctor.stdout
    assert "[ ok ] output paths:" in doctor.stdout and "[ ok ] interpreter: ai-edge-litert" in doctor.stdout

    sub = subscribe(broker, ["homeassistant/#", "har/#"])
    run = _run([har_edge, "run", "--config", etc / "config.toml", "--bundle", colour_bundle, "--background", "idle",
                "--stride", "1"], env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    avail = f"{BASE}/availability"
    assert sub.wait_for(lambda s: s.on(avail) and s.on(avail)[-1].payload == b"offline")

    # Every retained config, as Home Assistant reads them when it starts after the device.
    late = subscribe(broker, ["homeassistant/#"])
    assert late.wait_for(lambda s: len(s.messages) >= 8)
    configs = {m.topic: json.loads(m.payload) for m in late.messages if m.payload}
    assert all(m.retain for m in late.messages)
    platforms = {ha_schema.check_config(t, c) for t, c in configs.items()}
    assert platforms == {"sensor", "binary_sensor", "event", "switch"}
    assert all(f"/{NODE}/" in t for t in configs)
    by_id = {t.split("/")[3]: c for t, c in configs.items()}
    event_entity, activity = by_id["detection"], by_id["activity"]
    assert set(event_entity["event_types"]) == {"red", "green"}

    # Events: wall-clock ISO times, not late, and what the event entity makes of them.
    events = [json.loads(m.payload) for m in sub.on(f"{BASE}/events")]
    unique = list({e["event_id"]: e for e in events}.values())
    assert [(e["kind"], e["label"]) for e in unique] == [
        ("action_started", "red"), ("action_ended", "red"), ("action_started", "green"), ("action_ended", "green")]
    for e in unique:
        assert e["device_id"] == DEVICE and e["late"] is False and 0 <= e["age_s"] < 60
        t, started = ha_schema.check_iso(e["time"]), ha_schema.check_iso(e["started_time"])
        assert started <= t
        fired = ha_schema.check_event_entity(event_entity, json.dumps(e).encode())
        if e["kind"] == "action_started":
            assert fired["event_type"] == e["label"] and fired["late"] is False
        else:
            assert fired is None
    logged = [json.loads(x) for x in (state / "events.jsonl").read_text().splitlines()]
    assert [x["event_id"] for x in logged if x["kind"] != "state"] == [e["event_id"] for e in unique]

    # State -> the activity sensor's value is one of its options; action topics -> binary sensors.
    states = sub.on(f"{BASE}/state")
    assert states
    for m in states:
        assert ha_schema.render(activity["value_template"], m.payload) in activity["options"]
        json.loads(ha_schema.render(activity["json_attributes_template"], m.payload))
    binary_topics = {c["state_topic"] for c in configs.values() if "payload_on" in c and "command_topic" not in c}
    for m in sub.messages:
        if "/action/" in m.topic:
            assert m.topic in binary_topics and m.payload in (b"ON", b"OFF")
    assert {m.payload for m in sub.on(f"{BASE}/action/red")} == {b"ON", b"OFF"}
    assert sub.on(f"{BASE}/detect")[-1].payload == b"ON"
    stats = json.loads(sub.on(f"{BASE}/stats")[-1].payload)
    for c in configs.values():
        if c.get("state_topic") == f"{BASE}/stats":
            float(ha_schema.render(c["value_template"], json.dumps(stats)))
    assert all(" " not in m.topic for m in sub.messages)
