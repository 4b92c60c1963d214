"""tf.data input pipelines: the same batches from clips in memory or from shards on disk.

``input_pipeline = "memory"`` loads every clip as uint8 (today's path);
``"shards"`` streams TFRecord shards (:mod:`har.train.shards`): interleave
over files, shuffle buffer, decode, augment, normalize, batch, prefetch.
``"auto"`` picks shards when the estimated uint8 size of the dataset exceeds
``memory_budget_gib``. Under a distribution strategy both go through tf.data,
batched by the global batch and sharded by data across workers.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from har.models.clips import default_cache_dir
from har.train.config import TrainConfig
from har.train.shards import ShardSet, estimate_bytes

log = logging.getLogger(__name__)
Source = tuple[np.ndarray, np.ndarray] | ShardSet  # (uint8 clips, int labels) in memory, or shards


def choose_pipeline(cfg: TrainConfig, n_videos: int) -> str:
    if cfg.input_pipeline != "auto":
        return cfg.input_pipeline
    size = estimate_bytes(n_videos, cfg.sampling)
    choice = "shards" if size > cfg.memory_budget_gib * 2**30 else "memory"
    log.info("input pipeline: %s (about %.2f GiB of uint8 clips, budget %.2f GiB)", choice, size / 2**30,
             cfg.memory_budget_gib)
    return choice


def shard_dir(cfg: TrainConfig) -> Path:
    if cfg.shard_dir:
        return Path(cfg.shard_dir)
    return Path(cfg.cache_dir) / "shards" if cfg.cache_dir else default_cache_dir().parent / "shards"


def source_size(src: Source) -> int:
    return src.num_clips if isinstance(src, ShardSet) else len(src[1])


def clip_dataset(src: Source, shuffle: bool, seed: int, shuffle_buffer: int):
    """``(uint8 clip, int32 label)`` elements, shuffled when training."""
    import tensorflow as tf

    from har.train.shards import read_shards

    if isinstance(src, ShardSet):
        return read_shards(src, shuffle, seed, shuffle_buffer)
    ds = tf.data.Dataset.from_tensor_slices((src[0], src[1].astype(np.int32)))
    return ds.shuffle(max(1, len(src[1])), seed=seed, reshuffle_each_iteration=True) if shuffle else ds


def tf_normalize(x, mode: str):
    """The TF twin of :func:`har.edge.preprocess.normalize` (float32 in [0, 255] -> model input)."""
    if mode == "scale_0_1":
        return x * (1.0 / 255.0)
    if mode == "scale_-1_1":
        return x * (1.0 / 127.5) - 1.0
    raise ValueError(f"normalization {mode!r} has no tf.data version; use scale_0_1 or scale_-1_1")


def batches(src: Source, cfg: TrainConfig, n_classes: int, batch_size: int, training: bool,
            flips: np.ndarray | None = None, distributed: bool = False):
    """Normalized, one-hot batches for ``model.fit`` (augmented when ``training``)."""
    import tensorflow as tf

    from har.train.augment import augment_names, tf_augment

    names = augment_names(cfg.augment) if training else ()
    ds = clip_dataset(src, training, cfg.seed, cfg.shuffle_buffer)
    if names:
        ds = ds.map(tf_augment(names, flips), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def finish(x, y):
        return tf_normalize(tf.cast(x, tf.float32), cfg.normalization), tf.one_hot(y, n_classes)

    ds = ds.map(finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size)
    # Shards do not know their length; telling tf.data lets Keras show progress and not warn on epoch 1.
    ds = ds.apply(tf.data.experimental.assert_cardinality(-(-source_size(src) // batch_size)))
    if distributed:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        ds = ds.with_options(options)
    return ds.prefetch(tf.data.AUTOTUNE)


def predict(model, src: Source, normalization: str, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities and labels of every clip of ``src``, in one pass, on this process alone.

    Calls the model directly, so under a strategy every worker evaluates the
    whole test split with the same (synchronised) weights.
    """
    import tensorflow as tf

    probs, ys = [], []
    for x, y in clip_dataset(src, False, 0, 1).batch(batch_size):
        probs.append(np.asarray(model(tf_normalize(tf.cast(x, tf.float32), normalization), training=False)))
        ys.append(y.numpy())
    if not ys:
        return np.zeros((0, model.output_shape[-1]), np.float32), np.zeros(0, np.int32)
    return np.concatenate(probs), np.concatenate(ys).astype(np.int32)
