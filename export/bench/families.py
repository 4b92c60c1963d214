"""The trained models a bench run compares: a private copy each, its test split, Keras reference, bundles."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from har.export.bundle import assemble_bundle
from har.export.checks import load_model_dir
from har.export.data import calibration_clips, load_splits
from har.export.errors import ExportError
from har.export.worker import Conversion, bundle_files, convert_models, targets_for
from har.models.folder import SPLIT_FILE, ModelFolder
from har.models.metrics import compare
from har.models.registry import get_entry, list_models

#: The pixel families the bench compares (a pose bundle comes in with --bundle: its head's accuracy from its
#: report.json, its frame cost measured like every row).
FAMILIES = tuple(n for n in list_models("pixels") if get_entry(n).exportable)
#: Window variants in table order; the streaming pair is benchmarked in int8, the mode a device runs.
WINDOW_QUANTS = ("fp32", "dynamic", "fp16", "int8")
STREAMING_QUANTS = ("int8",)


@dataclass
class Family:
    """One trained model prepared for the bench: its test split, Keras reference and converted bundles."""

    md: ModelFolder  # the private copy the run works on
    origin: Path  # the model directory it was copied from
    test_y: np.ndarray
    test_clips: Path
    keras_probs: np.ndarray
    bundles: dict[str, Path] = field(default_factory=dict)  # quant -> bundle dir
    errors: dict[str, str] = field(default_factory=dict)  # quant -> why it did not export

    @property
    def name(self) -> str:
        return self.md.family

    @property
    def params(self) -> int | None:
        return self.md.metrics.get("num_params")


def find_models(root: Path) -> list[ModelFolder]:
    """The trained model directories under ``root`` (``lrcn``, ``convlstm``); ExportError if there is none."""
    found = [load_model_dir(root / f) for f in FAMILIES if (root / f / "model.keras").is_file()]
    if not found:
        raise ExportError(f"no trained model in {root} (looked for {', '.join(f'{root / f}' for f in FAMILIES)}); "
                          "train first with `make train`")
    return found


def snapshot(md: ModelFolder, work: Path, data: Path | None) -> ModelFolder:
    """A private copy of ``md`` (with ``data`` as its dataset root, if given) for the whole run.

    A retrain that replaces ``artifacts/`` while the bench runs would
    otherwise put two different models into one table (converted before the
    swap, timed in Keras after it).
    """
    copy = work / "models" / md.family
    copy.mkdir(parents=True)
    for name in ("model.keras", "labels.json", "config.json", "metrics.json", SPLIT_FILE):
        if (md.path / name).is_file():
            shutil.copy2(md.path / name, copy / name)
    md = load_model_dir(copy)
    return dataclasses.replace(md, config={**md.config, "data": str(data)}) if data is not None else md


def load_test_split(md: ModelFolder, origin: Path):
    try:
        return load_splits(md, test=True)
    except ExportError as e:  # name the user's model directory, not the private copy
        raise ExportError(str(e).replace(str(md.path), str(origin))) from None


def convert_variants(md: ModelFolder, work: Path, train_x: np.ndarray, test_x: np.ndarray, samples: int,
                     log: Callable[[str], None]) -> tuple[Conversion, dict[str, str]]:
    """Every variant in one conversion run; if that fails, one run per quantization so one failure costs one row."""
    calibration = calibration_clips(md, train_x, samples)
    targets = targets_for(md, list(WINDOW_QUANTS), list(STREAMING_QUANTS))
    try:
        return convert_models(md, work, targets, calibration=calibration, evaluate=test_x), {}
    except ExportError as e:
        log(f"{md.family}: converting all variants in one run failed ({e}); converting one mode at a time")
    conv = convert_models(md, work / "keras", [], evaluate=test_x)
    errors: dict[str, str] = {}
    for q in WINDOW_QUANTS:
        try:
            part = convert_models(md, work / q, targets_for(md, [q], [q] if q in STREAMING_QUANTS else []),
                                  calibration=calibration if q == "int8" else None)
        except ExportError as e:
            errors[q] = str(e)
            continue
        conv.files.update(part.files)
        conv.seconds.update(part.seconds)
        conv.calibration = part.calibration or conv.calibration
    return conv, errors


def prepare_family(md: ModelFolder, origin: Path, splits, work: Path, samples: int,
                   log: Callable[[str], None]) -> Family:
    """Convert every variant of ``md`` and assemble one bundle per quantization.

    ``splits`` is ``load_splits(md, test=True)``: training clips (int8
    calibration only) and the held-out test split.
    """
    train_x, (test_x, test_y) = splits
    if not len(test_y):
        raise ExportError(f"{origin} has an empty test split; the benchmark measures accuracy on held-out clips")
    (work / md.family).mkdir(parents=True, exist_ok=True)
    clips = work / md.family / "test.npz"
    np.savez(clips, clips=test_x)
    log(f"{md.family}: converting {', '.join(WINDOW_QUANTS)} and the streaming pair; Keras on "
        f"{len(test_y)} test clips")
    conv, errors = convert_variants(md, work / md.family / "convert", train_x, test_x, samples, log)
    fam = Family(md, origin, test_y, clips, conv.keras_probs, errors=errors)
    for q in WINDOW_QUANTS:
        if q in errors:
            continue
        files = bundle_files(md, conv, q) if q in STREAMING_QUANTS else {"window": conv.files["window", q]}
        try:
            fam.bundles[q] = assemble_bundle(md, work / "bundles" / f"{md.family}-{q}", q, files, conv)
        except ExportError as e:
            fam.errors[q] = str(e)
    return fam


def accuracy_fields(fam: Family | None, probs) -> dict:
    if fam is None or probs is None:
        return {}
    m = compare(np.asarray(probs, np.float32), fam.keras_probs, fam.test_y, fam.md.labels)
    return {"test_accuracy": m["test_accuracy"], "macro_f1": m["macro_f1"],
            "agreement_with_keras": m.get("agreement_with_keras"), "max_abs_diff": m.get("max_abs_diff"),
            "accuracy_source": f"held-out test split of {fam.origin} ({len(fam.test_y)} clips)"}


def dataset_drift(fam: Family) -> str | None:
    """A warning when Keras scores differently here than when it was trained: the data changed since.

    Same model, same clips, same split must give the same accuracy (up to a
    clip that float noise flips); anything more means the test split is not
    the one the model was held out from, and every accuracy in the table is
    off.
    """
    recorded = fam.md.metrics.get("test_accuracy")
    if recorded is None or fam.keras_probs is None:
        return None
    now = accuracy_fields(fam, fam.keras_probs)["test_accuracy"]
    if abs(now - recorded) * len(fam.test_y) <= 1.5:
        return None
    return (f"{fam.name}: Keras scores {now:.3f} on the test split here but {recorded:.3f} when it was trained, so "
            f"the data in {fam.md.config.get('data')} changed since training; retrain, or point --data at the "
            "data it was trained on")
