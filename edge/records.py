"""Typed, bounded configuration records read from TOML, YAML or JSON.

One reader for both sides (the device's ``EdgeConfig``, training's
``TrainConfig``): a record is a dataclass, its type hints are the schema, its
``__post_init__`` holds the bounds. An unknown key or a value of the wrong
type is an error naming the key: a typo must not be silently ignored on a
device that runs for months, nor in a training run that takes hours.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from har.edge.errors import HarError


class ConfigError(HarError, ValueError):
    """A config the device cannot run with; the message names the key."""


#: A config is a few hundred bytes; anything far larger is the wrong file.
MAX_CONFIG_BYTES = 1 << 20


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


def apply_overrides(data: dict, overrides: dict[str, Any] | None) -> dict:
    """``data`` with dotted keys such as ``{"inference.threads": 2}`` set; None values are skipped."""
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
    return data
