import numpy as np
import pytest

from har.train.augment import augment_batch, flip_map

LABELS = ["idle", "walk_left", "walk_right", "wave"]


def test_flip_swaps_only_paired_labels():
    m = flip_map(LABELS, [["walk_left", "walk_right"]])
    assert m.tolist() == [0, 2, 1, 3]
    assert flip_map(LABELS, None) is None
    with pytest.raises(ValueError, match="must name two"):
        flip_map(LABELS, [["walk_left", "run"]])


def test_augment_keeps_shape_and_flips_with_the_label():
    rng = np.random.default_rng(0)
    x = np.zeros((64, 4, 16, 16, 3), np.uint8)
    x[:, :, :, :4] = 200  # a bright band on the left of every frame
    y = np.full(64, 1)  # walk_left
    xa, ya = augment_batch(x, y, rng, flip_map(LABELS, [["walk_left", "walk_right"]]), max_shift_px=0)
    assert xa.shape == x.shape and xa.dtype == np.uint8
    flipped = xa[:, 0, 8, -2:].mean(axis=(1, 2)) > xa[:, 0, 8, :2].mean(axis=(1, 2))
    assert 10 < flipped.sum() < 54
    assert np.array_equal(ya == 2, flipped)  # flipped clips and only they became walk_right
    xb, yb = augment_batch(x, y, np.random.default_rng(0), None, max_shift_px=0)
    assert (yb == 1).all() and (xb[:, 0, 8, :2].mean(axis=(1, 2)) > xb[:, 0, 8, -2:].mean(axis=(1, 2))).all()
