import urllib.request

from har.edge.metrics import Metrics, PrometheusServer


def test_metrics_snapshot_and_prometheus_endpoint_on_loopback():
    m = Metrics()
    m.frames = 30
    for ms in (1.0, 2.0, 3.0, 10.0):
        m.inference(ms / 1000)
    snap = m.snapshot()
    assert snap["inferences"] == 4 and snap["latency_ms_p50"] == 2.5
    assert snap["latency_ms_p95"] > snap["latency_ms_p50"]
    server = PrometheusServer(m, "127.0.0.1", 0)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5).read().decode()
        assert "har_edge_inferences 4" in body and "# TYPE har_edge_frames gauge" in body
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/other", timeout=5)
            raise AssertionError("expected 404")
        except urllib.error.HTTPError as e:
            assert e.code == 404
    finally:
        server.stop()


def test_prometheus_reports_process_health_and_sink_gauges():
    """Memory, threads and open files of the process itself, so a leak shows on a dashboard."""
    m = Metrics()
    m.gauges["mqtt_outbox_pending"] = lambda: 7
    m.gauges["broken"] = lambda: 1 / 0  # a stopped sink must not break the scrape
    text = m.prometheus_text()
    values = dict(line.split() for line in text.splitlines() if not line.startswith("#"))
    assert float(values["har_edge_rss_mb"]) > 1 and int(values["har_edge_threads"]) >= 1
    assert int(values["har_edge_open_fds"]) >= 3
    assert values["har_edge_mqtt_outbox_pending"] == "7" and values["har_edge_broken"] == "-1"
    assert "rss_mb" not in m.snapshot()  # the per-inference snapshot stays cheap
