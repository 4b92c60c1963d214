"""The data an export needs again: calibration clips from the model's training videos, its test split.

int8 is full-integer post-training quantization calibrated on clips of the
model's **training** videos, drawn with the training seed; the test videos
are only ever used to measure. Which videos those are comes from the model
folder's ``split.json`` (:mod:`har.models.folder`), written by ``har train``:
export reads the very list training used, with the folder's own sampling,
and never recomputes a split.
"""

from __future__ import annotations

import numpy as np

from har.export.errors import ExportError
from har.models.clips import default_cache_dir, load_clips
from har.models.folder import ModelFolder, ModelFolderError, Split


def own_split(md: ModelFolder) -> Split:
    """``md``'s recorded split, checked against its labels and the files on disk."""
    try:
        split = md.split()
    except ModelFolderError as e:
        raise ExportError(str(e)) from None
    if split.labels != md.labels:
        raise ExportError(f"{md.path}: the split's classes ({', '.join(split.labels)}) differ from the model's "
                          f"labels ({', '.join(md.labels)})")
    missing = [v.path for side in ("train", "test") for v in split.videos(side) if not v.path.is_file()]
    if missing:
        raise ExportError(f"int8 calibration and the report need the data {md.path} was trained on ({split.data}): "
                          f"{missing[0]} is missing" + (f", and {len(missing) - 1} more" if len(missing) > 1 else ""))
    return split


def load_splits(md: ModelFolder, test: bool) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """Training clips and the ``(clips, labels)`` of the test videos (None unless asked for)."""
    split = own_split(md)
    cache = md.config.get("cache_dir") or default_cache_dir()
    train_x, _, _ = load_clips(split.videos("train"), md.labels, md.sampling, cache)
    if not len(train_x):
        raise ExportError(f"none of {md.path}'s training videos gave a clip; check they are readable")
    return train_x, (load_clips(split.videos("test"), md.labels, md.sampling, cache)[:2] if test else None)


def pose_features(md: ModelFolder):
    """``(train features, (test features, test labels), pose models)`` of a pose model's own split.

    Windows are cut, filtered (``min_found_fraction``) and, for a head trained
    on skipped frames, marked exactly as training did (same seed per side).
    """
    from har.edge.bundle import DEFAULT_MIN_FOUND_FRACTION
    from har.models.keypoints import keypoint_cache_dir, side_windows, window_features

    models = find_pose_models()  # the bundle copies or refers to them even when the takes hold keypoints already
    split = own_split(md)
    cfg = md.config
    marked = tuple(cfg.get("landmark_every") or [1]) if cfg.get("train_skipped") else None
    out = {}
    for i, side in enumerate(("train", "val", "test")):
        if side == "val":
            continue
        poses, aspects, y, _ = side_windows(split.videos(side), md.labels, md.sampling, models,
                                            keypoint_cache_dir(cfg.get("cache_dir")),
                                            float(cfg.get("min_found_fraction", DEFAULT_MIN_FOUND_FRACTION)), marked, md.seed + i)
        out[side] = (window_features(poses, aspects), y)
    if not len(out["train"][1]):
        raise ExportError(f"none of {md.path}'s training videos gave a window with a pose")
    return out["train"][0], out["test"], models


def find_pose_models():
    """The verified BlazePose models; their absence is an ExportError saying how to fetch them."""
    from har.edge.pose.assets import PoseModelsError
    from har.edge.pose.assets import pose_models as find

    try:
        return find()
    except PoseModelsError as e:
        raise ExportError(str(e)) from None


def calibration_clips(md: ModelFolder, train_x: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` training clips, drawn with the training seed (reproducible calibration)."""
    if len(train_x) == 0:
        raise ExportError(f"no training clips to calibrate {md.path} with")
    rng = np.random.default_rng(md.seed)
    idx = np.sort(rng.choice(len(train_x), size=min(n, len(train_x)), replace=False))
    return train_x[idx]
