"""The device configuration: one typed object, from a TOML/YAML file, then flags.

Every option lives here, grouped by concern; an unknown key or a value of the
wrong type is an error naming the key (a typo in a config must not be silently
ignored on a device that runs for months). MQTT secrets come from HAR_MQTT_*
environment variables, never from the command line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from har.edge.errors import HarError
from har.edge.sinks.mqtt import MqttConfig
from har.edge.smoother import SmootherConfig


class ConfigError(HarError, ValueError):
    """A config the device cannot run with; the message names the key."""


#: Interpreter threads: more than a board has cores only slows it, and LiteRT crashes at exit with ~100000.
MAX_THREADS = 64
#: OpenCV reads an index of 100 or more as "backend * 100 + index", and a negative one crashes OpenCV 5.
MAX_CAMERA_INDEX = 99
#: A config is a few hundred bytes; anything far larger is the wrong file.
MAX_CONFIG_BYTES = 1 << 20


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


def _check_type(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arm in typing.get_args(hint):
            if arm is type(None) and value is None:
                return None
            try:
                return _check_type(value, arm, key)
            except ConfigError as e:
                errors.append(e)
        raise errors[-1] if errors else ConfigError(f"{key}: bad value {value!r}")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        return [_check_type(v, typing.get_args(hint)[0], f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value) if abs(value) < 1e300 else math.inf
    if hint is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    if hint in (int, float, str, bool):
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ConfigError(f"{key} must be {hint.__name__}, got {value!r}")
    return value


def from_mapping(cls, data: dict, where: str = ""):
    """Build dataclass ``cls`` from ``data``, refusing unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table of options")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]  # YAML keys need not be strings, so no sorting
    if unknown:
        raise ConfigError(f"unknown option {where + '.' if where else ''}{unknown[0]} "
                          f"(valid here: {', '.join(fields)})")
    kwargs = {}
    for name, value in data.items():
        key = f"{where}.{name}" if where else name
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = from_mapping(hint, value, key)
        else:
            kwargs[name] = _check_type(value, hint, key)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (ValueError, TypeError) as e:
        raise ConfigError(f"[{where or 'config'}] {e}") from e


def read_file(path: str | Path) -> dict:
    """The file's options as a dict; a file that is not a readable, UTF-8 table of options is a ConfigError."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        if p.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {p} is over {MAX_CONFIG_BYTES // 1024} KiB: not a config file")
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {p} is not text (UTF-8 TOML, YAML or JSON)") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {p}: {e.strerror or e}") from None
    data = _parse_text(p, text)
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a table of options at its top level, not a "
                          f"{type(data).__name__}")
    return data


def _parse_text(p: Path, text: str):
    try:
        if p.suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError as e:
                raise ConfigError("YAML configs need PyYAML (pip install pyyaml), or use TOML") from e
            return yaml.safe_load(text) or {}
        if p.suffix == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{p} is not valid {p.suffix.lstrip('.') or 'TOML'}: {e}") from e
    except RecursionError:
        raise ConfigError(f"{p} nests too deeply to be a config file") from None
    except Exception as e:
        if type(e).__module__.startswith("yaml"):  # its messages span lines: keep one
            raise ConfigError(f"{p} is not valid YAML: {' '.join(str(e).split())}") from e
        raise


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                environ: dict[str, str] | None = None) -> EdgeConfig:
    """File, then dotted ``overrides`` such as ``{"inference.threads": 2}``, then HAR_MQTT_* env."""
    data: dict = read_file(path) if path else {}
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"[{p}] must be a table of options, not {node!r}")
        node[leaf] = value
    cfg = from_mapping(EdgeConfig, data)
    check_camera(cfg.source.camera)
    try:
        cfg.mqtt = MqttConfig.from_env(cfg.mqtt, environ)
    except ValueError as e:
        raise ConfigError(f"[mqtt] {e}") from e
    return cfg
