"""``/metrics`` in the Prometheus text exposition format (0.0.4), read from a :class:`~har.edge.metrics.Metrics`.

Why hand-written and not prometheus_client: the device needs a dozen series
and the format is small and stable, so no extra dependency goes onto the Pi;
the tests parse the output with prometheus_client's own parser to prove the
format. Raw counters (``_total``) and a latency histogram in seconds, not
averages since start: Prometheus computes rates over whatever window a
dashboard asks for, which an average since start cannot give.
"""

from __future__ import annotations

import bisect
import logging
import math
import platform
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from har.edge.errors import HarError

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Seconds; pose bundles take ~5-40 ms per window on a Pi, pixel bundles more: 1 ms to 2.5 s covers both.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

#: Metrics attribute -> (series name, help). All are counters since start.
COUNTERS = {
    "frames": ("har_edge_frames_total", "Frames read from the source."),
    "sampled": ("har_edge_sampled_frames_total", "Frames taken by the sampler at the bundle's rate."),
    "inferences": ("har_edge_inferences_total", "Windows classified."),
    "events": ("har_edge_events_total", "action_started and action_ended events emitted."),
    "dropped": ("har_edge_dropped_frames_total", "Frames the camera reader dropped because the pipeline was busy."),
    "outages": ("har_edge_source_outages_total", "Times the camera or stream was lost."),
}
#: Snapshot keys already exported above, or averages a counter replaces; other numeric keys become gauges.
_COVERED = {"uptime_s", "frames", "input_fps", "sampled_frames", "inferences", "inferences_per_s",
            "latency_ms_p50", "latency_ms_p95", "dropped_frames", "events", "source_outages"}


class MetricsError(HarError, OSError):
    """The metrics endpoint cannot be served (port in use, no such address)."""


class LatencyHistogram:
    """Cumulative histogram of inference latency in seconds (thread-safe)."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.buckets = tuple(buckets)
        self._counts = [0] * (len(self.buckets) + 1)  # the last is +Inf
        self.sum = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._counts[bisect.bisect_left(self.buckets, seconds)] += 1
            self.sum += seconds

    def cumulative(self) -> tuple[list[tuple[str, int]], float, int]:
        """([(le, count <= le)], sum, count)."""
        with self._lock:
            counts, total = list(self._counts), self.sum
        out, running = [], 0
        for le, c in zip([*map(_fmt, self.buckets), "+Inf"], counts, strict=True):
            running += c
            out.append((le, running))
        return out, total, running


def _fmt(x: float) -> str:
    if isinstance(x, bool):
        return "1" if x else "0"
    if isinstance(x, float) and math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return repr(float(x)) if isinstance(x, float) else str(int(x))


def _label(value: str) -> str:
    return str(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _series(lines: list[str], name: str, kind: str, help_: str, samples: list[tuple[str, str, object]]) -> None:
    lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
    for suffix, labels, value in samples:
        lines.append(f"{name}{suffix}{labels} {_fmt(value)}")


def exposition(metrics, mqtt=None, runtime: str | None = None) -> str:
    """The text a scrape returns. ``mqtt``: the MQTT sink, when there is one (connected, outbox depth)."""
    from har.edge import __version__

    lines: list[str] = []
    build = (f'{{version="{_label(__version__)}",python="{_label(platform.python_version())}",'
             f'runtime="{_label(runtime or "unknown")}"}}')
    _series(lines, "har_edge_build_info", "gauge", "har-edge build; the value is always 1.", [("", build, 1)])
    _series(lines, "har_edge_start_time_seconds", "gauge", "Unix time the pipeline started.",
            [("", "", round(time.time() - (time.monotonic() - metrics.t0), 3))])
    for attr, (name, help_) in COUNTERS.items():
        _series(lines, name, "counter", help_, [("", "", int(getattr(metrics, attr, 0)))])
    hist = getattr(metrics, "latency_hist", None)
    if hist is not None:
        buckets, total, count = hist.cumulative()
        _series(lines, "har_edge_inference_latency_seconds", "histogram",
                "Time to encode the newest frame and classify the window.",
                [("_bucket", f'{{le="{le}"}}', c) for le, c in buckets] + [("_sum", "", total), ("_count", "", count)])
    _series(lines, "har_edge_queue_depth", "gauge", "Frames waiting between the camera reader and the pipeline.",
            [("", "", int(getattr(metrics, "queue_depth", 0)))])
    if mqtt is not None:
        _series(lines, "har_edge_mqtt_connected", "gauge", "1 while connected to the MQTT broker.",
                [("", "", int(bool(mqtt.connected)))])
        _series(lines, "har_edge_mqtt_outbox_messages", "gauge", "Events waiting in the MQTT outbox.",
                [("", "", int(mqtt.pending))])
        _series(lines, "har_edge_mqtt_delivered_total", "counter", "Events the broker acknowledged.",
                [("", "", int(mqtt.delivered))])
    report = metrics.report() if hasattr(metrics, "report") else metrics.snapshot()
    for key, value in report.items():  # the rest: process memory, threads, open files, sink gauges
        if key in ("mqtt_outbox_pending", "mqtt_delivered"):
            continue  # exported above as har_edge_mqtt_outbox_messages / har_edge_mqtt_delivered_total
        if key in _COVERED or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        _series(lines, f"har_edge_{key}", "gauge", f"Pipeline metric {key}.", [("", "", value)])
    return "\n".join(lines) + "\n"


class MetricsServer:
    """``GET /metrics`` on ``host:port`` in a daemon thread; set :attr:`mqtt` once the MQTT sink exists."""

    def __init__(self, metrics, host: str = "127.0.0.1", port: int = 9108, runtime: str | None = None):
        outer = self
        self.metrics, self.mqtt, self.runtime = metrics, None, runtime

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                if self.path.split("?")[0].rstrip("/") != "/metrics":
                    self.send_error(404)
                    return
                body = exposition(outer.metrics, outer.mqtt, outer.runtime).encode()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep scrapes out of the log
                pass

        try:
            self.server = ThreadingHTTPServer((host, port), Handler)
        except (OSError, OverflowError) as e:  # port in use, no such address; OverflowError: port > 65535
            raise MetricsError(f"cannot serve metrics on {host}:{port} ({getattr(e, 'strerror', None) or e}); "
                               "choose another --metrics-port or metrics.prometheus_host") from None
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="har-metrics", daemon=True)
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
