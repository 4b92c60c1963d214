"""Training configuration: one typed, bounded record, from a TOML/YAML/JSON file, then CLI flags.

Read by the shared record reader (:mod:`har.edge.records`): an unknown key or
a value of the wrong type is a :class:`~har.edge.records.ConfigError` naming
the key, and the bounds live in ``__post_init__``. Defaults are the seed
study's: Adam, categorical cross-entropy, batch 4, EarlyStopping on val_loss
(patience 15, best weights restored), and the family's own epoch cap and
sampling (``har.models.registry``: 50 epochs for the ConvLSTM, 70 for the
LRCN; 20 frames of 64 px 0.1 s apart). The evaluation protocol, input
pipeline and distribution strategy default to the single-split, in-memory,
single-process path (docs/training.md, docs/distributed.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from har.edge.preprocess import NORMALIZATIONS
from har.edge.records import ConfigError, apply_overrides, from_mapping, read_file
from har.models.clips import Sampling
from har.models.registry import InputSpec, get_entry

ENCODERS = ("pixels", "pose")
#: Flags that set a field of ``sampling``.
SAMPLING_FLAGS = ("seq_len", "size", "interval_s", "clips_per_video", "mode")


@dataclass
class TrainConfig:
    model: str = "lrcn"
    encoder: str = "pixels"  # what the model reads per frame: "pixels" or "pose" (keypoint features)
    data: str = "data/synth"
    classes: list[str] | None = None  # subset of class folders; None = all
    epochs: int | None = None  # None = the seed's cap for the model
    batch_size: int = 4
    learning_rate: float = 1e-3
    patience: int = 15  # EarlyStopping on val_loss
    reduce_lr_patience: int | None = None  # halve the learning rate after this many epochs without a better val_loss
    seed: int = 27
    val_fraction: float = 0.15
    test_fraction: float = 0.25
    sampling: Sampling = field(default_factory=Sampling)  # load_config starts from the family's InputSpec
    normalization: str = InputSpec.normalization  # the seed's x/255; "scale_-1_1" trains faster
    # true = brightness, shift and (with flip_pairs) flips, new every epoch; or a list of
    # names from har.train.augment.AUGMENTS (adds "crop" and "temporal_jitter")
    augment: bool | list[str] = False
    flip_pairs: list[list[str]] | None = None  # e.g. [["walk_left", "walk_right"]]; None = never flip
    out: str = "artifacts"
    cache_dir: str | None = None  # None = ~/.cache/har/clips
    jit_compile: bool | str = "auto"  # XLA; "auto" lets Keras decide
    protocol: str = "holdout"  # holdout, logo, kfold:K, official:N[,N...] (har.train.protocols)
    folds: int | None = None  # run only the first N folds of the protocol (quick checks); None = all
    input_pipeline: str = "auto"  # memory, shards (TFRecord, streamed) or auto (shards above the budget)
    memory_budget_gib: float = 2.0  # auto: largest estimated uint8 dataset kept in memory
    shard_dir: str | None = None  # None = <cache_dir>/shards, or ~/.cache/har/shards
    shuffle_buffer: int = 512  # clips, shards pipeline
    strategy: str = "none"  # none, mirrored or multiworker (TF_CONFIG); batch_size is per replica
    init: str | None = None  # pose: start from 'default' (the shipped head) or a pose model folder
    mix_motion: float = 0.0  # pose: add generated windows, this many times the real training windows
    min_found_fraction: float = 0.5  # pose: windows with fewer frames with a pose are dropped (device: no action)
    # pose: the bundle declares these modes (landmark model on every k-th sampled frame, the rest interpolated);
    # the device starts in default_landmark_every (None: the first) and may step to larger k when slow
    landmark_every: list[int] = field(default_factory=lambda: [1])
    default_landmark_every: int | None = None
    train_skipped: bool = False  # pose: train on windows marked for the declared modes (each window draws a k)
    # pose: the head also takes the lite landmark model's keypoints, which the device then prefers when cached
    # (true only for heads trained on generated motion, whose estimator model covers both; docs/pose.md)
    lite_landmarks: bool = False

    def __post_init__(self):
        try:
            self._check()
        except KeyError as e:  # an unknown model: the registry's message names the known ones
            raise ConfigError(str(e.args[0])) from None
        except ConfigError:
            raise
        except ValueError as e:
            raise ConfigError(str(e)) from None

    def _check(self) -> None:
        from har.train.augment import augment_names
        from har.train.distribute import check_strategy
        from har.train.protocols import parse_protocol

        get_entry(self.model)
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}; choose pixels or pose")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {', '.join(NORMALIZATIONS)}, not {self.normalization!r}")
        parse_protocol(self.protocol)
        check_strategy(self.strategy)
        augment_names(self.augment)
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {self.epochs}")
        if self.batch_size < 1 or self.patience < 0 or self.shuffle_buffer < 1:
            raise ValueError("batch_size and shuffle_buffer must be at least 1 and patience at least 0 "
                             f"(got {self.batch_size}, {self.shuffle_buffer}, {self.patience})")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate must lie between 0 and 1, not {self.learning_rate}")
        if not (0 <= self.val_fraction < 1 and 0 <= self.test_fraction < 1
                and self.val_fraction + self.test_fraction < 1):
            raise ValueError(f"val_fraction and test_fraction are shares of the groups and must leave some to "
                             f"train on (got {self.val_fraction} and {self.test_fraction})")
        if self.memory_budget_gib <= 0:
            raise ValueError(f"memory_budget_gib must be positive, not {self.memory_budget_gib}")
        if self.input_pipeline not in ("memory", "shards", "auto"):
            raise ValueError(f"input_pipeline must be memory, shards or auto, not {self.input_pipeline!r}")
        if not 0.0 <= self.mix_motion <= 20.0:
            raise ValueError(f"mix_motion is how many generated windows per real one (0..20), not {self.mix_motion}")
        if not 0.0 <= self.min_found_fraction <= 1.0:
            raise ValueError(f"min_found_fraction is a share of a window's frames (0..1), not {self.min_found_fraction}")
        ks = self.landmark_every
        if not ks or not all(1 <= k <= 4 for k in ks):
            raise ValueError(f"landmark_every is a list of integers from 1 to 4 (e.g. [1, 2]), not {ks!r}")
        if self.default_landmark_every is not None and self.default_landmark_every not in ks:
            raise ValueError(f"default_landmark_every ({self.default_landmark_every}) must be one of "
                             f"landmark_every {list(ks)}")
        if self.reduce_lr_patience is not None and self.reduce_lr_patience < 1:
            raise ValueError(f"reduce_lr_patience is a number of epochs (1 or more), not {self.reduce_lr_patience}; "
                             "leave it out to keep the learning rate constant")
        if self.folds is not None and self.folds < 1:
            raise ValueError(f"folds must be at least 1 (got {self.folds}); leave it out to run every fold")

    @property
    def max_epochs(self) -> int:
        return self.epochs if self.epochs is not None else get_entry(self.model).seed_epochs

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """The record ``d`` describes (``config.json`` of a model folder, or a merged config)."""
        return from_mapping(cls, dict(d))


def load_config(path: str | Path | None, overrides: dict, base: dict | None = None) -> TrainConfig:
    """The family's input spec, then ``base`` (a preset's settings), then the file, then every override that is
    not None; a key, type or bound that is wrong is a :class:`ConfigError` naming it."""
    data: dict = {}
    if path:
        data = read_file(path)
        data = data.get("train", data)
        if not isinstance(data, dict):
            raise ConfigError(f"[train] in {path} must be a table of options")
        data = dict(data)
    overrides = dict(overrides)
    # Per-model tables ([train.lrcn], [train.convlstm]) refine the shared settings.
    model = overrides.get("model") or data.get("model") or (base or {}).get("model") or TrainConfig.model
    per_model = {name: data.pop(name) for name in list(data) if isinstance(data[name], dict) and name != "sampling"}
    data.update(per_model.get(model, {}))
    try:
        spec = get_entry(model).input_spec
    except KeyError as e:
        raise ConfigError(str(e.args[0])) from None
    base = dict(base or {})
    sampling = {**spec.sampling(), **(base.pop("sampling", None) or {}), **(data.pop("sampling", None) or {})}
    data = {"normalization": spec.normalization, **base, **data, "sampling": sampling}
    flags = {f"sampling.{k}": overrides.pop(k, None) for k in SAMPLING_FLAGS}
    return from_mapping(TrainConfig, apply_overrides(data, {**flags, **overrides}))
