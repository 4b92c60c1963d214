"""Two har-edge instances on one host: distinct default client ids, and a hint when ids collide.

A broker drops the older of two clients with one client id; both reconnect
and knock each other off every second. The default id now carries the
process id, and when a set id collides the log says so instead of only
"connection lost" forever.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from har.edge.sinks.mqtt import MqttConfig, MqttError, MqttSink

SHOW_ID = "from har.edge.sinks.mqtt import MqttConfig; print(MqttConfig(device_id='pi').client_id)"


def test_default_client_id_is_unique_per_device_and_process():
    assert MqttConfig(device_id="pi").client_id == f"har-edge-pi-{os.getpid()}"
    other = subprocess.run([sys.executable, "-c", SHOW_ID], capture_output=True, text=True, check=True, timeout=60)
    assert other.stdout.strip().startswith("har-edge-pi-") and other.stdout.strip() != f"har-edge-pi-{os.getpid()}"
    assert MqttConfig(device_id="pi", client_id="kitchen").client_id == "kitchen"  # a set id is kept


@pytest.mark.parametrize("keepalive", [0, 65536, 10**9])
def test_keepalive_beyond_the_protocol_field_is_refused(keepalive):
    with pytest.raises(MqttError, match="keepalive_s must be from 1 to 65535"):
        MqttConfig(keepalive_s=keepalive)


@pytest.mark.mqtt
def test_a_broker_dropping_a_duplicate_client_id_is_named_in_the_log(broker, tmp_path, caplog, wait_until):
    caplog.set_level(logging.WARNING, logger="har.edge.sinks.mqtt")
    sinks = []
    try:
        for i in range(2):
            cfg = MqttConfig(host="127.0.0.1", port=broker.port, device_id=f"cam{i}", client_id="same-id",
                             outbox_path=str(tmp_path / f"outbox{i}.sqlite3"), reconnect_min_delay_s=0.1,
                             reconnect_max_delay_s=0.3, keepalive_s=5)
            sinks.append(MqttSink(cfg, ["wave"]))
        assert wait_until(lambda: "probably connected with the same client id 'same-id'" in caplog.text, 20.0), \
            caplog.text[-2000:]
    finally:
        for s in sinks:
            s.stop(timeout_s=0.5)


@pytest.mark.mqtt
def test_distinct_client_ids_get_no_such_hint(broker, tmp_path, caplog, wait_until):
    caplog.set_level(logging.WARNING, logger="har.edge.sinks.mqtt")
    sinks = [MqttSink(MqttConfig(host="127.0.0.1", port=broker.port, device_id=f"cam{i}", client_id=f"id-{i}",
                                 outbox_path=str(tmp_path / f"o{i}.sqlite3"), reconnect_min_delay_s=0.1,
                                 reconnect_max_delay_s=0.3, keepalive_s=5), ["wave"]) for i in range(2)]
    try:
        assert wait_until(lambda: all(s.connected for s in sinks), 10.0)
        assert not wait_until(lambda: "same client id" in caplog.text, 2.0)
    finally:
        for s in sinks:
            s.stop(timeout_s=0.5)
