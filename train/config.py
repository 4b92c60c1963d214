"""Training configuration: one typed object, from a TOML/YAML file, then CLI flags.

Defaults are the seed study's: Adam, categorical cross-entropy, batch 4,
EarlyStopping on val_loss (patience 15, best weights restored), up to 50
epochs for the ConvLSTM and 70 for the LRCN. The evaluation protocol, input
pipeline and distribution strategy default to the single-split, in-memory,
single-process path (docs/training.md, docs/distributed.md).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from har.train.clips import Sampling

SEED_MAX_EPOCHS = {"convlstm": 50, "lrcn": 70}
POSE_CLIPS_PER_VIDEO = 12


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
    sampling: Sampling = field(default_factory=Sampling)
    normalization: str = "scale_0_1"  # the seed's x/255; "scale_-1_1" trains faster
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

    def __post_init__(self):
        from har.train.augment import augment_names
        from har.train.distribute import check_strategy
        from har.train.protocols import parse_protocol

        parse_protocol(self.protocol)
        check_strategy(self.strategy)
        augment_names(self.augment)
        if self.input_pipeline not in ("memory", "shards", "auto"):
            raise ValueError(f"input_pipeline must be memory, shards or auto, not {self.input_pipeline!r}")
        if not 0.0 <= self.mix_motion <= 20.0:
            raise ValueError(f"mix_motion is how many generated windows per real one (0..20), not {self.mix_motion}")
        if not 0.0 <= self.min_found_fraction <= 1.0:
            raise ValueError(f"min_found_fraction is a share of a window's frames (0..1), not {self.min_found_fraction}")
        ks = self.landmark_every
        if (not isinstance(ks, list | tuple) or not ks
                or not all(isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= 4 for k in ks)):
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
        return self.epochs if self.epochs is not None else SEED_MAX_EPOCHS.get(self.model, 50)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        d = dict(d)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(unknown)} (valid: {', '.join(sorted(known))})")
        if isinstance(d.get("sampling"), dict):
            d["sampling"] = Sampling(**d["sampling"])
        return cls(**d)


def load_config(path: str | Path | None, overrides: dict, base: dict | None = None) -> TrainConfig:
    """``base`` (a preset's settings), then the file, then every override that is not None."""
    data: dict = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"config file {p} does not exist")
        text = p.read_text()
        if p.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        elif p.suffix == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
        data = dict(data.get("train", data))
    # Per-model tables ([train.lrcn], [train.convlstm]) refine the shared settings.
    model = overrides.get("model") or data.get("model", "lrcn")
    per_model = {name: data.pop(name) for name in list(data) if isinstance(data[name], dict) and name != "sampling"}
    data.update(per_model.get(model, {}))
    base = dict(base or {})
    sampling = {**(base.pop("sampling", None) or {}), **(data.pop("sampling", {}) or {})}
    data = {**base, **data}
    for key in ("seq_len", "size", "interval_s", "clips_per_video", "mode"):
        val = overrides.pop(key, None)
        if val is not None:
            sampling[key] = val
    data.update({k: v for k, v in overrides.items() if v is not None})
    if data.get("encoder") == "pose":  # keypoint windows are cheap: many per video, unless the user says otherwise
        sampling.setdefault("clips_per_video", POSE_CLIPS_PER_VIDEO)
    data["sampling"] = sampling
    return TrainConfig.from_dict(data)
