"""Keypoint windows of a video or a generated take, as training and export both read them.

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

Why in ``har.models``: ``har export`` calibrates and tests a pose head on
the same windows, and export never imports training code.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np

from har.edge.preprocess import rgb_frame
from har.edge.records import ConfigError
from har.models.clips import Sampling, VideoError, default_cache_dir, read_cache, write_cache
from har.models.tracks import TRACK_SUFFIX

log = logging.getLogger(__name__)
KEYPOINT_CACHE_VERSION = 3


def keypoint_cache_dir(cache_dir: str | Path | None) -> Path:
    """``<cache_dir>/keypoints``, or ``~/.cache/har/keypoints`` beside the clip cache."""
    return Path(cache_dir) / "keypoints" if cache_dir else default_cache_dir().parent / "keypoints"


def models_digest(models) -> str:
    """A short digest of the pose model files: other models, other keypoints, another cache entry."""
    from har.edge.digest import sha256_file

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
        raise ConfigError("the pose encoder needs interval sampling (a fixed frame rate), not 'uniform'")
    if path.name.endswith(TRACK_SUFFIX):
        from har.models.tracks import MotionError, sampled_track

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


def load_keypoints(videos: list, labels: list[str], s: Sampling, models, cache_dir: Path | None = None,
                   threads: int = 1, min_found: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Raw keypoint windows ``(N, seq_len, 33, 5)``, their frames' aspect ratios ``(N,)``, integer labels
    and the skipped files (one warning).

    Windows in which fewer than ``min_found`` of the frames have a pose are
    left out: the device gives them no label (nobody there is no action), so
    training must not teach the head that an empty window means "running".
    """
    digest = models_digest(models) if models is not None else None
    xs, aspects, ys, skipped = [], [], [], []
    index = {name: i for i, name in enumerate(labels)}
    for v in videos:
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


def side_windows(videos: list, labels: list[str], s: Sampling, models, cache_dir: Path | None, min_found: float,
                 marked_modes: tuple[int, ...] | None = None, seed: int = 0):
    """One side of a split as :func:`load_keypoints` gives it; with ``marked_modes`` (a head trained on skipped
    frames) each window is marked for one of the declared landmark modes and filled as the device fills it."""
    poses, aspects, y, bad = load_keypoints(videos, labels, s, models, cache_dir, min_found=min_found)
    if marked_modes:
        from har.edge.pose.modes import mark_windows

        poses = mark_windows(poses, tuple(marked_modes), seed)
    return poses, aspects, y, bad
