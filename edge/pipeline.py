"""Wire the stages: frames -> sampler -> window -> interpreter -> smoother -> events -> sinks.

The loop is single-threaded on purpose: the camera reads on its own thread
(see :mod:`har.edge.sources`) and MQTT delivers on paho's, so this loop only
samples, infers and hands events on. It never waits for a broker or a disk.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from har.edge.bundle import Bundle
from har.edge.config import EdgeConfig
from har.edge.draw import draw_skeleton
from har.edge.errors import HarError
from har.edge.events import Event
from har.edge.metrics import Metrics
from har.edge.preprocess import frame_preprocessor
from har.edge.sampler import IntervalSampler
from har.edge.sinks.base import Sink
from har.edge.smoother import Smoother
from har.edge.window import Window

log = logging.getLogger(__name__)


class PipelineError(HarError, RuntimeError):
    """A bundle/config combination the pipeline cannot run."""


class Classifier:
    """One interface over whole-window, streaming (encoder + head) and pose (keypoints + head) models.

    Streaming encodes each sampled frame once and keeps its features in the
    window, so a new inference costs one encoder call plus the small head,
    instead of re-running the CNN on every frame of the window. A pose bundle
    always streams: each sampled frame goes through the pose estimator once and
    its keypoints are what the window keeps.
    """

    def __init__(self, bundle: Bundle, threads: int = 1, delegate: str | None = None, streaming: str = "auto"):
        from har.edge.interpreter import PoseClassifier, StreamingClassifier, WindowClassifier

        self.pose = bundle.is_pose
        if self.pose:
            if streaming == "off":
                raise PipelineError(f"bundle {bundle.path} is a pose bundle, which always encodes frame by frame; "
                                    "leave --streaming out")
            if delegate:
                raise PipelineError("the pose models run on the CPU; leave --delegate out for a pose bundle")
            self.streaming = True
            self._impl = PoseClassifier(bundle, threads=threads)
            return
        self.streaming = bundle.has_streaming if streaming == "auto" else streaming == "on"
        if self.streaming and not bundle.has_streaming:
            raise PipelineError(f"bundle {bundle.path} has no encoder/head pair; use --streaming off")
        self._impl = (StreamingClassifier if self.streaming else WindowClassifier)(bundle, threads=threads,
                                                                                   delegate=delegate)

    @property
    def last_pose(self):
        """The pose found in the latest sampled frame (pose bundles; None otherwise or when nobody was found)."""
        return self._impl.last_pose if self.pose else None

    def reset(self) -> None:
        """Forget per-stream state (the tracked person of a pose bundle) after a gap in the video."""
        if self.pose:
            self._impl.reset()

    def item(self, frame_u8: np.ndarray) -> np.ndarray:
        """What the window stores for one sampled frame."""
        return self._impl.encode(frame_u8) if self.streaming else frame_u8

    def enough_poses(self, window: np.ndarray) -> bool:
        """False for a pose window with too few poses to label (its probabilities are uniform); else True."""
        return self._impl.enough_poses(window) if self.pose else True

    def classify(self, window: np.ndarray) -> np.ndarray:
        return self._impl.classify(window)

    @property
    def last_input(self) -> np.ndarray | None:
        """What the head read in the latest ``classify`` (features); the embedding model reads the same."""
        return getattr(self._impl, "last_input", None)

    @property
    def last_embedding(self) -> np.ndarray | None:
        """The head's embedding output of the latest ``classify`` (None: this head has none)."""
        head = getattr(self._impl, "head", None)
        return head.embedding() if head is not None and head.embedding_output is not None else None

    def attach(self, live: bool, metrics: Metrics) -> None:
        """A pose bundle on a live source adapts its mode to the device (har.edge.pose.adapt)."""
        if self.pose:
            self._impl.attach(live, metrics)


@dataclass
class RunSummary:
    frames: int
    inferences: int
    events: int
    last_ts: float
    metrics: dict


