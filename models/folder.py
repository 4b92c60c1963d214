"""A trained model's folder (``artifacts/<model>``): its one reader, and the record of its split.

``har train`` writes ``model.keras``, ``labels.json``, ``config.json`` (the
training settings, among them the sampling rule, normalization and encoder),
``metrics.json``, ``history.json`` and ``split.json``: the videos on each side
of the split the saved model was trained and tested on, with their groups.

Why a split file: ``har export`` calibrates int8 on the model's training
videos and ``har export``/``har bench`` measure on its held-out test videos.
Recomputing the split would need training's listing and protocol code, and a
change there would silently move videos across sides; reading the list the
trainer used cannot. Paths are stored relative to the data root
(``config.json``'s ``data``), so ``har bench --data`` can point a copy of the
folder at a moved dataset.

``har predict``, ``har export`` and ``har bench`` all read a folder through
:func:`read_model_folder`; folders written before ``split.json`` existed
still predict and export without calibration data, and a command that needs
their split says so in one sentence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from har.edge.errors import HarError
from har.edge.records import ConfigError, from_mapping
from har.models.clips import Sampling

SPLIT_FILE = "split.json"
SPLIT_VERSION = 1
SIDES = ("train", "val", "test")
REQUIRED = ("model.keras", "labels.json", "config.json")


class ModelFolderError(HarError, ValueError):
    """A model folder that is missing files or holds unreadable ones; the message says which."""


@dataclass(frozen=True)
class SplitVideo:
    """One video of a recorded split (the fields :func:`har.models.clips.load_clips` reads)."""

    path: Path
    label: str
    group: str


@dataclass(frozen=True)
class Split:
    """The videos of each side of a model's split, as ``split.json`` records them."""

    data: Path
    protocol: str
    fold: str
    labels: list[str]
    sides: dict[str, list[SplitVideo]]

    def videos(self, side: str) -> list[SplitVideo]:
        return self.sides.get(side, [])

    def groups(self, side: str) -> list[str]:
        return sorted({v.group for v in self.videos(side)})


@dataclass
class ModelFolder:
    """What a trained model folder says about itself: family, labels, settings, metrics."""

    path: Path
    family: str
    labels: list[str]
    config: dict
    metrics: dict

    @property
    def sampling(self) -> Sampling:
        try:
            return from_mapping(Sampling, self.config.get("sampling") or {}, "sampling")
        except ConfigError as e:
            raise ModelFolderError(f"{self.path / 'config.json'}: {e}") from None

    @property
    def normalization(self) -> str:
        return self.config.get("normalization", "scale_0_1")

    @property
    def encoder(self) -> str:
        return self.config.get("encoder", "pixels")

    @property
    def is_pose(self) -> bool:
        return self.encoder == "pose"

    @property
    def seq_len(self) -> int:
        return self.sampling.seq_len

    @property
    def size(self) -> int:
        return self.sampling.size

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 0))

    @property
    def data(self) -> Path:
        return Path(self.config.get("data", ""))

    def split(self) -> Split:
        """The recorded split; :class:`ModelFolderError` for a folder trained before splits were recorded."""
        f = self.path / SPLIT_FILE
        if not f.is_file():
            raise ModelFolderError(f"{self.path} has no {SPLIT_FILE} (it was trained by an older har-edge); "
                                   "retrain it with `har train` to calibrate int8 or measure it on its test split")
        try:
            d = json.loads(f.read_text())
            sides = {side: [SplitVideo(self.data / v["path"], v["label"], v["group"]) for v in d["videos"][side]]
                     for side in SIDES}
            return Split(self.data, d["protocol"], d["fold"], list(d["labels"]), sides)
        except (ValueError, KeyError, TypeError) as e:
            raise ModelFolderError(f"{f} is not a split record ({type(e).__name__}: {e})") from None


def read_model_folder(path: str | Path) -> ModelFolder:
    """Read a model folder's companions of ``model.keras``; :class:`ModelFolderError` if one is missing."""
    path = Path(path)
    if not path.is_dir():
        raise ModelFolderError(f"model directory {path} does not exist; train one first with `har train --model lrcn`")
    for name in REQUIRED:
        if not (path / name).is_file():
            raise ModelFolderError(f"{path} has no {name}; train a model first with `har train --model lrcn`")
    try:
        config = json.loads((path / "config.json").read_text())
        labels = json.loads((path / "labels.json").read_text())
        metrics_file = path / "metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    except (OSError, ValueError) as e:
        raise ModelFolderError(f"{path}: unreadable model files ({e})") from None
    if not isinstance(config, dict) or not isinstance(labels, list):
        raise ModelFolderError(f"{path}: config.json must hold a table and labels.json a list")
    return ModelFolder(path, str(config.get("model")), labels, config, metrics)


def write_split(out: Path, data: str | Path, protocol: str, fold: str, labels: list[str], sides: dict) -> Path:
    """Write ``split.json``: ``sides`` maps train/val/test to videos (``.path``, ``.label``, ``.group``)."""
    root = Path(data)

    def rel(p: Path) -> str:
        p = Path(p)
        try:
            return str(p.relative_to(root))
        except ValueError:
            return str(p.resolve())

    record = {"version": SPLIT_VERSION, "protocol": protocol, "fold": fold, "labels": list(labels),
              "videos": {side: [{"path": rel(v.path), "label": v.label, "group": v.group} for v in sides[side]]
                         for side in SIDES}}
    f = Path(out) / SPLIT_FILE
    f.write_text(json.dumps(record, indent=1) + "\n")
    return f
