"""`har-edge init`: config, env file (600) and unit that agree on paths; refusals in one sentence."""

from __future__ import annotations

import stat
import tomllib

from typer.testing import CliRunner

from har.edge.cli import app
from har.edge.config import load_config


def _init(tmp_path, *extra):
    return CliRunner().invoke(app, ["init", "--dir", str(tmp_path / "etc"), "--unit-dir", str(tmp_path / "unit"),
                                    "--state-dir", str(tmp_path / "state"), *extra])


def test_init_writes_a_loadable_config_a_private_env_and_a_unit_and_prints_next_steps(tmp_path):
    res = _init(tmp_path, "--mqtt-host", "broker.lan", "--device-id", "Living Room", "--picamera2")
    assert res.exit_code == 0, res.output
    config, env, unit = tmp_path / "etc" / "config.toml", tmp_path / "etc" / "env", tmp_path / "unit" / "har-edge.service"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert "HAR_MQTT_HOST=broker.lan" in env.read_text()
    cfg = load_config(config, environ={})
    assert cfg.sinks.mqtt and cfg.mqtt.discovery and cfg.source.picamera2 and cfg.mqtt.device_id == "Living Room"
    assert cfg.mqtt.outbox_path == str(tmp_path / "state" / "outbox.sqlite3")
    assert cfg.sinks.jsonl == str(tmp_path / "state" / "events.jsonl")
    assert "password" not in tomllib.loads(config.read_text())["mqtt"]  # secrets stay in the env file
    text = unit.read_text()
    assert f"--config {config}" in text and f"EnvironmentFile=-{env}" in text
    assert "/opt/har-edge/.venv/bin/har-edge" not in text and "/bin/har-edge run" in text
    assert "systemctl enable --now har-edge" in res.output and "doctor --config" in res.output
    fetches = [ln for ln in res.output.splitlines() if "XDG_CACHE_HOME=/var/cache/har-edge" in ln]
    assert [ln.split("models fetch ")[1].split()[0] for ln in fetches] == ["pose", "pose-lite"]
    assert "0.6x the CPU" in fetches[1]


def test_init_refuses_to_overwrite_and_to_write_where_it_cannot(tmp_path):
    assert _init(tmp_path).exit_code == 0
    res = _init(tmp_path)
    assert res.exit_code == 2 and "exists; keep it, or pass --force" in res.output
    assert _init(tmp_path, "--force", "--camera", "2").exit_code == 0
    assert load_config(tmp_path / "etc" / "config.toml").source.camera == 2
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = CliRunner().invoke(app, ["init", "--dir", str(blocker / "etc"), "--no-unit"])
    assert res.exit_code == 2 and res.output.startswith("error: cannot write")
    res = _init(tmp_path / "x", "--camera", "100")
    assert res.exit_code == 2 and "camera index" in res.output and not (tmp_path / "x").exists()
