"""The device configuration: one typed object, from a TOML/YAML file, then flags.

Every option lives here, grouped by concern; an unknown key or a value of the
wrong type is an error naming the key (a typo in a config must not be silently
ignored on a device that runs for months). MQTT secrets come from HAR_MQTT_*
environment variables, never from the command line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from har.edge.mqtt_config import MqttConfig
from har.edge.records import MAX_CONFIG_BYTES, ConfigError, apply_overrides, from_mapping, read_file  # noqa: F401
from har.edge.smoother import SmootherConfig

#: Interpreter threads: more than a board has cores only slows it, and LiteRT crashes at exit with ~100000.
MAX_THREADS = 64
#: OpenCV reads an index of 100 or more as "backend * 100 + index", and a negative one crashes OpenCV 5.
MAX_CAMERA_INDEX = 99


def check_camera(index: int | None, key: str = "source.camera") -> int | None:
    """``index`` if it is a camera index OpenCV reads as one (the N of /dev/videoN), else a ConfigError."""
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)
                              or not 0 <= index <= MAX_CAMERA_INDEX):
        raise ConfigError(f"{key} must be a camera index from 0 to {MAX_CAMERA_INDEX} (the N of /dev/videoN), "
                          f"not {index!r}")
    return index


@dataclass
class SourceConfig:
    camera: int | None = None  # OpenCV camera index (USB/V4L2)
    source: str | None = None  # video file or rtsp://, http:// stream
    realtime: bool = False  # play a file at its own fps (a stand-in camera) instead of flat out
    loop: bool = False  # start a file again at its end (demos, soak tests)
    picamera2: bool = False  # the Pi camera module via picamera2
    width: int | None = None  # requested capture size (camera / picamera2)
    height: int | None = None
    reconnect_max_s: float = 30.0  # cap of the reconnect backoff
    open_timeout_s: float = 10.0  # a stream that does not open or deliver a frame this long counts as lost

    def __post_init__(self):
        if not self.reconnect_max_s > 0 or not self.open_timeout_s > 0:
            raise ConfigError("source.reconnect_max_s and source.open_timeout_s must be > 0")


@dataclass
class InferenceConfig:
    threads: int = 1  # interpreter threads
    delegate: str | None = None  # "edgetpu" or None
    stride: int = 2  # classify every N sampled frames once the window is full
    streaming: str = "auto"  # "auto" (use encoder+head when the bundle has them), "on", "off"

    def __post_init__(self):
        if self.threads < 1 or self.stride < 1:
            raise ConfigError("inference.threads and inference.stride must be >= 1")
        if self.threads > MAX_THREADS:
            raise ConfigError(f"inference.threads must be at most {MAX_THREADS}, not {self.threads}")
        if self.streaming not in ("auto", "on", "off"):
            raise ConfigError("inference.streaming must be 'auto', 'on' or 'off'")
        if self.delegate not in (None, "", "edgetpu"):
            raise ConfigError(f"unknown delegate {self.delegate!r}; supported: edgetpu")


@dataclass
class SinksConfig:
    console: bool = True  # one line per event on stdout
    console_state: bool = False  # also print periodic state lines
    jsonl: str | None = None  # path of a JSON-lines event log
    jsonl_max_bytes: int = 10_000_000  # rotate above this size
    output: str | None = None  # annotated video (mp4/avi)
    output_segment_s: float = 600.0  # start a new video file this often (bounds memory; 0 = one file)
    mqtt: bool = False  # publish to MQTT (settings in [mqtt])


@dataclass
class MetricsConfig:
    interval_s: float = 60.0  # log pipeline metrics this often (0 = only at exit)
    prometheus_port: int | None = None  # serve /metrics in Prometheus text format
    prometheus_host: str = "127.0.0.1"

    def __post_init__(self):
        if not self.interval_s >= 0:  # also refuses NaN
            raise ConfigError(f"metrics.interval_s must be >= 0 (0 = only at exit), not {self.interval_s}")
        if self.prometheus_port is not None and not 1 <= self.prometheus_port <= 65535:
            raise ConfigError(f"metrics.prometheus_port must be a TCP port from 1 to 65535, not {self.prometheus_port}")


@dataclass
class EdgeConfig:
    bundle: str | None = None  # None: the default model shipped with har-edge (har.edge.default_model)
    source: SourceConfig = field(default_factory=SourceConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    smoother: SmootherConfig = field(default_factory=SmootherConfig)
    sinks: SinksConfig = field(default_factory=SinksConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if d["mqtt"].get("password"):
            d["mqtt"]["password"] = "***"
        return d


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                environ: dict[str, str] | None = None) -> EdgeConfig:
    """File, then dotted ``overrides`` such as ``{"inference.threads": 2}``, then HAR_MQTT_* env."""
    data = apply_overrides(read_file(path) if path else {}, overrides)
    cfg = from_mapping(EdgeConfig, data)
    check_camera(cfg.source.camera)
    try:
        cfg.mqtt = MqttConfig.from_env(cfg.mqtt, environ)
    except ValueError as e:
        raise ConfigError(f"[mqtt] {e}") from e
    return cfg
