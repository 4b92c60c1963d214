"""Compile, fit, evaluate and write a model's artifacts.

``artifacts/<model>/`` holds everything needed to reuse or reproduce a run:
``model.keras``, ``labels.json``, ``config.json`` (including the sampling rule
the edge must follow), ``history.json``, ``metrics.json`` (held-out test
split only), ``curves.png`` and ``confusion.png``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from har.edge.preprocess import normalize
from har.train.clips import default_cache_dir, load_clips
from har.train.config import TrainConfig
from har.train.dataset import DatasetError, list_videos, split_groups
from har.train.metrics import classification_metrics

log = logging.getLogger(__name__)


@dataclass
class Splits:
    labels: list[str]
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    groups: dict[str, list[str]]
    skipped: list[str]

    def sizes(self) -> dict[str, int]:
        return {k: int(len(getattr(self, k)[1])) for k in ("train", "val", "test")}


def prepare_splits(cfg: TrainConfig, only: tuple[str, ...] = ("train", "val", "test")) -> Splits:
    """List, split (group-disjoint) and load the clips of ``cfg.data``."""
    videos, labels = list_videos(Path(cfg.data), cfg.classes)
    parts = split_groups(videos, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    cache = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
    loaded, skipped = {}, []
    empty = (np.zeros((0, cfg.sampling.seq_len, cfg.sampling.size, cfg.sampling.size, 3), np.uint8), np.zeros(0, np.int32))
    for name in ("train", "val", "test"):
        if name not in only:
            loaded[name] = empty
            continue
        X, y, bad = load_clips(parts[name], labels, cfg.sampling, cache)
        loaded[name], skipped = (X, y), skipped + bad
    if "train" in only and len(loaded["train"][1]) == 0:
        raise DatasetError(f"no usable training clips under {cfg.data}; check the videos are readable and long enough")
    groups = {k: sorted({v.group for v in vs}) for k, vs in parts.items()}
    return Splits(labels, loaded["train"], loaded["val"], loaded["test"], groups, skipped)


def evaluate_probs(probs: np.ndarray, y: np.ndarray, labels: list[str]) -> dict:
    return classification_metrics(y, probs.argmax(-1), labels)


def train(cfg: TrainConfig) -> Path:
    """Train ``cfg.model`` and write its artifacts; returns the artifact directory."""
    import keras

    from har.models import build_model
    from har.train import plots

    keras.utils.set_random_seed(cfg.seed)
    normalize(np.zeros(1, np.uint8), cfg.normalization)  # refuse an unknown mode before loading data
    splits = prepare_splits(cfg)
    n_cls = len(splits.labels)
    log.info("%s: %s clips (train/val/test), %d classes", cfg.model, splits.sizes(), n_cls)
    model = build_model(cfg.model, n_cls, cfg.sampling.seq_len, cfg.sampling.size)
    model.compile(
        optimizer=keras.optimizers.Adam(cfg.learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=cfg.jit_compile,
    )
    Xtr, ytr = splits.train
    Xva, yva = splits.val
    onehot = np.eye(n_cls, dtype=np.float32)
    has_val = len(yva) > 0
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss" if has_val else "loss", patience=cfg.patience,
            mode="min", restore_best_weights=True,
        )
    ]
    val = (normalize(Xva, cfg.normalization), onehot[yva]) if has_val else None
    t0 = time.time()
    if cfg.augment:
        from har.train.augment import augmented_dataset, flip_map

        data = augmented_dataset(Xtr, ytr, n_cls, cfg.batch_size, cfg.normalization,
                                 flip_map(splits.labels, cfg.flip_pairs), cfg.seed)
        hist = model.fit(data, validation_data=val, epochs=cfg.max_epochs, callbacks=callbacks, verbose=2)
    else:
        hist = model.fit(normalize(Xtr, cfg.normalization), onehot[ytr], validation_data=val,
                         epochs=cfg.max_epochs, batch_size=cfg.batch_size, shuffle=True,
                         callbacks=callbacks, verbose=2)
    train_seconds = time.time() - t0

    out = Path(cfg.out) / cfg.model
    out.mkdir(parents=True, exist_ok=True)
    Xte, yte = splits.test
    probs = model.predict(normalize(Xte, cfg.normalization), batch_size=16, verbose=0) if len(yte) else np.zeros((0, n_cls))
    m = evaluate_probs(probs, yte, splits.labels) if len(yte) else None
    metrics = {
        "model": cfg.model,
        "test_accuracy": m["accuracy"] if m else None,
        "macro_f1": m["macro_f1"] if m else None,
        "per_class": m["per_class"] if m else {},
        "confusion": m["confusion"] if m else [],
        "num_params": int(model.count_params()),
        "train_seconds": round(train_seconds, 1),
        "epochs_run": len(hist.history["loss"]),
        "split_sizes": splits.sizes(),
        "split_groups": splits.groups,
        "skipped_videos": splits.skipped,
        "evaluated_on": "test split (group-disjoint, held out)",
    }
    model.save(out / "model.keras")
    (out / "labels.json").write_text(json.dumps(splits.labels, indent=2))
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
    (out / "history.json").write_text(json.dumps(history, indent=2))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plots.curves(history, out / "curves.png", title=cfg.model)
    if m:
        plots.confusion_matrix(np.asarray(m["confusion"]), splits.labels, out / "confusion.png")
    log.info("%s: test accuracy %s, macro-F1 %s, %.0fs -> %s", cfg.model, metrics["test_accuracy"],
             metrics["macro_f1"], train_seconds, out)
    return out
