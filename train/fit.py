"""Compile, fit, evaluate and write a model's artifacts.

``artifacts/<model>/`` holds everything needed to reuse or reproduce a run:
``model.keras``, ``labels.json``, ``config.json`` (including the sampling rule
the edge must follow), ``history.json``, ``metrics.json`` (held-out test
split only), ``curves.png`` and ``confusion.png``.

One fold is trained per fold of the evaluation protocol
(:mod:`har.train.protocols`); after cross-validation the saved model is
trained once more on every video (:mod:`har.train.crossval` reports the
folds), from memory or from shards
(:mod:`har.train.pipeline`), optionally under a distribution strategy
(:mod:`har.train.distribute`). With the defaults (holdout, a dataset that fits
the memory budget, no strategy) training is the original single-split path.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from har.edge.preprocess import normalize
from har.models.clips import default_cache_dir, load_clips, load_clips_by_video
from har.models.folder import write_split
from har.train.config import TrainConfig
from har.train.dataset import DatasetError, list_videos
from har.train.metrics import classification_metrics
from har.train.protocols import Fold, make_folds, saved_fold

log = logging.getLogger(__name__)


@dataclass
class Splits:
    labels: list[str]
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    groups: dict[str, list[str]]
    skipped: list[str]
    test_videos: list[str] | None = None  # per test clip, its video (pooling per video); None = not known

    def sizes(self) -> dict[str, int]:
        return {k: int(len(getattr(self, k)[1])) for k in ("train", "val", "test")}


def load_fold(cfg: TrainConfig, fold: Fold, labels: list[str],
              only: tuple[str, ...] = ("train", "val", "test")) -> Splits:
    """Load the clips of one fold into memory (the ``memory`` input pipeline)."""
    cache = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
    loaded, skipped = {}, []
    empty = (np.zeros((0, cfg.sampling.seq_len, cfg.sampling.size, cfg.sampling.size, 3), np.uint8), np.zeros(0, np.int32))
    for name in ("train", "val", "test"):
        if name not in only:
            loaded[name] = empty
            continue
        if name == "test":
            X, y, src, bad = load_clips_by_video(fold.test, labels, cfg.sampling, cache)
            test_videos = [str(fold.test[i].path) for i in src]
        else:
            X, y, bad = load_clips(getattr(fold, name), labels, cfg.sampling, cache)
        loaded[name], skipped = (X, y), skipped + bad
    if "train" in only and len(loaded["train"][1]) == 0:
        raise DatasetError(f"no usable training clips under {cfg.data}; check the videos are readable and long enough")
    return Splits(labels, loaded["train"], loaded["val"], loaded["test"], fold.groups(), skipped,
                  test_videos if "test" in only else None)


def prepare_splits(cfg: TrainConfig, only: tuple[str, ...] = ("train", "val", "test")) -> Splits:
    """List, split (group-disjoint) and load the clips the saved model was trained on.

    Holdout's one split, or after cross-validation every video with an empty
    test side, so ``har export`` calibrates on the same clips and never
    reports accuracy on clips the model trained on.
    """
    videos, labels = list_videos(Path(cfg.data), cfg.classes)
    fold = saved_fold(videos, cfg.protocol, cfg.val_fraction, cfg.test_fraction, cfg.seed, Path(cfg.data))
    return load_fold(cfg, fold, labels, only)


def evaluate_probs(probs: np.ndarray, y: np.ndarray, labels: list[str]) -> dict:
    return classification_metrics(y, probs.argmax(-1), labels)


@dataclass
class FoldRun:
    """One trained fold: its model, data, history and held-out predictions."""

    fold: Fold
    model: object
    splits: Splits
    history: dict
    probs: np.ndarray
    seconds: float
    extra: dict = field(default_factory=dict)  # trainer-specific facts for metrics.json

    def summary(self) -> dict:
        y = self.splits.test[1]
        m = (evaluate_probs(self.probs, y, self.splits.labels) if len(y)
             else {"accuracy": None, "macro_f1": None, "confusion": []})
        return {"fold": self.fold.name, "test_accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                "confusion": m["confusion"],
                "epochs_run": len(self.history["loss"]), "train_seconds": round(self.seconds, 1),
                "split_sizes": self.splits.sizes(), "test_groups": self.splits.groups["test"]}


def train(cfg: TrainConfig) -> Path:
    """Train ``cfg.model`` on every fold of ``cfg.protocol`` and write its artifacts; returns their folder.

    ``holdout`` saves its one model with its held-out ``test_accuracy``. Fold
    protocols report every fold, the mean and standard deviation, and the
    folds pooled (:mod:`har.train.crossval`), then train the saved model on
    all the data: nothing is left to test it on, so its ``test_accuracy`` is
    None and ``saved_model`` says so.
    """
    import keras

    from har.train.distribute import get_strategy, is_chief, task_name, weights_digest
    from har.train.pipeline import choose_pipeline

    strategy = get_strategy(cfg.strategy)  # first: a multi-worker strategy must precede the TF runtime
    keras.utils.set_random_seed(cfg.seed)
    normalize(np.zeros(1, np.uint8), cfg.normalization)  # refuse an unknown mode before loading data
    videos, labels = list_videos(Path(cfg.data), cfg.classes)
    folds = make_folds(videos, cfg.protocol, cfg.val_fraction, cfg.test_fraction, cfg.seed, Path(cfg.data))
    folds = folds[:cfg.folds] if cfg.folds else folds
    pipeline = choose_pipeline(cfg, len(videos))
    runs: list[FoldRun] = []
    for i, fold in enumerate(folds):
        if i:
            keras.utils.set_random_seed(cfg.seed)  # each fold starts as if it ran alone
        if len(folds) > 1 or cfg.protocol != "holdout":
            log.info("%s: fold %d of %d (%s)", cfg.model, i + 1, len(folds), fold.name)
        run = _train_fold(cfg, fold, labels, pipeline, strategy)
        run.splits = _labels_only(run.splits)  # metrics need labels only; free the clips
        if cfg.protocol != "holdout":
            run.model = None  # fold models only measure the recipe
        runs.append(run)
    replicas = strategy.num_replicas_in_sync if strategy else 1
    extra = {"protocol": cfg.protocol, "input_pipeline": pipeline, "strategy": cfg.strategy, "replicas": replicas,
             "global_batch_size": cfg.batch_size * replicas}
    saved = runs[0]
    if cfg.protocol != "holdout":
        keras.utils.set_random_seed(cfg.seed)
        log.info("%s: the saved model, trained on all %d videos", cfg.model, len(videos))
        saved = _train_fold(cfg, saved_fold(videos, cfg.protocol, cfg.val_fraction, cfg.test_fraction, cfg.seed,
                                            Path(cfg.data)), labels, pipeline, strategy)
        from har.train.crossval import crossval_metrics

        extra.update(crossval_metrics(cfg, runs, labels, saved))
    digest = weights_digest(saved.model)
    log.info("%s (%s): final weights sha256 %s", cfg.model, task_name(), digest)
    out = None
    if not is_chief():
        import tempfile

        out = Path(tempfile.mkdtemp(prefix="har-worker-"))  # saving is collective: a worker saves, then discards
    try:
        path = write_artifacts(cfg, saved.model, saved.splits, saved.history, saved.probs, saved.seconds, extra,
                               out=out, fold=saved.fold)
        if cfg.protocol != "holdout":
            from har.train.crossval import write_crossval_report

            write_crossval_report(path, extra, labels)
        return path
    finally:
        if out is not None:
            import shutil

            shutil.rmtree(out, ignore_errors=True)


def _labels_only(s: Splits) -> Splits:
    def drop(part):
        return np.zeros((0, *part[0].shape[1:]), np.uint8), part[1]

    return Splits(s.labels, drop(s.train), drop(s.val), drop(s.test), s.groups, s.skipped, s.test_videos)


def _shard_fold(cfg: TrainConfig, fold: Fold, labels: list[str]) -> tuple[Splits, dict]:
    """Write the shards of the fold's groups not on disk yet; ``Splits`` carries labels only (clips stay on disk)."""
    from har.train.pipeline import shard_dir
    from har.train.shards import write_shards

    cache = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
    sources, parts, skipped = {}, {}, []
    for name in ("train", "val", "test"):
        sources[name] = write_shards(getattr(fold, name), labels, cfg.sampling, shard_dir(cfg), cache)
        y = np.repeat(np.arange(len(labels)), sources[name].class_counts).astype(np.int32)
        parts[name] = (np.zeros((0, *sources[name].clip_shape), np.uint8), y)
        skipped += sources[name].skipped
    if sources["train"].num_clips == 0:
        raise DatasetError(f"no usable training clips under {cfg.data}; check the videos are readable and long enough")
    return Splits(labels, parts["train"], parts["val"], parts["test"], fold.groups(), skipped), sources


