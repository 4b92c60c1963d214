from har.edge.metrics import Metrics


def test_metrics_snapshot_and_prometheus_endpoint_on_loopback():
    m = Metrics()
    m.frames = 30
    for ms in (1.0, 2.0, 3.0, 10.0):
        m.inference(ms / 1000)
    snap = m.snapshot()
    assert snap["inferences"] == 4 and snap["latency_ms_p50"] == 2.5
    assert snap["latency_ms_p95"] > snap["latency_ms_p50"]


def test_report_adds_process_health_and_sink_gauges():
    """Memory, threads and open files of the process itself, so a leak shows on a dashboard."""
    m = Metrics()
    m.gauges["mqtt_outbox_pending"] = lambda: 7
    m.gauges["broken"] = lambda: 1 / 0  # a stopped sink must not break the scrape
    values = m.report()
    assert values["rss_mb"] > 1 and values["threads"] >= 1 and values["open_fds"] >= 3
    assert values["mqtt_outbox_pending"] == 7 and values["broken"] == -1
    assert "rss_mb" not in m.snapshot()  # the per-inference snapshot stays cheap
