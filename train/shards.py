"""Preprocessed clips on disk as TFRecord shards, streamed by tf.data.

Why: the in-memory path holds every uint8 clip at once (UCF101's 13,320 videos
at three 20x64x64 clips each are 9.8 GB), so larger datasets would not train.

Shards are written per *group* (:func:`har.train.dataset.group_of`), keyed by
the group's videos (path, size, mtime), the label list, the sampling and a
format version, and a split is the list of its groups' shard files. A group is
never on two sides of a fold, so every fold of every protocol reuses the same
files: the dataset is on disk once per (labels, sampling), however many folds
or later runs read it.

Layout: ``<shard_dir>/<key>/shard-00000.tfrecord ...`` plus ``index.json``
(written last, and the folder renamed into place from
``<key>.tmp-<host>-<pid>``: a folder without it is incomplete and is rebuilt;
temporary folders of processes no longer alive on this host are removed).
Each record is a ``tf.train.Example`` with the raw uint8 clip and its label
index. A group's videos are written in a fixed shuffled order so its shards
mix classes where the group spans classes (UCF ``gNN``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from har.models.clips import Sampling, usable_clips
from har.train.archives import pid_alive
from har.train.dataset import Video

log = logging.getLogger(__name__)
SHARD_VERSION = 2  # 1: one folder per split (a copy of the data per fold); 2: one per group
CLIPS_PER_SHARD = 256  # 20x64x64x3 clips: about 60 MiB a shard
_TMP = ".tmp-"


@dataclass(frozen=True)
class ShardSet:
    """A split on disk: the shard files of its groups, clip count and shape."""

    parts: list[Path]  # one folder per group, sorted by group name
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
    """The identity of one group's shards: its videos' files and labels, the label list, sampling and format."""
    files = sorted((str(Path(v.path).resolve()), v.label, *_stat(v.path)) for v in videos)
    blob = json.dumps([files, labels, asdict(s), SHARD_VERSION])
    return hashlib.sha1(blob.encode()).hexdigest()


def _stat(path: Path) -> tuple[int, int]:
    st = Path(path).stat()
    return st.st_size, st.st_mtime_ns


def write_shards(videos: list[Video], labels: list[str], s: Sampling, shard_dir: Path,
                 clip_cache: Path | None = None, clips_per_shard: int = CLIPS_PER_SHARD) -> ShardSet:
    """Write the shards of the groups of ``videos`` that are not on disk yet; returns the split's files."""
    shard_dir = Path(shard_dir)
    remove_stale_tmp(shard_dir)
    by_group: dict[str, list[Video]] = defaultdict(list)
    for v in videos:
        by_group[v.group].append(v)
    parts, written, skipped = [], 0, []
    for group in sorted(by_group):
        folder, new_skips = _write_group(group, by_group[group], labels, s, shard_dir, clip_cache, clips_per_shard)
        parts.append(folder)
        written += new_skips is not None
        skipped += new_skips or []
    if skipped:
        log.warning("skipped %d unusable video(s):\n  %s", len(skipped), "\n  ".join(skipped))
    out = _combine(parts, labels, s)
    if parts:
        log.info("shards: %d clips in %d file(s) of %d group(s) (%d written now) under %s", out.num_clips,
                 len(out.files), len(parts), written, shard_dir)
    return out


def _write_group(group: str, videos: list[Video], labels: list[str], s: Sampling, shard_dir: Path,
                 clip_cache: Path | None, clips_per_shard: int) -> tuple[Path, list[str] | None]:
    """The folder of one group's shards and the videos skipped while writing it (None when reused)."""
    import tensorflow as tf

    final = shard_dir / shard_key(videos, labels, s)
    if (final / "index.json").is_file():
        return final, None
    tmp = shard_dir / f"{final.name}{_TMP}{socket.gethostname()}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    index = {name: i for i, name in enumerate(labels)}
    order = sorted(videos, key=lambda v: str(v.path))
    order = [order[i] for i in np.random.default_rng(0).permutation(len(order))]
    files, counts, skipped, n, writer = [], [0] * len(labels), [], 0, None
    try:
        for v, clips in usable_clips(order, s, clip_cache, skipped):
            for clip in clips:
                if n % clips_per_shard == 0:
                    if writer:
                        writer.close()
                    files.append(f"shard-{len(files):05d}.tfrecord")
                    writer = tf.io.TFRecordWriter(str(tmp / files[-1]))
                writer.write(_example(clip, index[v.label]))
                counts[index[v.label]] += 1
                n += 1
    except BaseException:
        if writer:
            writer.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if writer:
        writer.close()
    meta = {"version": SHARD_VERSION, "group": group, "videos": sorted(str(v.path) for v in videos), "files": files,
            "num_clips": n, "clip_shape": [s.seq_len, s.size, s.size, 3], "labels": labels,
            "class_counts": counts, "skipped": skipped, "sampling": asdict(s)}
    (tmp / "index.json").write_text(json.dumps(meta, indent=2))
    try:
        tmp.rename(final)
    except OSError:  # another process (a second worker) finished the same group first
        shutil.rmtree(tmp, ignore_errors=True)
    log.debug("shards of group %s: %d clips in %d file(s) at %s", group, n, len(files), final)
    return final, skipped


def _combine(parts: list[Path], labels: list[str], s: Sampling) -> ShardSet:
    """One split from its groups' folders (none: an empty split, e.g. ``val_fraction = 0``)."""
    files, counts, skipped, n = [], [0] * len(labels), [], 0
    for folder in parts:
        meta = json.loads((folder / "index.json").read_text())
        files += [str(folder / f) for f in meta["files"]]
        counts = [a + b for a, b in zip(counts, meta["class_counts"], strict=True)]
        skipped += meta["skipped"]
        n += meta["num_clips"]
    return ShardSet(parts, files, n, (s.seq_len, s.size, s.size, 3), counts, skipped)


def remove_stale_tmp(shard_dir: Path) -> list[Path]:
    """Delete ``<key>.tmp-[<host>-]<pid>`` folders left by crashed writers on this host; returns them.

    A folder of a live process (or of another host, on shared storage) is left
    alone: its writer may still be working.
    """
    if not shard_dir.is_dir():
        return []
    host, removed = socket.gethostname(), []
    for p in shard_dir.iterdir():
        _, sep, owner = p.name.partition(_TMP)
        if not sep or not p.is_dir():
            continue
        where, _, pid = owner.rpartition("-")
        if where not in ("", host) or not pid.isdigit() or pid_alive(int(pid)):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    if removed:
        log.info("removed %d unfinished shard folder(s) of ended processes under %s", len(removed), shard_dir)
    return removed


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
