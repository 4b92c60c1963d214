"""The device's start-up and shut-down in one object, so the CLI only parses and calls.

Why an object: ``har-edge run`` composes a dozen parts (metrics server,
classifier with enrolment, sinks, source, annotated video, pipeline,
watchdog, signal handlers) whose order matters both ways. Opening order
puts the cheap refusals first (a port in use, an unwritable path) before
the camera opens; closing order stops the source before the sinks so the
last events still reach the outbox. :meth:`Runtime.start` builds the parts
and undoes what it built if any of them fails; :meth:`Runtime.close` is
idempotent. Compare Frigate's ``FrigateApp``, which does the same for its
processes.
"""

from __future__ import annotations

import logging
import signal

from har.edge.bundle import Bundle
from har.edge.config import EdgeConfig
from har.edge.errors import HarError, first_line
from har.edge.metrics import Metrics
from har.edge.sinks.base import MultiSink

log = logging.getLogger("har.edge")


class SinkSetupError(HarError):
    """A sink refused its settings (video file type, an unwritable folder): the user's to fix."""


def build_sinks(cfg: EdgeConfig, bundle: Bundle, labels: list[str] | None = None,
                metrics: Metrics | None = None) -> MultiSink:
    """The sinks the config turns on; MQTT announces every label that is an action (enrolled ones too)."""
    from har.edge.sinks.console import ConsoleSink
    from har.edge.sinks.jsonl import JsonlSink

    sinks = []
    if cfg.sinks.console:
        sinks.append(ConsoleSink(show_state=cfg.sinks.console_state))
    if cfg.sinks.jsonl:
        sinks.append(JsonlSink(cfg.sinks.jsonl, max_bytes=cfg.sinks.jsonl_max_bytes))
    if cfg.sinks.mqtt:
        from har.edge.sinks.mqtt import MqttSink

        actions = [lab for lab in labels or bundle.labels if lab not in cfg.smoother.background_labels]
        sinks.append(MqttSink(cfg.mqtt, actions, metrics=metrics))
    return MultiSink(sinks)


class Runtime:
    """Everything ``har-edge run`` needs, opened by :meth:`start` and closed by :meth:`close`."""

    def __init__(self, cfg: EdgeConfig, bundle: Bundle):
        self.cfg, self.bundle = cfg, bundle
        self.metrics = Metrics()
        self.prom = self.classifier = self.sink = self.source = self.video = self.pipeline = None
        self.watchdog = None
        self._closed = False
        self._saved_signals: dict[int, object] = {}

    # -- start-up ---------------------------------------------------------------------------------------------
    def start(self) -> Runtime:
        from har.edge.preflight import check_outputs

        check_outputs(self.cfg)  # before anything is opened: a bad path must not wait for the first frame
        try:
            self._open()
        except BaseException as e:
            self.close()
            if isinstance(e, ValueError | OSError) and not isinstance(e, HarError):
                raise SinkSetupError(first_line(e, 400)) from e
            raise
        return self

    def _open(self) -> None:
        from har.edge.enroll.runtime import with_enrolment
        from har.edge.interpreter import backend_name
        from har.edge.pipeline import Classifier, Pipeline
        from har.edge.prometheus import MetricsServer
        from har.edge.sinks.video import VideoSink
        from har.edge.sources import open_source
        from har.edge.systemd import Watchdog

        cfg, bundle, metrics = self.cfg, self.bundle, self.metrics
        if cfg.metrics.prometheus_port is not None:  # first: a port in use is refused before the camera opens
            self.prom = MetricsServer(metrics, cfg.metrics.prometheus_host, cfg.metrics.prometheus_port,
                                      backend_name())
        self.classifier = with_enrolment(Classifier(bundle, cfg.inference.threads, cfg.inference.delegate or None,
                                                    cfg.inference.streaming), bundle)
        self.sink = build_sinks(cfg, bundle, getattr(self.classifier, "labels", None), metrics)
        mqtt = next((s for s in self.sink.sinks if hasattr(s, "on_detect")), None)
        if self.prom is not None:
            self.prom.mqtt = mqtt
        self.watchdog = Watchdog(metrics)
        src = cfg.source
        self.source = open_source(src.camera, src.source, src.picamera2, self._on_outage, src.width, src.height,
                                  src.realtime, src.loop, src.reconnect_max_s, src.open_timeout_s)
        if cfg.sinks.output:
            self.video = VideoSink(cfg.sinks.output, self.source.fps, segment_s=cfg.sinks.output_segment_s)
        self.pipeline = Pipeline(cfg, bundle, self.sink, classifier=self.classifier, video_sink=self.video,
                                 metrics=metrics)
        for s in self.sink.sinks:
            if hasattr(s, "pending"):  # MQTT: what waits in the outbox, what the broker acknowledged
                metrics.gauges.update(mqtt_outbox_pending=lambda s=s: s.pending,
                                      mqtt_delivered=lambda s=s: s.delivered)
        if mqtt is not None:  # <base>/detect/set turns classification off and on
            mqtt.on_detect = self.pipeline.set_detect
            self.pipeline.set_detect(mqtt.detecting)

    def _on_outage(self, down: bool, reason: str) -> None:
        if self.watchdog is not None:
            self.watchdog.source_down = down
        if self.sink is not None:
            self.sink.availability(not down, reason)

    # -- running ----------------------------------------------------------------------------------------------
    def stop(self, *_args) -> None:
        """Ask the loop to finish (signal handlers call this); :meth:`run` then closes everything."""
        log.info("stopping")
        if self.pipeline is not None:
            self.pipeline.stop()
        if self.source is not None:
            self.source.stop()

    def install_signals(self) -> None:
        """SIGTERM/SIGINT stop the run, SIGHUP rereads enrolments; :meth:`close` puts the previous handlers back,
        so a caller in the same process (a test, an embedding app) can be interrupted again afterwards."""
        handlers = {signal.SIGTERM: self.stop, signal.SIGINT: self.stop}
        if hasattr(signal, "SIGHUP") and hasattr(self.classifier, "request_reload"):
            handlers[signal.SIGHUP] = lambda *_: self.classifier.request_reload()  # reread the enrolment file
        for sig, handler in handlers.items():
            self._saved_signals.setdefault(sig, signal.signal(sig, handler))

    def run(self):
        """Run until the source ends or :meth:`stop`, then close; returns the pipeline's summary."""
        try:
            self.watchdog.start()  # READY=1, then WATCHDOG=1 while frames arrive (Type=notify units)
            return self.pipeline.run(self.source)
        finally:
            self.close()

    # -- shut-down --------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Source first (no new frames), then the video, the sinks (the outbox flushes), the metrics server."""
        if self._closed:
            return
        self._closed = True
        for part in (self.watchdog, self.source, self.video, self.sink, self.prom):
            if part is None:
                continue
            try:
                part.stop()
            except Exception:  # one part failing to stop must not keep the rest open
                log.exception("error while stopping %s", type(part).__name__)
        for sig, previous in self._saved_signals.items():
            signal.signal(sig, previous)
        self._saved_signals.clear()
