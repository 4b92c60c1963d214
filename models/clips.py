"""Cut fixed-length clips out of videos, the same way the edge samples a camera.

Two sampling rules, recorded in every model's config and bundle:

* ``interval`` (default): ``seq_len`` frames ``interval_s`` seconds apart, taken
  by timestamp from the video's own fps, several clips per video at different
  offsets. A camera at any fps is sampled the same way on the device.
* ``uniform``: the seed's rule, ``seq_len`` frames spread over the whole video,
  one clip per video. Good for trimmed datasets, meaningless for a live camera.

Decoded clips are cached as uint8 ``.npz`` files keyed by (file, size, mtime,
sampling), so a second run decodes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from har.edge.cache import cache_root
from har.edge.capture import open_video
from har.edge.errors import HarError
from har.edge.preprocess import preprocess_frame
from har.edge.records import ConfigError
from har.models.registry import InputSpec

log = logging.getLogger(__name__)
CACHE_VERSION = 2


@dataclass(frozen=True)
class Sampling:
    """How clips are cut; the edge reads the same fields from the bundle."""

    mode: str = "interval"  # "interval" or "uniform"
    seq_len: int = InputSpec.seq_len
    size: int = InputSpec.size
    interval_s: float = InputSpec.interval_s  # seconds between sampled frames (interval mode)
    clips_per_video: int = InputSpec.clips_per_video  # at most, spread over the video (interval mode)

    def __post_init__(self):
        if self.mode not in ("interval", "uniform"):
            raise ConfigError(f"sampling mode must be 'interval' or 'uniform', not {self.mode!r}")
        if self.seq_len < 1 or self.size < 8 or self.interval_s <= 0 or self.clips_per_video < 1:
            raise ConfigError("sampling needs seq_len >= 1, size >= 8, interval_s > 0, clips_per_video >= 1")

    @property
    def span_s(self) -> float:
        return (self.seq_len - 1) * self.interval_s


class VideoError(HarError):
    """A video that cannot be used; the message says why."""


def read_frames(path: Path, size: int) -> tuple[np.ndarray, float]:
    """Decode every frame of ``path``, preprocessed to uint8 RGB; returns (frames, fps)."""
    if not Path(path).is_file():
        raise VideoError(f"{path}: no such file")
    cap = open_video(path)
    if not cap.isOpened():
        raise VideoError(f"{path}: cannot be opened as a video")
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            frames.append(preprocess_frame(frame, size))
    finally:
        cap.release()
    if not frames:
        raise VideoError(f"{path}: no decodable frames (corrupt or empty)")
    if not fps or not np.isfinite(fps) or fps <= 0 or fps > 1000:
        log.warning("%s reports no usable fps; assuming 25", path)
        fps = 25.0
    return np.stack(frames), float(fps)


def clip_indices(n_frames: int, fps: float, s: Sampling) -> list[np.ndarray]:
    """Frame indices of each clip, or [] when the video is too short."""
    if s.mode == "uniform":
        if n_frames < s.seq_len:
            return []
        skip = max(n_frames // s.seq_len, 1)  # the seed's skip_frames_window
        return [np.arange(s.seq_len) * skip]
    duration = n_frames / fps
    max_start = duration - s.span_s - 0.5 / fps
    if max_start < 0:
        return []
    starts = np.linspace(0, max_start, s.clips_per_video) if s.clips_per_video > 1 else [max_start / 2]
    starts = sorted({round(float(t), 4) for t in starts})
    offsets = np.arange(s.seq_len) * s.interval_s
    # Nearest frame, ties to the earlier one (the edge sampler does the same).
    return [np.minimum(np.ceil((t + offsets) * fps - 0.5 - 1e-9).astype(int), n_frames - 1) for t in starts]


def _cache_key(path: Path, s: Sampling) -> str:
    st = path.stat()
    blob = json.dumps([str(path.resolve()), st.st_size, st.st_mtime_ns, asdict(s), CACHE_VERSION])
    return hashlib.sha1(blob.encode()).hexdigest()


def default_cache_dir() -> Path:
    return cache_root() / "clips"


def video_clips(path: Path, s: Sampling, cache_dir: Path | None = None) -> np.ndarray:
    """All clips of one video as uint8 ``(n_clips, seq_len, size, size, 3)``."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    cache_file = Path(cache_dir) / f"{_cache_key(path, s)}.npz" if cache_dir is not None else None
    if (hit := read_cache(cache_file)) is not None:
        return hit["clips"]
    frames, fps = read_frames(path, s.size)
    idx = clip_indices(len(frames), fps, s)
    if not idx:
        raise VideoError(f"{path}: too short ({len(frames)} frames at {fps:g} fps) for {s.seq_len} frames {s.interval_s}s apart")
    clips = np.stack([frames[i] for i in idx])
    write_cache(cache_file, clips=clips)
    return clips


def read_cache(cache_file: Path | None) -> dict[str, np.ndarray] | None:
    """The arrays of a per-video ``.npz`` cache entry, or None (a torn entry is removed and rebuilt)."""
    if cache_file is None or not cache_file.exists():
        return None
    try:
        with np.load(cache_file) as z:
            return {k: z[k] for k in z.files}
    except Exception:
        cache_file.unlink(missing_ok=True)
        return None


def write_cache(cache_file: Path | None, **arrays: np.ndarray) -> None:
    """Write a cache entry atomically; the temp name is per process, since workers may share a cache."""
    if cache_file is None:
        return
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_name(f"{cache_file.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, cache_file)


def usable_clips(videos, s: Sampling, cache_dir: Path | None, skipped: list[str]) -> Iterator[tuple[object, np.ndarray]]:
    """``(video, its clips)`` for each video that gives clips; why each other one did not goes into ``skipped``."""
    for v in videos:
        try:
            yield v, video_clips(v.path, s, cache_dir)
        except VideoError as e:
            skipped.append(str(e))


def load_clips(videos, labels: list[str], s: Sampling, cache_dir: Path | None = None,
               progress=None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Clips and integer labels for a list of ``Video``; bad files are skipped.

    Returns ``(X uint8, y int32, skipped)``; one warning lists every skipped file.
    """
    X, y, _, skipped = load_clips_by_video(videos, labels, s, cache_dir, progress)
    return X, y, skipped


def load_clips_by_video(videos, labels: list[str], s: Sampling, cache_dir: Path | None = None,
                        progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """:func:`load_clips` plus, per clip, the index in ``videos`` of the video it came from.

    Why: a video's clips are scored together when results are pooled per video.
    """
    xs, ys, src, skipped = [], [], [], []
    index = {name: i for i, name in enumerate(labels)}
    position = {id(v): i for i, v in enumerate(videos)}
    for v, clips in usable_clips(videos, s, cache_dir, skipped):
        xs.append(clips)
        ys += [index[v.label]] * len(clips)
        src += [position[id(v)]] * len(clips)
        if progress:
            progress()
    if skipped:
        log.warning("skipped %d unusable video(s):\n  %s", len(skipped), "\n  ".join(skipped))
    if not xs:
        shape = (0, s.seq_len, s.size, s.size, 3)
        return np.zeros(shape, np.uint8), np.zeros((0,), np.int32), np.zeros((0,), np.int32), skipped
    return np.concatenate(xs), np.asarray(ys, np.int32), np.asarray(src, np.int32), skipped
