"""The open-set thresholds of enrolled labels, on embeddings whose geometry is known."""

from __future__ import annotations

import numpy as np

from har.edge.enroll.prototypes import PRIOR_WEIGHT, PrototypeClassifier
from har.edge.enroll.references import unit

D = 16


def _axis(i: int) -> np.ndarray:
    v = np.zeros(D, np.float32)
    v[i] = 1
    return v


def _around(direction: np.ndarray, n: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return unit(direction + rng.normal(0, spread, (n, D)).astype(np.float32))


def _at_similarity(direction: np.ndarray, other: np.ndarray, s: float) -> np.ndarray:
    """A unit vector with cosine ``s`` to ``direction`` (the rest of it along ``other``, orthogonal to it)."""
    return (s * direction + np.sqrt(1 - s * s) * other).astype(np.float32)


def test_one_example_uses_the_bundles_similarity_and_more_examples_move_towards_their_own():
    prior = 0.8
    one = PrototypeClassifier({"a": _around(_axis(0), 1, 0.1, 0)}, {}, prior)
    assert one.similarity_thresholds[0] == np.float32(prior)
    tight = PrototypeClassifier({"a": _around(_axis(0), 10, 0.02, 1)}, {}, prior)
    x = unit(tight.prototypes[0])
    assert prior < tight.similarity_thresholds[0] < float((unit(_around(_axis(0), 10, 0.02, 1)) @ x).min()) + 0.01


def test_a_label_whose_examples_agree_loosely_is_held_to_the_bundles_similarity():
    """Loose examples alone would accept windows far from them; the bundle's value, weighted, keeps them out."""
    prior = 0.8
    loose = _around(_axis(0), 5, 0.45, 2)
    clf = PrototypeClassifier({"a": loose}, {}, prior)
    proto = clf.prototypes[0]
    loo = np.array([unit(np.delete(loose, i, 0).mean(0)) @ loose[i] for i in range(5)])
    own = float(np.quantile(loo, clf.quantile))
    assert own < prior  # the examples themselves would accept less similar windows
    expected = (5 * own + PRIOR_WEIGHT * prior) / (5 + PRIOR_WEIGHT)
    np.testing.assert_allclose(clf.similarity_thresholds[0], expected, rtol=1e-5)
    between = (own + expected) / 2  # above what the examples alone allow, below the calibrated threshold
    other = unit(_axis(5) - (proto @ _axis(5)) * proto)
    assert clf.match(_at_similarity(proto, other, between)).index == -1
    assert clf.match(_at_similarity(proto, other, min(0.999, expected + 0.05))).index == 0


def test_known_and_unknown_actions_stay_out_and_the_enrolled_ones_come_in():
    refs = {"walk": _axis(2), "sit": _axis(3)}
    clf = PrototypeClassifier({"stretch": _around(_axis(0), 5, 0.1, 3), "wave": _around(_axis(1), 5, 0.1, 4)},
                              refs, 0.7)
    for label, d in (("stretch", _axis(0)), ("wave", _axis(1))):
        hits = [clf.match(e) for e in _around(d, 20, 0.05, 5)]  # closer to the action than its examples were
        assert sum(clf.labels[m.index] == label for m in hits if m.index >= 0) >= 18
        assert all(m.index < 0 or clf.labels[m.index] == label for m in hits)
    known = _around(unit(_axis(2) + 0.6 * _axis(0)), 20, 0.05, 6)  # walking, a little like stretching
    assert all(clf.match(e).index == -1 for e in known)
    unknown = _around(_axis(7), 20, 0.1, 7)  # an action nobody taught the device
    assert all(clf.match(e).index == -1 for e in unknown)
    m = clf.match(_axis(0))
    assert m.index == 0 and 0.6 <= m.confidence <= 1.0
