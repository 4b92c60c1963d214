"""Named recipes: a public dataset, the classes to keep and the settings to train them with.

``seed`` reproduces the LSTM-CNN study in one command (``har train --preset
seed``): UCF50's WalkingWithDog, TaiChi, Swing and HorseRace, 20 frames spread
uniformly over each video at 64x64, pixels in [0, 1], batch 4, Adam,
EarlyStopping(patience 15) on val_loss, up to 50 (ConvLSTM) / 70 (LRCN) epochs,
both models. The split stays group-disjoint (the study's random clip split
leaked UCF groups between train and test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from har.train.errors import TrainError


@dataclass(frozen=True)
class Preset:
    name: str
    dataset: str  # a name in har.train.datasets.DATASETS
    classes: list[str]
    models: list[str]
    settings: dict = field(default_factory=dict)  # TrainConfig fields; "sampling" is a table
    about: str = ""


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("seed", "ucf50", ["WalkingWithDog", "TaiChi", "Swing", "HorseRace"], ["convlstm", "lrcn"],
           {"normalization": "scale_0_1", "batch_size": 4, "patience": 15, "learning_rate": 1e-3,
            "sampling": {"mode": "uniform", "seq_len": 20, "size": 64}},
           "the LSTM-CNN study: UCF50, four classes, uniform 20-frame clips, both models"),
)}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise TrainError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None


def preset_data(preset: Preset, data: str | Path, classes: list[str] | None = None,
                base_url: str | None = None) -> Path:
    """The folder of class folders for ``preset``, downloading the wanted classes when they are not there yet.

    ``data`` may be a copy the user already has (``<data>/<Class>/...``); the
    preset's default is ``data/<dataset>``, where ``har data download`` puts it.
    """
    from har.train.datasets import download_dataset

    path, classes = Path(data), list(classes or preset.classes)
    if path.is_dir() and all((path / c).is_dir() for c in classes):
        return path
    if path.name.lower() != preset.dataset:
        raise TrainError(f"{path} does not hold the classes {', '.join(classes)}; point --data at a copy "
                         f"of {preset.dataset.upper()} or leave it out to download into data/{preset.dataset}")
    return download_dataset(preset.dataset, path.parent, classes, base_url).path
