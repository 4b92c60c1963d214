"""Train the pose head: keypoints per clip, features, mirror augmentation, group-disjoint split.

Keypoint windows come from :mod:`har.models.keypoints` (one tracked estimator per video, as on
the device; cached per video).

Mirror augmentation (``augment = true``, or a list naming ``flip``) adds a
left-right mirrored copy of every training window
(:func:`har.edge.pose.features.mirror_poses`): a left-handed drinker is still
drinking. Classes named in ``flip_pairs`` swap with their partner
(``walk_left`` <-> ``walk_right``); all others keep their label, so a
direction class must be paired, or left without ``augment``.

Splits follow ``cfg.protocol`` exactly as for the pixel models
(:func:`har.train.protocols.make_folds`: holdout, kfold, logo or the official
lists), fold protocols report every fold, the mean and standard deviation
and the folds pooled, and then train the saved head on every video; the
artifacts are written by
:func:`har.train.fit.write_artifacts`, so a pose model directory looks like
any other to ``har export``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from har.models.keypoints import found_fraction, keypoint_cache_dir, side_windows, window_features
from har.models.registry import list_models
from har.models.tracks import TRACK_SUFFIX
from har.train.config import TrainConfig
from har.train.crossval import crossval_metrics, write_crossval_report
from har.train.dataset import DatasetError, list_videos
from har.train.errors import TrainError
from har.train.fit import FoldRun, Splits, early_stopping, write_artifacts
from har.train.protocols import Fold, make_folds, saved_fold

log = logging.getLogger(__name__)


def short_copies(poses: np.ndarray, aspects: np.ndarray, y: np.ndarray, min_found: float, seed: int,
                 share: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Copies of ``share`` of the windows with their first frames missing: clips shorter than a window.

    The device pads a short clip at its start with missing frames; these
    copies teach the head what such a window looks like. At most as many
    frames are blanked as ``min_found`` still allows.
    """
    n, t = len(poses), poses.shape[1] if poses.ndim > 1 else 0
    most = int(np.floor(t * (1 - max(min_found, 0.0))))
    if not n or most < 1:
        return poses[:0], y[:0], aspects[:0]
    rng = np.random.default_rng([seed, 0x5407])
    pick = rng.choice(n, size=max(1, int(round(n * share))), replace=False)
    out = poses[pick].copy()
    for row, k in zip(out, rng.integers(1, most + 1, size=len(pick)), strict=True):
        row[:k] = np.nan
    keep = found_fraction(out) >= min_found
    return out[keep], y[pick][keep], aspects[pick][keep]


def mirrored(poses: np.ndarray, y: np.ndarray, labels: list[str], flip_pairs) -> tuple[np.ndarray, np.ndarray]:
    """Left-right mirrored copies of ``poses`` and their labels (paired classes swap, the rest stay)."""
    from har.edge.pose.features import mirror_poses
    from har.train.augment import flip_map

    mapping = flip_map(labels, flip_pairs)
    return np.stack([mirror_poses(p) for p in poses]), (mapping[y] if mapping is not None else y.copy())


