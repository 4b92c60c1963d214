"""Fixtures for the edge tests: a real mosquitto broker and a paho test subscriber.

The broker runs as a subprocess on a free 127.0.0.1 port with its own tiny
config, and can be stopped and restarted on the same port to simulate outages.
Every wait here is bounded by a deadline so a broken broker fails a test
instead of hanging the run.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import need

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
)


def wait_until(predicate: Callable[[], object], timeout_s: float = 15.0, interval_s: float = 0.02) -> bool:
    """Poll ``predicate`` until it is truthy or the deadline passes; returns the last result's truth."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A mosquitto subprocess. ``persistent=True`` keeps sessions and queued messages across restarts."""

    def __init__(self, workdir: Path, persistent: bool = False):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.workdir = workdir
        self.persistent = persistent
        self.proc: subprocess.Popen | None = None
        self.conf = workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence {'true' if persistent else 'false'}",
            f"persistence_location {workdir}/",
            # mosquitto started as root drops to the 'mosquitto' user unless told otherwise
            f"user {pwd.getpwuid(os.geteuid()).pw_name}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, timeout_s: float = 5.0) -> None:
        assert self.proc is None, "broker already running"
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        log.close()
        if not wait_until(self._accepts, timeout_s):
            self.stop()
            raise RuntimeError(f"mosquitto did not accept connections on port {self.port}: {self.log_text()}")

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM (mosquitto saves its persistence file), SIGKILL if it lingers."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout_s)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def _accepts(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log_text()}")
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def log_text(self) -> str:
        p = self.workdir / "mosquitto.log"
        return p.read_text(errors="replace")[-2000:] if p.exists() else ""


def _require_mosquitto() -> None:
    """Skip on a developer machine without a broker; in CI (which installs one) that is a failure."""
    problem = None
    if MOSQUITTO is None:
        problem = "mosquitto is not installed (apt-get install mosquitto); MQTT tests need a real broker"
    else:
        try:
            import paho.mqtt  # noqa: F401
        except ImportError:
            problem = "paho-mqtt is not installed (pip install 'har-edge[mqtt]')"
    need(problem is None, problem)


def _running_broker(workdir: Path, persistent: bool):
    _require_mosquitto()
    workdir.mkdir()
    b = Broker(workdir, persistent=persistent)
    b.start()
    yield b
    b.stop()


@pytest.fixture
def broker(tmp_path):
    """A running, non-persistent broker on a free port."""
    yield from _running_broker(tmp_path / "broker", persistent=False)


@pytest.fixture
def persistent_broker(tmp_path):
    """A broker that keeps persistent sessions across ``restart()`` (for outage tests)."""
    yield from _running_broker(tmp_path / "pbroker", persistent=True)


class Subscriber:
    """A paho client recording every message it receives; reconnects on its own."""

    def __init__(
        self, broker: Broker, topics: list[str], client_id: str | None = None, clean_session: bool = True
    ):
        import paho.mqtt.client as mqtt

        self.topics = topics
        self.messages: list = []  # paho MQTTMessage objects, in arrival order
        self._lock = threading.Lock()
        self.subscribed = 0  # SUBACKs received (one per (re)connect)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-sub-{uuid.uuid4().hex[:8]}",
            clean_session=clean_session,
        )
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        assert wait_until(lambda: self.subscribed, 5.0), "test subscriber could not subscribe"

    def _on_subscribe(self, *args) -> None:
        self.subscribed += 1

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append(msg)

    def on(self, topic: str) -> list:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def wait_for(self, predicate: Callable[[Subscriber], object], timeout_s: float = 15.0) -> bool:
        return wait_until(lambda: predicate(self), timeout_s)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscribe():
    """``subscribe(broker, topics, **kw) -> Subscriber``; all are closed after the test."""
    subs: list[Subscriber] = []

    def make(broker: Broker, topics: list[str], **kw) -> Subscriber:
        s = Subscriber(broker, topics, **kw)
        subs.append(s)
        return s

    yield make
    for s in subs:
        s.close()


@pytest.fixture(name="wait_until")
def wait_until_fixture():
    """The bounded polling helper, as a fixture (test files cannot import conftest reliably)."""
    return wait_until


@pytest.fixture(scope="session")
def colour_bundle(tmp_path_factory) -> Path:
    """A real TFLite bundle that answers by mean colour (see :mod:`tests.edge.colour`)."""
    from tests.edge.colour import build_colour_bundle
    from tests.edge.prebuilt import cached

    return cached("colour_bundle", build_colour_bundle, tmp_path_factory)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Real TFLite models shaped like a small pixel bundle (see :mod:`tests.edge.tiny_models`).

    ``HAR_TINY_MODELS`` names a folder where they were already built (the arm64
    proof builds them on the host: an edge install has no TensorFlow, and a
    .tflite file is the same on every architecture).
    """
    from tests.edge.prebuilt import cached
    from tests.edge.tiny_models import TINY_NAMES, build_tiny_models

    if prebuilt := os.environ.get("HAR_TINY_MODELS"):
        paths = {name: Path(prebuilt) / f"{name}.tflite" for name in TINY_NAMES}
        assert all(p.is_file() for p in paths.values()), f"HAR_TINY_MODELS={prebuilt} lacks {TINY_NAMES}"
        return paths
    return cached("tiny_models", build_tiny_models, tmp_path_factory)
