"""/metrics in the Prometheus text format: parsed by prometheus_client's own parser, scraped over HTTP."""

from __future__ import annotations

import urllib.request

import pytest

from har.edge.metrics import Metrics
from har.edge.prometheus import LATENCY_BUCKETS, MetricsServer, exposition

parser = pytest.importorskip("prometheus_client.parser", reason="prometheus-client is in the [dev] extra")


class FakeMqtt:
    connected, pending, delivered = True, 4, 17


def _families(text: str) -> dict:
    return {f.name: f for f in parser.text_string_to_metric_families(text)}


def test_counters_histogram_gauges_and_build_info_parse_as_their_types():
    m = Metrics()
    m.frames, m.sampled, m.events, m.dropped, m.outages = 300, 100, 4, 7, 1
    for s in (0.0004, 0.004, 0.004, 0.03, 3.0):
        m.inference(s)
    text = exposition(m, FakeMqtt(), "ai-edge-litert 2.3.0")
    fam = _families(text)
    for name in ("har_edge_frames", "har_edge_sampled_frames", "har_edge_inferences", "har_edge_events",
                 "har_edge_dropped_frames", "har_edge_source_outages", "har_edge_mqtt_delivered"):
        assert fam[name].type == "counter", name
        assert fam[name].documentation  # a HELP line
        assert fam[name].samples[0].name == name + "_total"
    value = {s.name: s.value for f in fam.values() for s in f.samples if not s.labels or "le" not in s.labels}
    assert value["har_edge_frames_total"] == 300 and value["har_edge_inferences_total"] == 5
    assert value["har_edge_dropped_frames_total"] == 7 and value["har_edge_source_outages_total"] == 1
    assert value["har_edge_mqtt_connected"] == 1 and value["har_edge_mqtt_outbox_messages"] == 4
    hist = fam["har_edge_inference_latency_seconds"]
    assert hist.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in hist.samples if s.name.endswith("_bucket")}
    assert len(buckets) == len(LATENCY_BUCKETS) + 1
    assert buckets["0.001"] == 1 and buckets["0.005"] == 3 and buckets["0.05"] == 4 and buckets["+Inf"] == 5
    assert value["har_edge_inference_latency_seconds_count"] == 5
    assert value["har_edge_inference_latency_seconds_sum"] == pytest.approx(3.0384)
    info = fam["har_edge_build_info"].samples[0]
    assert info.value == 1 and info.labels["runtime"] == "ai-edge-litert 2.3.0" and info.labels["version"]
    assert "_ms" not in text and "input_fps" not in text  # seconds, raw counts: no averages since start


def test_newer_numeric_snapshot_entries_become_gauges(monkeypatch):
    m = Metrics()
    snap = m.snapshot
    monkeypatch.setattr(m, "snapshot", lambda: {**snap(), "process_rss_bytes": 123456, "note": "x"})
    fam = _families(exposition(m))
    assert fam["har_edge_process_rss_bytes"].type == "gauge"
    assert fam["har_edge_process_rss_bytes"].samples[0].value == 123456
    assert "har_edge_mqtt_connected" not in fam  # no MQTT sink, no MQTT series


def test_served_over_http_with_the_text_format_content_type():
    m = Metrics()
    m.frames = 9
    server = MetricsServer(m, "127.0.0.1", 0)
    try:
        server.mqtt = FakeMqtt()
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            fam = _families(r.read().decode())
        assert fam["har_edge_frames"].samples[0].value == 9 and "har_edge_mqtt_connected" in fam
    finally:
        server.stop()
