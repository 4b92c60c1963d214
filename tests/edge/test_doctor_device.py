"""``har-edge doctor``: a real MQTT connection (anonymous, password, TLS), output paths, numpy vs picamera2, libedgetpu."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from har.edge import doctor_device as dd
from har.edge.cli import app
from har.edge.config import load_config
from tests.edge.conftest import Broker, _require_mosquitto
from tests.helpers import need


def _config(tmp_path: Path, port: int, extra: str = "") -> Path:
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'[sinks]\njsonl = "{tmp_path}/state/events.jsonl"\n'
                   f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\noutbox_path = "{tmp_path}/state/outbox.sqlite3"\n'
                   + extra)
    return cfg


def _doctor(cfg: Path, env: dict | None = None) -> str:
    res = CliRunner().invoke(app, ["doctor", "--config", str(cfg), "--mqtt"], env=env)
    return res.output


def _broker(tmp_path: Path, lines: list[str]) -> Broker:
    _require_mosquitto()
    work = tmp_path / "b"
    work.mkdir()
    b = Broker(work)
    text = b.conf.read_text().replace("allow_anonymous true\n", "")
    b.conf.write_text(text + "\n".join(lines) + "\n")
    b.start()
    return b


@pytest.mark.mqtt
def test_doctor_mqtt_connects_and_checks_paths_even_with_mqtt_off(broker, tmp_path):
    out = _doctor(_config(tmp_path, broker.port))
    assert f"[ ok ] mqtt broker: connected to 127.0.0.1:{broker.port} anonymously" in out
    assert "[ ok ] output paths: mqtt.outbox_path" in out and "sinks.jsonl" in out


@pytest.mark.mqtt
def test_doctor_mqtt_says_when_credentials_are_refused_and_accepts_good_ones(tmp_path):
    need(shutil.which("mosquitto_passwd") is not None, "mosquitto_passwd is not installed (apt-get install mosquitto)")
    pw = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), "har", "s3cret"], check=True, capture_output=True)
    b = _broker(tmp_path, ["allow_anonymous false", f"password_file {pw}"])
    try:
        cfg = _config(tmp_path, b.port)
        out = _doctor(cfg, {"HAR_MQTT_USERNAME": "har", "HAR_MQTT_PASSWORD": "wrong"})
        assert f"[FAIL] mqtt broker: 127.0.0.1:{b.port} refused the connection" in out
        assert "HAR_MQTT_PASSWORD" in out
        out = _doctor(cfg, {"HAR_MQTT_USERNAME": "har", "HAR_MQTT_PASSWORD": "s3cret"})
        assert f"[ ok ] mqtt broker: connected to 127.0.0.1:{b.port} as har" in out
    finally:
        b.stop()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    need(shutil.which("openssl") is not None, "openssl is not installed")
    crt, key = tmp_path / "broker.crt", tmp_path / "broker.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    return crt, key


@pytest.mark.mqtt
def test_doctor_mqtt_over_tls_with_the_right_ca_and_without_tls(tmp_path):
    crt, key = _self_signed(tmp_path)
    b = _broker(tmp_path, ["allow_anonymous true", f"certfile {crt}", f"keyfile {key}"])
    try:
        out = _doctor(_config(tmp_path, b.port, f'ca_file = "{crt}"\n'))
        assert f"[ ok ] mqtt broker: connected to 127.0.0.1:{b.port} anonymously over TLS" in out
        out = _doctor(_config(tmp_path, b.port))  # plain MQTT to a TLS listener
        assert "[FAIL] mqtt broker:" in out
    finally:
        b.stop()


def test_doctor_says_an_output_path_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = 1\noutbox_path = "{blocker}/outbox.sqlite3"\n')
    out = _doctor(cfg)
    assert "[FAIL] output paths: mqtt.outbox_path" in out and "is a file, not a folder" in out
    assert "[FAIL] mqtt broker: cannot connect to 127.0.0.1:1" in out


def test_libedgetpu_from_corals_repository_is_refused_with_a_new_runtime():
    with pytest.raises(RuntimeError, match=r"Coral's own build.*libedgetpu#53"):
        dd.libedgetpu_check("16.0", "ai-edge-litert 2.3.0")
    with pytest.raises(RuntimeError, match="Coral's own build"):
        dd.libedgetpu_check("16.0", "tflite-runtime 2.14.0")
    assert dd.libedgetpu_check("16.0", "tflite-runtime 2.11.0") == "libedgetpu 16.0"
    assert "built for TF 2.17" in dd.libedgetpu_check("16.0tf2.17.1-1.bookworm", "ai-edge-litert 2.3.0")
    with pytest.raises(RuntimeError, match="not installed"):
        dd.libedgetpu_check(None, "ai-edge-litert 2.3.0")


def test_system_numpy_and_the_constraints_file_that_matches_it(tmp_path):
    assert dd.system_numpy(str(tmp_path)) is None
    (tmp_path / "numpy-1.24.2.egg-info").mkdir()
    assert dd.system_numpy(str(tmp_path)) == "1.24.2"
    bookworm, trixie = dd.constraints_file("1.24.2"), dd.constraints_file("2.2.4")
    assert bookworm.endswith("raspberrypi-bookworm.txt") and "numpy==1.24.2" in Path(bookworm).read_text()
    assert trixie.endswith("raspberrypi-trixie.txt") and "numpy==2.2.4" in Path(trixie).read_text()


def test_picamera2_built_against_another_numpy_gets_the_one_line_fix(tmp_path, monkeypatch):
    fake = tmp_path / "site" / "picamera2"
    fake.mkdir(parents=True)
    # What apt's picamera2 raises under pip's numpy 2 (raspberrypi/picamera2 #1088).
    (fake / "__init__.py").write_text('raise ValueError("numpy.dtype size changed, may indicate binary '
                                      'incompatibility. Expected 96 from C header, got 88 from PyObject")\n')
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    with pytest.raises(RuntimeError) as e:
        dd.picamera2_check()
    msg = str(e.value)
    assert "numpy.dtype size changed" in msg and f"{sys.executable} -m pip install -c " in msg
    assert "raspberrypi-" in msg and "\n" not in msg
    (fake / "__init__.py").write_text("")
    assert dd.picamera2_check().startswith("picamera2 imports with numpy ")


def test_doctor_names_the_interpreter_it_found(tmp_path):
    out = CliRunner().invoke(app, ["doctor", "--config", str(_config(tmp_path, 1))]).output
    line = next(x for x in out.splitlines() if "interpreter:" in x)
    assert line.startswith("[ ok ] interpreter: ") and ("ai-edge-litert" in line or "tflite-runtime" in line)
    assert load_config(_config(tmp_path, 1)).sinks.mqtt is False  # and without --mqtt no broker line
    assert "mqtt broker" not in out