class Pipeline:
    def __init__(self, cfg: EdgeConfig, bundle: Bundle, sink: Sink, classifier: Classifier | None = None,
                 video_sink=None, metrics: Metrics | None = None):
        if bundle.sampling_mode != "interval" or not bundle.interval_s:
            raise PipelineError("this bundle was trained with 'uniform' sampling, which has no fixed frame rate; "
                                "retrain with interval sampling (the default) for live use")
        self.cfg = cfg
        self.bundle = bundle
        self.sink = sink
        self.video_sink = video_sink
        self.metrics = metrics or Metrics()
        self.classifier = classifier or Classifier(bundle, cfg.inference.threads, cfg.inference.delegate or None,
                                                   cfg.inference.streaming)
        self.sampler = IntervalSampler(bundle.interval_s)
        self.window = Window(bundle.seq_len, cfg.inference.stride)
        self.smoother = Smoother(getattr(self.classifier, "labels", bundle.labels), cfg.smoother)
        self._stop = threading.Event()
        self._detect = threading.Event()  # cleared by set_detect(False): frames pass, nothing is classified
        self._detect.set()
        self._fps_ema = 0.0

    def stop(self) -> None:
        """Ask the loop to finish; safe from a signal handler or another thread."""
        self._stop.set()

    def set_detect(self, on: bool) -> None:
        """Turn classification off (an open action ends) or back on; safe from another thread."""
        (self._detect.set if on else self._detect.clear)()

    def _publish(self, events: list[Event], frame=None) -> None:
        for ev in events:
            self.metrics.events += ev.kind != "state"
            self.sink.publish(ev)
            if frame is not None and ev.kind == "action_started":
                self.sink.snapshot(ev, frame)

    def _relabel(self, ts: float) -> None:
        """Enrolled labels changed (har.edge.enroll): end the running action, smooth the new labels, tell sinks."""
        refresh = getattr(self.classifier, "refresh", None)
        if refresh is None or not refresh():
            return
        self._publish(self.smoother.flush(ts))
        self.smoother = Smoother(self.classifier.labels, self.cfg.smoother)
        self.sink.labels_changed([x for x in self.classifier.labels if x not in self.cfg.smoother.background_labels])

    def run(self, source) -> RunSummary:
        m = self.metrics
        self.sampler.set_frame_period(1.0 / getattr(source, "fps", 30.0))
        if hasattr(self.classifier, "attach"):
            self.classifier.attach(bool(source.live or getattr(source, "realtime", False)), m)
        prepare = frame_preprocessor(self.bundle.encoder_kind, self.bundle.frame_size)
        t_live0 = None
        paused = False
        ts = 0.0
        last_log = time.monotonic()
        interval = self.cfg.metrics.interval_s
        for item in source:
            if self._stop.is_set():
                break
            if item is None:  # a source outage: what was running ended with the last frame
                self._publish(self.smoother.flush(ts))
                self.window.clear()
                self.sampler.reset()
                if hasattr(self.classifier, "reset"):
                    self.classifier.reset()
                m.outages += 1
                continue
            raw_ts, frame = item
            if source.live:  # monotonic clock -> seconds since start
                t_live0 = raw_ts if t_live0 is None else t_live0
                raw_ts -= t_live0
            ts = raw_ts
            m.frames += 1
            m.dropped = getattr(source, "dropped", 0)
            m.queue_depth = getattr(source, "queue_depth", 0)
            detect = self._detect.is_set()
            if not detect and not paused:  # just turned off: end the open action, start afresh later
                self._publish(self.smoother.flush(ts))
                self.window.clear()
                self.sampler.reset()
            paused = not detect
            if detect and self.sampler.accept(ts):
                m.sampled += 1
                t0 = time.perf_counter()
                self.window.push(self.classifier.item(prepare(frame)))
                if self.window.due:
                    self._relabel(ts)
                    probs = self.classifier.classify(self.window.array())
                    m.inference(time.perf_counter() - t0)
                    snap = m.snapshot()
                    stats = {k: snap[k] for k in ("input_fps", "latency_ms_p50", "dropped_frames")}
                    self._publish(self.smoother.update(ts, probs, stats), frame)
            if self.video_sink is not None:
                label, conf = self.smoother.current
                pose = getattr(self.classifier, "last_pose", None)
                if pose is not None:
                    frame = draw_skeleton(frame, pose.landmarks)
                self.video_sink.write(frame, label, conf or 0.0, m.input_fps)
            if interval and time.monotonic() - last_log >= interval:
                log.info("metrics %s", m.report())
                last_log = time.monotonic()
        self._publish(self.smoother.flush(ts))
        snap = m.report()
        log.info("metrics %s", snap)
        return RunSummary(m.frames, m.inferences, m.events, ts, snap)
