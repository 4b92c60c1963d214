"""Preprocessed clips on disk as TFRecord shards, streamed by tf.data.

Why: the in-memory path holds every uint8 clip at once (UCF101's 13,320 videos
at three 20x64x64 clips each are 9.8 GB), so larger datasets would not train. Shards
are written once per (videos of a split, labels, sampling) from the clip
cache, under a versioned key like the clip cache's, and reused by every later
run with the same split. A split of the same videos in another order reuses
the same shards.

Layout: ``<shard_dir>/<key>/shard-00000.tfrecord ...`` plus ``index.json``
(written last: a folder without it is incomplete and is rebuilt). Each record
is a ``tf.train.Example`` with the raw uint8 clip and its label index. Videos
are written in a fixed shuffled order so every shard mixes classes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from har.train.clips import Sampling, VideoError, video_clips
from har.train.dataset import Video

log = logging.getLogger(__name__)
SHARD_VERSION = 1
CLIPS_PER_SHARD = 256  # 20x64x64x3 clips: about 60 MiB a shard


@dataclass(frozen=True)
class ShardSet:
    """A written split: its files, clip count and shape."""

    path: Path
    files: list[str]
    num_clips: int
    clip_shape: tuple[int, int, int, int]
    class_counts: list[int]
    skipped: list[str]


def clips_per_video(s: Sampling) -> int:
    return 1 if s.mode == "uniform" else s.clips_per_video


def estimate_bytes(n_videos: int, s: Sampling) -> int:
    """Upper bound of the uint8 size of ``n_videos`` videos' clips (short videos give fewer)."""
    return n_videos * clips_per_video(s) * s.seq_len * s.size * s.size * 3


def shard_key(videos: list[Video], labels: list[str], s: Sampling) -> str:
    files = sorted((str(Path(v.path).resolve()), v.label, *_stat(v.path)) for v in videos)
    blob = json.dumps([files, labels, asdict(s), SHARD_VERSION])
    return hashlib.sha1(blob.encode()).hexdigest()


def _stat(path: Path) -> tuple[int, int]:
    st = Path(path).stat()
    return st.st_size, st.st_mtime_ns


def write_shards(videos: list[Video], labels: list[str], s: Sampling, shard_dir: Path,
                 clip_cache: Path | None = None, clips_per_shard: int = CLIPS_PER_SHARD) -> ShardSet:
    """Write (or reuse) the shards of ``videos``; returns what is on disk."""
    import tensorflow as tf

    final = Path(shard_dir) / shard_key(videos, labels, s)
    if (final / "index.json").is_file():
        return _load_index(final)
    tmp = final.parent / f"{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    index = {name: i for i, name in enumerate(labels)}
    order = sorted(videos, key=lambda v: str(v.path))
    order = [order[i] for i in np.random.default_rng(0).permutation(len(order))]
    files, counts, skipped, n, writer = [], [0] * len(labels), [], 0, None
    try:
        for v in order:
            try:
                clips = video_clips(v.path, s, clip_cache)
            except VideoError as e:
                skipped.append(str(e))
                continue
            for clip in clips:
                if n % clips_per_shard == 0:
                    if writer:
                        writer.close()
                    files.append(f"shard-{len(files):05d}.tfrecord")
                    writer = tf.io.TFRecordWriter(str(tmp / files[-1]))
                writer.write(_example(clip, index[v.label]))
                counts[index[v.label]] += 1
                n += 1
    finally:
        if writer:
            writer.close()
    if skipped:
        log.warning("skipped %d unusable video(s):\n  %s", len(skipped), "\n  ".join(skipped))
    meta = {"version": SHARD_VERSION, "files": files, "num_clips": n, "clip_shape": [s.seq_len, s.size, s.size, 3],
            "labels": labels, "class_counts": counts, "skipped": skipped, "sampling": asdict(s)}
    (tmp / "index.json").write_text(json.dumps(meta, indent=2))
    try:
        tmp.rename(final)
    except OSError:  # another process (a second worker) finished the same shards first
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("shards: %d clips in %d file(s) at %s", n, len(files), final)
    return _load_index(final)


def _load_index(path: Path) -> ShardSet:
    meta = json.loads((path / "index.json").read_text())
    return ShardSet(path, [str(path / f) for f in meta["files"]], meta["num_clips"], tuple(meta["clip_shape"]),
                    meta["class_counts"], meta["skipped"])


def _example(clip: np.ndarray, label: int) -> bytes:
    import tensorflow as tf

    feature = {
        "clip": tf.train.Feature(bytes_list=tf.train.BytesList(value=[np.ascontiguousarray(clip, np.uint8).tobytes()])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def read_shards(shards: ShardSet, shuffle: bool, seed: int = 0, shuffle_buffer: int = 512):
    """A tf.data ``Dataset`` of ``(uint8 clip, int32 label)``; files and clips shuffled when training.

    Order is deterministic for a seed, so every worker of a multi-worker run
    sees the same stream and data auto-sharding splits it without overlap.
    """
    import tensorflow as tf

    shape = shards.clip_shape
    spec = {"clip": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)}

    def parse(record):
        ex = tf.io.parse_single_example(record, spec)
        return tf.reshape(tf.io.decode_raw(ex["clip"], tf.uint8), shape), tf.cast(ex["label"], tf.int32)

    files = tf.data.Dataset.from_tensor_slices(tf.constant(shards.files, tf.string))  # typed even when empty
    if shuffle:
        files = files.shuffle(max(1, len(shards.files)), seed=seed, reshuffle_each_iteration=True)
    ds = files.interleave(tf.data.TFRecordDataset, cycle_length=min(4, max(1, len(shards.files))),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
