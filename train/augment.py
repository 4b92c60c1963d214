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


def flip_map(labels: list[str], flip_pairs: list[list[str]] | None) -> np.ndarray | None:
    """Label index after a horizontal flip, or None when flipping is off."""
    if not flip_pairs:
        return None
    index = {name: i for i, name in enumerate(labels)}
    mapping = np.arange(len(labels))
    for pair in flip_pairs:
        if len(pair) != 2 or any(p not in index for p in pair):
            raise ValueError(f"flip pair {pair} must name two of the labels {labels}")
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