def pose_fold(cfg: TrainConfig, fold: Fold, labels: list[str], models
              ) -> tuple[Splits, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """One fold as features (``Splits``) and as raw ``(keypoints, aspects)`` per side."""
    cache = keypoint_cache_dir(cfg.cache_dir)
    loaded, raw, skipped = {}, {}, []
    marked = tuple(cfg.landmark_every) if cfg.train_skipped else None  # the device's skipped frames, filled alike
    for i, name in enumerate(("train", "val", "test")):
        poses, aspects, y, bad = side_windows(getattr(fold, name), labels, cfg.sampling, models, cache,
                                              cfg.min_found_fraction, marked, cfg.seed + i)
        raw[name], loaded[name], skipped = (poses, aspects), (window_features(poses, aspects), y), skipped + bad
    if len(loaded["train"][1]) == 0:
        raise DatasetError(f"no usable training clips under {cfg.data}; check the videos are readable and long enough")
    return Splits(labels, loaded["train"], loaded["val"], loaded["test"], fold.groups(), skipped), raw


def pose_splits(cfg: TrainConfig, models) -> tuple[Splits, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The videos the saved head was trained on (:func:`har.train.protocols.saved_fold`), as :func:`pose_fold` gives them."""
    videos, labels = list_videos(Path(cfg.data), cfg.classes)
    fold = saved_fold(videos, cfg.protocol, cfg.val_fraction, cfg.test_fraction, cfg.seed, Path(cfg.data))
    return pose_fold(cfg, fold, labels, models)


def detection_rate(poses: np.ndarray) -> float | None:
    """Share of sampled frames in which a person was found."""
    return round(float(np.mean(~np.isnan(poses[..., 0, 0]))), 4) if poses.size else None


def train_pose(cfg: TrainConfig) -> Path:
    """Train the pose head on ``cfg.data`` and write the same artifacts as the pixel models."""
    import keras

    from har.edge.pose.assets import pose_models
    from har.edge.pose.features import FEATURE_DIM

    heads = list_models("pose")
    if cfg.model not in heads or cfg.encoder != "pose":
        raise TrainError(f"the pose encoder trains a pose head ({', '.join(heads)}; encoder 'pose'), not {cfg.model!r} "
                         f"(encoder {cfg.encoder!r}); use `har train --encoder pose`")
    if cfg.strategy != "none":
        raise TrainError(f"the pose head trains on one device (it is tiny), not with strategy {cfg.strategy!r}; "
                         "leave --strategy out")
    videos, labels = list_videos(Path(cfg.data), cfg.classes)
    # Generated takes hold keypoints already; real videos need the estimator (PoseModelsError says how to fetch).
    models = None if all(v.path.name.endswith(TRACK_SUFFIX) for v in videos) else pose_models()
    folds = make_folds(videos, cfg.protocol, cfg.val_fraction, cfg.test_fraction, cfg.seed, Path(cfg.data))
    folds = folds[:cfg.folds] if cfg.folds else folds
    mirror = cfg.augment is True or (isinstance(cfg.augment, list | tuple) and "flip" in cfg.augment)
    runs: list[FoldRun] = []
    for i, fold in enumerate(folds):
        keras.utils.set_random_seed(cfg.seed)  # each fold starts as if it ran alone
        if len(folds) > 1 or cfg.protocol != "holdout":
            log.info("%s: fold %d of %d (%s)", cfg.model, i + 1, len(folds), fold.name)
        splits, raw = pose_fold(cfg, fold, labels, models)
        runs.append(_fit_head(cfg, fold, splits, raw, mirror))
        found = {k: detection_rate(v[0]) for k, v in raw.items()}
    first = runs[0]
    if cfg.protocol != "holdout":  # the folds measured the recipe; the saved head learns from every video
        keras.utils.set_random_seed(cfg.seed)
        log.info("%s: the saved model, trained on all %d videos", cfg.model, len(videos))
        fold = saved_fold(videos, cfg.protocol, cfg.val_fraction, cfg.test_fraction, cfg.seed, Path(cfg.data))
        splits, raw = pose_fold(cfg, fold, labels, models)
        first = _fit_head(cfg, fold, splits, raw, mirror)
        found = {k: detection_rate(v[0]) for k, v in raw.items()}
    extra = {"encoder": "pose", "feature_dim": FEATURE_DIM, "protocol": cfg.protocol,
             "mirrored_training_windows": mirror, "person_found_rate": found,
             "min_found_fraction": cfg.min_found_fraction, "landmark_every": list(cfg.landmark_every),
             "default_landmark_every": cfg.default_landmark_every or cfg.landmark_every[0],
             "trained_on_skipped_frames": cfg.train_skipped, "lite_landmarks": cfg.lite_landmarks}
    if cfg.protocol != "holdout":
        extra.update(crossval_metrics(cfg, runs, labels, first))
    extra.update(first.extra)
    out = write_artifacts(cfg, first.model, first.splits, first.history, first.probs, first.seconds, extra,
                          fold=first.fold)
    if cfg.protocol != "holdout":
        write_crossval_report(out, extra, labels)
    from har.train.pose_init import WEIGHTS_FILE, save_weights

    save_weights(first.model, out / WEIGHTS_FILE)  # what `--init DIR` starts from
    return out


def _fit_head(cfg: TrainConfig, fold: Fold, splits: Splits, raw: dict, mirror: bool) -> FoldRun:
    """Train one head on one fold (mirrored copies added with ``augment``) and predict its held-out side."""
    import keras

    from har.edge.pose.features import FEATURE_DIM
    from har.models import build_model

    n_cls = len(splits.labels)
    Xtr, ytr = splits.train
    poses, aspects = raw["train"]
    if mirror:
        flipped, yflip = mirrored(poses, ytr, splits.labels, cfg.flip_pairs)
        Xtr, ytr = np.concatenate([Xtr, window_features(flipped, aspects)]), np.concatenate([ytr, yflip])
    short, yshort, ashort = short_copies(poses, raw["train"][1], splits.train[1], cfg.min_found_fraction, cfg.seed)
    if len(short):
        Xtr, ytr = np.concatenate([Xtr, window_features(short, ashort)]), np.concatenate([ytr, yshort])
    extra = {}
    if cfg.mix_motion > 0:
        from har.train.pose_init import motion_windows

        s = cfg.sampling
        mp, ma, my, known = motion_windows(splits.labels, int(round(cfg.mix_motion * len(splits.train[1]))),
                                           s.seq_len, s.interval_s, cfg.min_found_fraction, cfg.seed)
        if len(my) and cfg.train_skipped:
            from har.edge.pose.modes import mark_windows

            mp = mark_windows(mp, tuple(cfg.landmark_every), cfg.seed + 3)
        if len(my):
            Xtr, ytr = np.concatenate([Xtr, window_features(mp, ma)]), np.concatenate([ytr, my])
        extra = {"mix_motion": cfg.mix_motion, "mixed_windows": int(len(my)), "mixed_classes": known}
        log.info("%s: mixed in %d generated windows of %s", cfg.model, len(my), ", ".join(known) or "no class "
                 "(none of the class names is in the motion vocabulary)")
    log.info("%s: %s windows (train/val/test)%s, %d classes, %d features per frame", cfg.model, splits.sizes(),
             " + mirrored training copies" if mirror else "", n_cls, FEATURE_DIM)
    model = build_model(cfg.model, n_cls, cfg.sampling.seq_len, feature_dim=FEATURE_DIM)
    if cfg.init:
        from har.train.pose_init import init_head

        extra.update(init_head(model, cfg.init, splits.labels))
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=cfg.jit_compile)
    onehot = np.eye(n_cls, dtype=np.float32)
    Xva, yva = splits.val
    val = (Xva, onehot[yva]) if len(yva) else None
    t0 = time.time()
    hist = model.fit(Xtr, onehot[ytr], validation_data=val, epochs=cfg.max_epochs, batch_size=cfg.batch_size,
                     shuffle=True, callbacks=early_stopping(cfg, val is not None), verbose=2)
    seconds = time.time() - t0
    Xte, yte = splits.test
    probs = model.predict(Xte, batch_size=64, verbose=0) if len(yte) else np.zeros((0, n_cls))
    return FoldRun(fold, model, splits, hist.history, probs, seconds, extra)