def _train_fold(cfg: TrainConfig, fold: Fold, labels: list[str], pipeline: str, strategy) -> FoldRun:
    import contextlib

    import keras

    from har.models import build_model
    from har.train.augment import flip_map
    from har.train.pipeline import batches, predict

    if pipeline == "memory":
        splits = load_fold(cfg, fold, labels)
        sources = {k: getattr(splits, k) for k in ("train", "val", "test")}
    else:
        splits, sources = _shard_fold(cfg, fold, labels)
    n_cls = len(labels)
    log.info("%s: %s clips (train/val/test), %d classes", cfg.model, splits.sizes(), n_cls)
    with strategy.scope() if strategy else contextlib.nullcontext():
        model = build_model(cfg.model, n_cls, cfg.sampling.seq_len, cfg.sampling.size)
        model.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=cfg.jit_compile,
        )
    has_val = splits.sizes()["val"] > 0
    callbacks = early_stopping(cfg, has_val)
    flips = flip_map(labels, cfg.flip_pairs)
    t0 = time.time()
    if strategy is None and pipeline == "memory" and isinstance(cfg.augment, bool):
        hist = _fit_in_memory(cfg, model, splits, flips, callbacks)  # the original path, unchanged
        seconds = time.time() - t0
        Xte, yte = splits.test
        probs = model.predict(normalize(Xte, cfg.normalization), batch_size=16, verbose=0) if len(yte) else np.zeros((0, n_cls))
        return FoldRun(fold, model, splits, hist.history, probs, seconds)
    replicas = strategy.num_replicas_in_sync if strategy else 1
    global_batch = cfg.batch_size * replicas
    dist = strategy is not None
    train_ds = batches(sources["train"], cfg, n_cls, global_batch, True, flips, dist)
    val_ds = batches(sources["val"], cfg, n_cls, global_batch, False, None, dist) if has_val else None
    steps = {}
    if dist:  # every worker sees an endless stream, so none runs out of batches before the others
        train_ds, steps["steps_per_epoch"] = train_ds.repeat(), -(-splits.sizes()["train"] // global_batch)
        if val_ds is not None:
            val_ds, steps["validation_steps"] = val_ds.repeat(), -(-splits.sizes()["val"] // global_batch)
    from har.train.progress import with_bar  # imports keras

    callbacks, verbose = with_bar(callbacks, cfg.max_epochs)
    hist = model.fit(train_ds, validation_data=val_ds, epochs=cfg.max_epochs, callbacks=callbacks, verbose=verbose,
                     shuffle=False, **steps)  # tf.data shuffles itself
    seconds = time.time() - t0
    probs, yte = predict(model, sources["test"], cfg.normalization)
    splits.test = (splits.test[0], yte)
    return FoldRun(fold, model, splits, hist.history, probs, seconds)


def _fit_in_memory(cfg: TrainConfig, model, splits: Splits, flips, callbacks):
    """Fit from uint8 arrays in memory (augmented by the numpy PyDataset when ``augment = true``)."""
    Xtr, ytr = splits.train
    Xva, yva = splits.val
    n_cls = len(splits.labels)
    onehot = np.eye(n_cls, dtype=np.float32)
    val = (normalize(Xva, cfg.normalization), onehot[yva]) if len(yva) else None
    from har.train.progress import with_bar  # imports keras

    callbacks, verbose = with_bar(callbacks, cfg.max_epochs)
    if cfg.augment:
        from har.train.augment import augmented_dataset

        data = augmented_dataset(Xtr, ytr, n_cls, cfg.batch_size, cfg.normalization, flips, cfg.seed)
        return model.fit(data, validation_data=val, epochs=cfg.max_epochs, callbacks=callbacks, verbose=verbose)
    return model.fit(normalize(Xtr, cfg.normalization), onehot[ytr], validation_data=val,
                     epochs=cfg.max_epochs, batch_size=cfg.batch_size, shuffle=True,
                     callbacks=callbacks, verbose=verbose)


def early_stopping(cfg: TrainConfig, has_val: bool) -> list:
    """The seed's EarlyStopping (on val_loss, best weights restored), on the training loss without a val split.

    With ``reduce_lr_patience`` the learning rate also halves whenever the
    monitored loss has not improved for that many epochs (down to 1/32 of
    ``learning_rate``): late epochs refine instead of bouncing around the
    minimum at the step size that found it (docs/training.md, the ConvLSTM).
    """
    import keras

    monitor = "val_loss" if has_val else "loss"
    callbacks = [keras.callbacks.EarlyStopping(monitor=monitor, patience=cfg.patience, mode="min",
                                               restore_best_weights=True)]
    if cfg.reduce_lr_patience:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, mode="min",
                                                           patience=cfg.reduce_lr_patience,
                                                           min_lr=cfg.learning_rate / 32, verbose=0))
    return callbacks


