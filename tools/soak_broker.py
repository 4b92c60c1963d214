"""The soak's broker side: a private mosquitto it can stop and start, and a subscriber that counts arrivals.

Why a private broker: the soak restarts it every few minutes to prove that
events wait in har-edge's outbox and arrive once it is back, in order; a
shared broker could not be restarted, and would mix in other clients'
traffic. It runs with persistence so the subscriber's session (and its
queued messages) survive the restarts. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Broker:
    """A private mosquitto with persistence, so the subscriber's session survives restarts."""

    def __init__(self, workdir: Path):
        exe = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)
        if exe is None:
            sys.exit("soak: mosquitto is not installed (apt-get install mosquitto)")
        self.exe = exe
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text("\n".join([
            f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence true",
            f"persistence_location {workdir}/", f"user {pwd.getpwuid(os.geteuid()).pw_name}",
            "max_queued_messages 0", "log_dest stderr", "log_type error", "log_type warning"]) + "\n")
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        with open(self.workdir / "mosquitto.log", "ab") as log:
            self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not _accepts(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                sys.exit(f"soak: mosquitto did not start; see {self.workdir / 'mosquitto.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its persistence file (queued messages for the subscriber)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    @property
    def up(self) -> bool:
        return self.proc is not None


class Subscriber:
    """A persistent-session QoS 1 subscriber to the events topic: records first arrivals in order."""

    def __init__(self, port: int, topic: str):
        import paho.mqtt.client as mqtt

        self.lock = threading.Lock()
        self.order: list[str] = []  # event_ids, first arrival only
        self.seen: set[str] = set()
        self.duplicates = 0
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="har-soak-subscriber", clean_session=False)
        c.reconnect_delay_set(0.2, 2.0)
        c.on_connect = lambda cl, u, f, rc, p: cl.subscribe(topic, qos=1)
        c.on_message = self._on_message
        c.connect("127.0.0.1", port, keepalive=10)
        c.loop_start()
        self.client = c

    def _on_message(self, client, userdata, msg) -> None:
        try:
            eid = json.loads(msg.payload)["event_id"]
        except (ValueError, KeyError):
            return
        with self.lock:
            if eid in self.seen:
                self.duplicates += 1
            else:
                self.seen.add(eid)
                self.order.append(eid)

    def count(self) -> int:
        with self.lock:
            return len(self.order)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
