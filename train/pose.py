"""Train the pose head: keypoints per clip, features, mirror augmentation, group-disjoint split.

Why a whole-video track: the device samples a camera with
:class:`har.edge.sampler.IntervalSampler` and runs one pose estimator on
every sampled frame, tracking the person from frame to frame (the detector
runs only when the track is lost), and classifies sliding windows of that
track. Training does the same: one :class:`~har.edge.pose.estimator.PoseEstimator`
runs over the frames the device's own sampler keeps from the file
(``interval_s`` apart, nearest frame by timestamp, from the first frame), at
full resolution, converted by the same :func:`har.edge.preprocess.rgb_frame`,
and windows of ``seq_len`` consecutive sampled frames are cut from that track. A window's keypoints are
therefore the ones the device computes for the window at the same place.

Keypoints are cached per video as the raw ``(n_windows, seq_len, 33, 5)``
arrays of :func:`har.edge.pose.features.pose_array` (NaN where nobody was
found) with the frames' aspect ratio, keyed by file, size, mtime, sampling and
the pose models' hashes; the features are computed from them on every run
(x and y put in one unit by that aspect ratio, as the device does), so a
change to the feature function needs no new estimation. Cache:
``<cache_dir>/keypoints`` (default ``~/.cache/har/keypoints``).

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

import hashlib
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from har.edge.preprocess import rgb_frame
from har.train.clips import Sampling, VideoError, default_cache_dir, read_cache, write_cache
from har.train.config import TrainConfig
from har.train.crossval import crossval_metrics, write_crossval_report
from har.train.dataset import TRACK_SUFFIX, DatasetError, Video, list_videos
from har.train.fit import FoldRun, Splits, early_stopping, write_artifacts
from har.train.protocols import Fold, make_folds, saved_fold

log = logging.getLogger(__name__)
KEYPOINT_CACHE_VERSION = 3
POSE_MODEL = "pose_lstm"


def keypoint_cache_dir(cache_dir: str | Path | None) -> Path:
    """``<cache_dir>/keypoints``, or ``~/.cache/har/keypoints`` beside the clip cache."""
    return Path(cache_dir) / "keypoints" if cache_dir else default_cache_dir().parent / "keypoints"


def models_digest(models) -> str:
    """A short digest of the pose model files: other models, other keypoints, another cache entry."""
    from har.edge.bundle import sha256_file

    return hashlib.sha256((sha256_file(models.detector) + sha256_file(models.landmarks)).encode()).hexdigest()[:16]


def _cache_key(path: Path, s: Sampling, digest: str) -> str:
    st = path.stat()
    blob = json.dumps([str(path.resolve()), st.st_size, st.st_mtime_ns, asdict(s), digest, KEYPOINT_CACHE_VERSION])
    return hashlib.sha1(blob.encode()).hexdigest()


def window_starts(n_sampled: int, s: Sampling) -> list[int]:
    """Where the training windows start among a video's ``n_sampled`` sampled frames.

    Windows are ``seq_len`` consecutive sampled frames, ``clips_per_video`` of
    them spread over the video; [] when the video is too short for one.
    """
    last = n_sampled - s.seq_len
    if last < 0:
        return []
    starts = np.linspace(0, last, s.clips_per_video) if s.clips_per_video > 1 else [last / 2]
    return sorted({int(round(float(a))) for a in starts})


def _track_video(path: Path, s: Sampling, estimator) -> tuple[np.ndarray, float]:
    """Run ``estimator`` on the frames the device's sampler keeps, in order, as the device runs it on a stream.

    The frames are chosen by :class:`har.edge.sampler.IntervalSampler` from
    :class:`har.edge.sources.FileSource` timestamps, exactly as ``har-edge``
    samples a file, decoded once at full size, converted by the device's
    :func:`har.edge.preprocess.rgb_frame`, and dropped after use, so a 1080p
    video never sits in memory whole.
    """
    from har.edge.pose.features import pose_array
    from har.edge.sampler import IntervalSampler
    from har.edge.sources import FileSource, SourceError

    try:
        source = FileSource(path)
    except SourceError as e:
        raise VideoError(str(e)) from None
    sampler = IntervalSampler(s.interval_s)
    sampler.set_frame_period(1.0 / source.fps)
    poses, aspect, frames = [], 1.0, 0
    for ts, frame in source:
        frames += 1
        aspect = frame.shape[1] / frame.shape[0]
        if sampler.accept(ts):
            poses.append(estimator.process(rgb_frame(frame)))
    if frames == 0:
        raise VideoError(f"{path}: no decodable frames (corrupt or empty)")
    return pose_array(poses), float(np.float32(aspect))


def video_keypoints(path: Path, s: Sampling, models, cache_dir: Path | None = None, digest: str | None = None,
                    threads: int = 1) -> tuple[np.ndarray, float]:
    """Raw keypoints of every training window of one video and the frames' aspect ratio (width / height).

    Keypoints are float32 ``(n_windows, seq_len, 33, 5)``, NaN where nobody
    was found. One estimator tracks the person through the whole video, so a
    window starts with the tracker and its filter warmed up, exactly as a
    sliding window on the device does; the aspect ratio puts x and y in one
    unit for the features, as the device does with its camera's frames. A
    generated take (``.pose.npz``, :mod:`har.train.motion`) already holds the
    estimator's output per frame and is only sampled.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    if s.mode != "interval":
        raise ValueError("the pose encoder needs interval sampling (a fixed frame rate), not 'uniform'")
    if path.name.endswith(TRACK_SUFFIX):
        from har.train.motion.dataset import MotionError, sampled_track

        try:
            track, aspect = sampled_track(path, s.interval_s)
        except MotionError as e:
            raise VideoError(str(e)) from None
        return _windows(path, track, s), aspect
    from har.edge.pose.estimator import PoseEstimator

    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"{_cache_key(path, s, digest or models_digest(models))}.npz"
    if (hit := read_cache(cache_file)) is not None:
        return hit["poses"], float(hit["aspect"])
    track, aspect = _track_video(path, s, PoseEstimator(models, threads=threads))
    poses = _windows(path, track, s)
    write_cache(cache_file, poses=poses, aspect=np.float32(aspect))
    return poses, aspect


