"""``har-edge init``: write a device's config, its secrets file and its systemd unit, then say what is next.

Why a command: a wheel carries no loose files to copy, and the three files
must agree on paths (the unit's ExecStart is this install's ``har-edge``, its
EnvironmentFile the env file written here). The config is generated from the
schema (:mod:`har.edge.config_example`), so it lists every option with its
default; the env file holds MQTT secrets and is written with mode 600.
"""

from __future__ import annotations

import os
import sys
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from har.edge.config import ConfigError, EdgeConfig, check_camera, from_mapping
from har.edge.config_example import render

UNIT_NAME = "har-edge.service"
#: The paths the shipped unit names; init replaces them with this install's.
TEMPLATE_EXEC = "/opt/har-edge/.venv/bin/har-edge"
TEMPLATE_CONFIG = "/etc/har-edge/config.toml"
TEMPLATE_ENV = "/etc/har-edge/env"
#: StateDirectory=har-edge in the unit: where the service may write.
SERVICE_STATE = "/var/lib/har-edge"

ENV_TEXT = """\
# Secrets and broker address for har-edge (read by the systemd unit; mode 600).
HAR_MQTT_HOST={host}
# HAR_MQTT_PORT=1883
# HAR_MQTT_USERNAME=har
# HAR_MQTT_PASSWORD=
# HAR_MQTT_CA_FILE=/etc/har-edge/ca.crt
"""


def unit_text(exec_path: str, config: str, env: str) -> str:
    """The shipped unit with this install's ``har-edge``, config and env file."""
    text = files("har.edge.deploy").joinpath(UNIT_NAME).read_text()
    return text.replace(TEMPLATE_EXEC, exec_path).replace(TEMPLATE_CONFIG, config).replace(TEMPLATE_ENV, env)


def this_har_edge() -> str:
    """The ``har-edge`` script next to this interpreter (the venv it was installed into)."""
    return str(Path(sys.executable).parent / "har-edge")


def config_values(state_dir: str, source: str | None, camera: int | None, picamera2: bool,
                  mqtt: bool, device_id: str | None) -> dict:
    values: dict = {"sinks.jsonl": f"{state_dir}/events.jsonl", "mqtt.outbox_path": f"{state_dir}/outbox.sqlite3"}
    if source:
        values["source.source"] = source
    elif picamera2:
        values["source.picamera2"] = True
    else:
        values["source.camera"] = 0 if camera is None else camera
    if mqtt:
        values |= {"sinks.mqtt": True, "mqtt.discovery": True}
    if device_id:
        values["mqtt.device_id"] = device_id
    return values


def _write(path: Path, text: str, force: bool, mode: int = 0o644) -> None:
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; keep it, or pass --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(path, mode)  # O_CREAT's mode does not apply to a file that existed
    except PermissionError:
        raise ConfigError(f"cannot write {path}: permission denied (run with sudo, or choose another --dir)") from None
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {e.strerror or e}") from None


def init(conf_dir: Path, unit_dir: Path | None, state_dir: str, mqtt_host: str | None, source: str | None,
         camera: int | None, picamera2: bool, device_id: str | None, force: bool) -> list[Path]:
    """Write config.toml, env (600) and the unit; returns the paths written."""
    config, env = conf_dir / "config.toml", conf_dir / "env"
    text = render(config_values(state_dir, source, camera, picamera2, mqtt_host is not None, device_id),
                  header=f"# har-edge device configuration, written by `har-edge init`.\n"
                         f"# Every option with its default; MQTT secrets live in {env}.\n")
    # The file must load before anything is written: a bad --camera or --device-id is refused here.
    try:
        check_camera(from_mapping(EdgeConfig, tomllib.loads(text)).source.camera, "--camera")
    except ValueError as e:
        raise ConfigError(str(e)) from None
    written = [config, env]
    _write(config, text, force)
    _write(env, ENV_TEXT.format(host=mqtt_host or "localhost"), force, mode=0o600)
    if unit_dir is not None:
        unit = unit_dir / UNIT_NAME
        _write(unit, unit_text(this_har_edge(), str(config.absolute()), str(env.absolute())), force)
        written.append(unit)
    return written


def next_steps(written: list[Path], mqtt: bool) -> list[str]:
    config = written[0]
    lines = [f"  {this_har_edge()} doctor --config {config}" + (" --mqtt" if mqtt else ""),
             f"  sudo XDG_CACHE_HOME=/var/cache/har-edge {this_har_edge()} models fetch pose   "
             "# the default model's pose models, where the service reads them",
             f"  sudo XDG_CACHE_HOME=/var/cache/har-edge {this_har_edge()} models fetch pose-lite   "
             "# the lite landmark model (a 41 MB download): the default model then needs about 0.6x the CPU per sampled "
             "frame of the full one (docs/pose.md, \"Cost against accuracy\")"]
    if len(written) > 2:
        lines += ["  sudo systemctl daemon-reload", "  sudo systemctl enable --now har-edge",
                  "  journalctl -u har-edge -f"]
    else:
        lines.append(f"  {this_har_edge()} run --config {config}")
    if str(Path(sys.executable)).startswith("/home/") and len(written) > 2:
        lines.append("  note: the unit has ProtectHome=yes, so install har-edge outside /home (e.g. /opt/har-edge)")
    return lines


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init_cmd(
        conf_dir: Annotated[Path, typer.Option("--dir", help="Folder for config.toml and env.")] = Path("/etc/har-edge"),
        unit_dir: Annotated[Path, typer.Option(help="Folder for har-edge.service.")] = Path("/etc/systemd/system"),
        no_unit: Annotated[bool, typer.Option("--no-unit", help="Write no systemd unit.")] = False,
        state_dir: Annotated[str, typer.Option(help="Where the events file and the MQTT outbox go (the unit's "
                                                    "StateDirectory).")] = SERVICE_STATE,
        mqtt_host: Annotated[str | None, typer.Option(help="Publish to this MQTT broker, with Home Assistant "
                                                           "discovery.")] = None,
        source: Annotated[str | None, typer.Option(help="Video file or stream URL instead of a camera.")] = None,
        camera: Annotated[int | None, typer.Option(help="Camera index (default 0).")] = None,
        picamera2: Annotated[bool, typer.Option("--picamera2", help="The Raspberry Pi camera module.")] = False,
        device_id: Annotated[str | None, typer.Option(help="Name in MQTT topics and Home Assistant (default: "
                                                           "hostname).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    ) -> None:
        """Write a config, an env file for MQTT secrets (mode 600) and a systemd unit; print the next commands.

        Example: sudo /opt/har-edge/.venv/bin/har-edge init --picamera2 --mqtt-host homeassistant.local
        """
        written = init(conf_dir, None if no_unit else unit_dir, state_dir, mqtt_host, source, camera, picamera2,
                       device_id, force)
        for path in written:
            typer.echo(f"wrote {path}")
        typer.echo("next:")
        for line in next_steps(written, mqtt_host is not None):
            typer.echo(line)