def write_artifacts(cfg: TrainConfig, model, splits: Splits, history: dict, test_probs: np.ndarray,
                    train_seconds: float, extra_metrics: dict | None = None, out: Path | None = None,
                    fold: Fold | None = None) -> Path:
    """Write ``<out>/<model>/``: model, labels, config, history, test metrics, plots and, given the ``fold``
    the model was trained on, ``split.json``; returns the folder.

    Every trainer (pixels or pose) ends here, so all model folders look the
    same to ``har export`` and ``har bench`` (:mod:`har.models.folder` reads them).
    """
    from har.train import plots

    out = Path(out) if out is not None else Path(cfg.out) / cfg.model
    out.mkdir(parents=True, exist_ok=True)
    yte = splits.test[1]
    m = evaluate_probs(test_probs, yte, splits.labels) if len(yte) else None
    metrics = {
        "model": cfg.model,
        "test_accuracy": m["accuracy"] if m else None,
        "macro_f1": m["macro_f1"] if m else None,
        "per_class": m["per_class"] if m else {},
        "confusion": m["confusion"] if m else [],
        "num_params": int(model.count_params()),
        "train_seconds": round(train_seconds, 1),
        "epochs_run": len(history["loss"]),
        "split_sizes": splits.sizes(),
        "split_groups": splits.groups,
        "skipped_videos": splits.skipped,
        "evaluated_on": "test split (group-disjoint, held out)",
        **(extra_metrics or {}),
    }
    model.save(out / "model.keras")
    (out / "labels.json").write_text(json.dumps(splits.labels, indent=2))
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    history = {k: [float(v) for v in vs] for k, vs in history.items()}
    (out / "history.json").write_text(json.dumps(history, indent=2))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if fold is not None:
        write_split(out, cfg.data, cfg.protocol, fold.name, splits.labels,
                    {k: getattr(fold, k) for k in ("train", "val", "test")})
    plots.curves(history, out / "curves.png", title=cfg.model)
    if m:
        plots.confusion_matrix(np.asarray(m["confusion"]), splits.labels, out / "confusion.png")
    if m:
        log.info("%s: test accuracy %.3f, macro-F1 %.3f, %.0fs -> %s", cfg.model, m["accuracy"], m["macro_f1"],
                 train_seconds, out)
    else:
        log.info("%s: no test clips, so no test accuracy, %.0fs -> %s", cfg.model, train_seconds, out)
    return out