def _windows(path: Path, track: np.ndarray, s: Sampling) -> np.ndarray:
    """Windows of ``seq_len`` sampled frames; a track shorter than one window is padded at its start.

    Padding is missing frames (NaN rows), exactly what the device does with a
    clip shorter than a window (``har-edge predict``): the features fill them
    from the first frame with a pose. Whether the padded window is used is
    decided later by ``min_found_fraction``, like any window with gaps.
    """
    if len(track) == 0:
        raise VideoError(f"{path}: no frames sampled {s.interval_s}s apart")
    if len(track) < s.seq_len:
        pad = np.full((s.seq_len - len(track), *track.shape[1:]), np.nan, np.float32)
        track = np.concatenate([pad, track])
    starts = window_starts(len(track), s)
    return np.stack([track[a:a + s.seq_len] for a in starts]).astype(np.float32)


def found_fraction(poses: np.ndarray) -> np.ndarray:
    """Share of each window's frames with a pose: ``(N, T, 33, C)`` -> ``(N,)``."""
    return np.isfinite(poses[..., 0, 0]).mean(axis=-1) if len(poses) else np.zeros(0)


def load_keypoints(videos: list[Video], labels: list[str], s: Sampling, models, cache_dir: Path | None = None,
                   threads: int = 1, min_found: float = 0.0, sources: list[int] | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Raw keypoint windows ``(N, seq_len, 33, 5)``, their frames' aspect ratios ``(N,)``, integer labels
    and the skipped files (one warning); ``sources``, when given, gets each window's index in ``videos``.

    Windows in which fewer than ``min_found`` of the frames have a pose are
    left out: the device gives them no label (nobody there is no action), so
    training must not teach the head that an empty window means "running".
    """
    digest = models_digest(models) if models is not None else None
    xs, aspects, ys, skipped = [], [], [], []
    index = {name: i for i, name in enumerate(labels)}
    for i, v in enumerate(videos):
        try:
            poses, aspect = video_keypoints(v.path, s, models, cache_dir, digest, threads)
        except VideoError as e:
            skipped.append(str(e))
            continue
        poses = poses[found_fraction(poses) >= min_found] if min_found > 0 else poses
        if not len(poses):
            continue
        xs.append(poses)
        aspects += [aspect] * len(poses)
        ys += [index[v.label]] * len(poses)
        if sources is not None:
            sources += [i] * len(poses)
    if skipped:
        log.warning("skipped %d unusable video(s):\n  %s", len(skipped), "\n  ".join(skipped))
    if not xs:
        return np.zeros((0, s.seq_len, 33, 5), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32), skipped
    return np.concatenate(xs), np.asarray(aspects, np.float32), np.asarray(ys, np.int32), skipped


def window_features(poses: np.ndarray, aspects: np.ndarray) -> np.ndarray:
    """Raw keypoint windows ``(N, T, 33, 5)`` and their aspect ratios -> head input ``(N, T, FEATURE_DIM)``."""
    from har.edge.pose.features import FEATURE_DIM, window_features_from_array

    if not len(poses):
        return np.zeros((0, poses.shape[1], FEATURE_DIM), np.float32)
    return np.stack([window_features_from_array(p, float(a)) for p, a in zip(poses, aspects, strict=True)])


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
    from har.edge.pose.modes import mark_windows

    cache = keypoint_cache_dir(cfg.cache_dir)
    loaded, raw, skipped, src = {}, {}, [], []
    for i, name in enumerate(("train", "val", "test")):
        poses, aspects, y, bad = load_keypoints(getattr(fold, name), labels, cfg.sampling, models, cache,
                                                min_found=cfg.min_found_fraction, sources=src if name == "test" else None)
        if cfg.train_skipped:  # the device's skipped frames, filled as it fills them
            poses = mark_windows(poses, tuple(cfg.landmark_every), cfg.seed + i)
        raw[name], loaded[name], skipped = (poses, aspects), (window_features(poses, aspects), y), skipped + bad
    if len(loaded["train"][1]) == 0:
        raise DatasetError(f"no usable training clips under {cfg.data}; check the videos are readable and long enough")
    return Splits(labels, loaded["train"], loaded["val"], loaded["test"], fold.groups(), skipped,
                  [str(fold.test[k].path) for k in src]), raw


def pose_splits(cfg: TrainConfig, models) -> tuple[Splits, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The videos the saved model was trained on (:func:`har.train.protocols.saved_fold`), as :func:`pose_fold` gives it."""
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

    if cfg.model != POSE_MODEL or cfg.encoder != "pose":
        raise ValueError(f"the pose encoder trains the {POSE_MODEL!r} head (encoder 'pose'), not {cfg.model!r} "
                         f"(encoder {cfg.encoder!r}); use `har train --encoder pose`")
    if cfg.strategy != "none":
        raise ValueError(f"the pose head trains on one device (it is tiny), not with strategy {cfg.strategy!r}; "
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
             "trained_on_skipped_frames": cfg.train_skipped}
    if cfg.protocol != "holdout":
        extra.update(crossval_metrics(cfg, runs, labels, first))
    extra.update(first.extra)
    out = write_artifacts(cfg, first.model, first.splits, first.history, first.probs, first.seconds, extra)
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
