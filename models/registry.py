"""Model families by name: each entry says what the family reads, how it trains and how it exports.

Why a registry: the CLI, the config file, the exporter and the bench pick
architectures by a short name (``convlstm``, ``lrcn``, ``pose_lstm``). What a
family needs besides its Keras builder lives in its entry, next to the
builder, not in the call sites:

* :class:`InputSpec`: the sampling and normalization defaults (frames per
  window, frame size, seconds between frames) and the encoder (pixels or pose
  keypoints);
* ``seed_epochs``: the epoch cap when the config sets none (the seed study's);
* :class:`ExportSpec`: the graphs a bundle of the family holds, which of them
  form the streaming split (per-frame encoder + window head), and the
  function that builds those graphs from the trained model (run by the
  conversion worker, the only process with TensorFlow).

Adding a family is one module with its builder, its export graphs and one
:func:`register_model` call, plus its import in :func:`_ensure_loaded`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class InputSpec:
    """What a model expects: ``seq_len`` frames ``interval_s`` apart, of ``size`` x ``size`` RGB, normalized.

    ``encoder`` says what a frame becomes before the model sees it:
    ``pixels`` (the frame itself) or ``pose`` (keypoint features, see
    ``har.models.pose_head``). These are the defaults of a training config's
    ``sampling`` and ``normalization``; a config may change them.
    """

    seq_len: int = 20
    size: int = 64
    interval_s: float = 0.1
    clips_per_video: int = 3  # windows cut per training video (interval sampling)
    channels: int = 3
    normalization: str = "scale_0_1"
    encoder: str = "pixels"

    def sampling(self) -> dict:
        """The sampling fields this spec sets (``har.models.clips.Sampling`` keeps the rest at their defaults)."""
        return {"seq_len": self.seq_len, "size": self.size, "interval_s": self.interval_s,
                "clips_per_video": self.clips_per_video}


@dataclass(frozen=True)
class ExportSpec:
    """How a family becomes a bundle.

    ``graphs``: what a bundle holds (``window``: the whole window at once;
    ``encoder`` + ``head``: the streaming split, one frame encoded per new
    frame and the head over the cached features; the head's second output
    is its embedding, for ``har-edge enroll``). ``build(src, num_classes,
    seq_len, size)`` returns ``{graph: keras.Model}`` with ``src``'s weights.
    """

    graphs: tuple[str, ...] = ()
    build: Callable | None = None

    @property
    def streaming(self) -> tuple[str, ...]:
        """The graphs of the streaming split, in running order (empty when the family has none)."""
        return tuple(g for g in ("encoder", "head") if g in self.graphs)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable
    input_spec: InputSpec
    summary: str
    seed_epochs: int = 50
    export: ExportSpec = ExportSpec()

    @property
    def exportable(self) -> bool:
        return bool(self.export.graphs) and self.export.build is not None


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, summary: str, builder: Callable, input_spec: InputSpec = InputSpec(), *,
                   seed_epochs: int = 50, export: ExportSpec = ExportSpec()) -> ModelEntry:
    """Record a family under ``name``; returns its entry."""
    entry = ModelEntry(name, builder, input_spec, summary, seed_epochs, export)
    _REGISTRY[name] = entry
    return entry


def list_models(encoder: str | None = None) -> list[str]:
    """Registered names, optionally only those of one encoder (``pixels`` or ``pose``)."""
    _ensure_loaded()
    return sorted(n for n, e in _REGISTRY.items() if encoder is None or e.input_spec.encoder == encoder)


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
    # Importing the family modules runs their register_model calls: the one registration per family.
    from har.models import convlstm, lrcn, pose_head  # noqa: F401
