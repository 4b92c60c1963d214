"""Build models by name, with the input each model expects beside it.

Why a registry: the CLI, the config file and the exporter pick architectures
by a short name (``convlstm``, ``lrcn``), and the frame count, frame size and
normalization a model was designed for live next to its builder, not in a
dozen call sites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class InputSpec:
    """What a model expects: ``seq_len`` frames of ``size`` x ``size`` RGB in [0, 1].

    ``encoder`` says what a frame becomes before the model sees it:
    ``pixels`` (the frame itself) or ``pose`` (keypoint features, see
    ``har.models.pose_head``).
    """

    seq_len: int = 20
    size: int = 64
    channels: int = 3
    normalization: str = "scale_0_1"
    encoder: str = "pixels"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable
    input_spec: InputSpec
    summary: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, summary: str, input_spec: InputSpec = InputSpec()):
    """Decorator recording a builder under ``name``."""

    def wrap(fn: Callable) -> Callable:
        _REGISTRY[name] = ModelEntry(name, fn, input_spec, summary)
        return fn

    return wrap


def list_models() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def get_entry(name: str) -> ModelEntry:
    _ensure_loaded()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def build_model(name: str, num_classes: int, seq_len: int | None = None, size: int | None = None, **kwargs):
    """Build a Keras model by registry name (imports Keras lazily)."""
    entry = get_entry(name)
    spec = entry.input_spec
    return entry.builder(
        num_classes=num_classes,
        seq_len=seq_len or spec.seq_len,
        size=size or spec.size,
        **kwargs,
    )


def _ensure_loaded() -> None:
    # Importing the modules runs their @register_model decorators.
    from har.models import convlstm, lrcn, pose_head  # noqa: F401
