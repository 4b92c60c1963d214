"""Training-time clip augmentation, drawn anew every epoch.

Why: the seed models overfit a few dozen actors quickly; cheap, label-safe
changes make each epoch show new clips. Every change is applied to the whole
clip at once (all frames alike), so motion is untouched:

* brightness and contrast jitter (lighting),
* a shift of up to ``max_shift_px`` pixels (framing),
* a horizontal flip, only where it is safe: a class in ``flip_pairs`` swaps
  with its partner (``walk_left`` <-> ``walk_right``), others keep their label.
  Without ``flip_pairs`` there is no flip, since it would silently turn a
  direction class into its opposite.
"""

from __future__ import annotations

import math

import numpy as np

from har.edge.preprocess import normalize
from har.train.errors import TrainError


def flip_map(labels: list[str], flip_pairs: list[list[str]] | None) -> np.ndarray | None:
    """Label index after a horizontal flip, or None when flipping is off."""
    if not flip_pairs:
        return None
    index = {name: i for i, name in enumerate(labels)}
    mapping = np.arange(len(labels))
    for pair in flip_pairs:
        if len(pair) != 2 or any(p not in index for p in pair):
            raise TrainError(f"flip pair {pair} must name two of the labels {labels}")
        a, b = index[pair[0]], index[pair[1]]
        mapping[a], mapping[b] = b, a
    return mapping


def augment_batch(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, flips: np.ndarray | None,
                  max_shift_px: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """uint8 clips ``(B, T, H, W, 3)`` -> augmented uint8 clips and labels."""
    x = x.astype(np.float32)
    y = y.copy()
    for i in range(len(x)):
        gain = rng.uniform(0.8, 1.2)
        bias = rng.uniform(-20, 20)
        mean = x[i].mean()
        x[i] = (x[i] - mean) * gain + mean + bias
        if max_shift_px:
            dy, dx = rng.integers(-max_shift_px, max_shift_px + 1, size=2)
            x[i] = np.roll(x[i], (dy, dx), axis=(1, 2))
        if flips is not None and rng.random() < 0.5:
            x[i] = x[i][:, :, ::-1]
            y[i] = flips[y[i]]
    return np.clip(x, 0, 255).astype(np.uint8), y


def augmented_dataset(X: np.ndarray, y: np.ndarray, n_classes: int, batch_size: int, normalization: str,
                      flips: np.ndarray | None, seed: int):
    """A Keras ``PyDataset`` yielding augmented, normalized, one-hot batches."""
    import keras

    class _Clips(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(y))
            self.onehot = np.eye(n_classes, dtype=np.float32)

        def __len__(self):
            return math.ceil(len(y) / batch_size)

        def __getitem__(self, i):
            idx = self.order[i * batch_size:(i + 1) * batch_size]
            xb, yb = augment_batch(X[idx], y[idx], self.rng, flips)
            return normalize(xb, normalization), self.onehot[yb]

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(y))

    return _Clips()


# --------------------------------------------------------------------------- tf.data (TF ops)

AUGMENTS = ("brightness", "shift", "crop", "temporal_jitter", "flip")
LEGACY_AUGMENTS = ("brightness", "shift", "flip")  # what ``augment = true`` has always meant


def augment_names(augment: bool | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The config's ``augment`` (a bool or a list of names) as a tuple of names, checked."""
    if augment is True:
        return LEGACY_AUGMENTS
    if not augment:
        return ()
    if isinstance(augment, str):
        augment = [augment]
    unknown = [a for a in augment if a not in AUGMENTS]
    if unknown:
        raise TrainError(f"unknown augmentation(s) {', '.join(map(repr, unknown))}; choose from {', '.join(AUGMENTS)}")
    return tuple(augment)


def tf_augment(names: tuple[str, ...], flips: np.ndarray | None, max_shift_px: int = 4,
               min_crop: float = 0.8, max_jitter: int = 1):
    """A ``(uint8 clip, label) -> (float32 clip in [0, 255], label)`` map for tf.data.

    The same changes as :func:`augment_batch` as TF ops (each clip alike over
    all frames), plus ``crop`` (a random 80-100 % window resized back) and
    ``temporal_jitter`` (each frame index moves by up to ``max_jitter``, then
    the indices are sorted, so order is kept; frames can repeat or drop).
    ``flip`` acts only with ``flip_pairs``.
    """
    import tensorflow as tf

    flip_table = tf.constant(flips, tf.int32) if flips is not None else None

    def fn(clip, label):
        x = tf.cast(clip, tf.float32)
        t, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
        if "temporal_jitter" in names:
            idx = tf.range(t) + tf.random.uniform([t], -max_jitter, max_jitter + 1, tf.int32)
            x = tf.gather(x, tf.sort(tf.clip_by_value(idx, 0, t - 1)))
        if "crop" in names:
            frac = tf.random.uniform([], min_crop, 1.0)
            ch = tf.cast(tf.cast(h, tf.float32) * frac, tf.int32)
            cw = tf.cast(tf.cast(w, tf.float32) * frac, tf.int32)
            y0 = tf.random.uniform([], 0, h - ch + 1, tf.int32)
            x0 = tf.random.uniform([], 0, w - cw + 1, tf.int32)
            x = tf.image.resize(x[:, y0:y0 + ch, x0:x0 + cw], tf.stack([h, w]))
        if "brightness" in names:
            mean = tf.reduce_mean(x)
            x = (x - mean) * tf.random.uniform([], 0.8, 1.2) + mean + tf.random.uniform([], -20.0, 20.0)
        if "shift" in names and max_shift_px:
            d = tf.random.uniform([2], -max_shift_px, max_shift_px + 1, tf.int32)
            x = tf.roll(x, d, axis=[1, 2])
        if "flip" in names and flip_table is not None:
            flip = tf.random.uniform([]) < 0.5
            x = tf.cond(flip, lambda: tf.reverse(x, axis=[2]), lambda: x)
            label = tf.where(flip, tf.gather(flip_table, label), label)
        return tf.clip_by_value(x, 0.0, 255.0), label

    return fn
