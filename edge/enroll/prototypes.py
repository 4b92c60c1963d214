"""Score windows against enrolled labels: nearest prototype by cosine similarity, with an open-set threshold.

Why nearest prototype: fitting is a mean per label (microseconds), scoring is
one small matrix product (well under 0.1 ms per window), and with few
examples it is as accurate as anything fitted to them (docs/enroll.md has
the measured comparison). Each label's prototype is the normalised mean of
its examples' unit embeddings.

Open set: a window takes an enrolled label only when two thresholds,
calibrated from that label's own examples, both hold:

* **similarity** to the label's prototype at least the label's threshold:
  the 20th percentile of the leave-one-out similarities of its examples
  (each example against the prototype of the others), pulled towards the
  bundle's ``one_shot_similarity`` (:mod:`har.edge.enroll.references`) as if
  that were :data:`PRIOR_WEIGHT` more examples: ``(n * own + 5 * bundle) /
  (n + 5)``. A few examples give a noisy percentile, and the labels that
  let other actions in were those whose examples happened to agree loosely;
  the bundle's value, measured on its whole training set, steadies them.
  One example has no leave-one-out and uses the bundle's value alone.
* **margin** over the bundle's own classes: similarity to the prototype
  minus the highest similarity to any base label's reference at least the
  20th percentile of the examples' margins (0 for one example). So walking past
  stays "walk", not the nearest enrolled label. An enrolled label with a
  base label's name takes that base label's place here: its reference is
  left out, and the user's examples decide.

The percentile and the prior's weight were chosen on generated people
(docs/enroll.md has the comparison and the held-out figures).

Anything else stays what the base head says, "no action" included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from har.edge.enroll.references import unit

#: The probability an accepted window gives its enrolled label at the thresholds; 1.0 at a perfect match.
MIN_CONFIDENCE = 0.6
#: How many examples the bundle's ``one_shot_similarity`` counts as in a label's similarity threshold.
PRIOR_WEIGHT = 5


@dataclass(frozen=True)
class Match:
    index: int  # into PrototypeClassifier.labels; -1: no enrolled label
    confidence: float
    similarity: float


class PrototypeClassifier:
    """Enrolled labels from ``examples`` (label -> ``(n, D)`` embeddings), with open-set thresholds."""

    #: Quantile of the examples' leave-one-out values that sets each threshold (docs/enroll.md: 0.1 let
    #: 6-7 % of windows of never-enrolled unknown actions in, 0.2 with the prior under 3 %).
    quantile = 0.2

    def __init__(self, examples: dict[str, np.ndarray], references: dict[str, np.ndarray] | None = None,
                 one_shot_similarity: float = 0.8):
        self.labels = list(examples)
        refs = {k: v for k, v in (references or {}).items() if k not in examples}
        self.reference_labels = list(refs)
        self.references = (np.stack([unit(v) for v in refs.values()]) if refs
                           else np.zeros((0, 0), np.float32))
        protos, sim_t, margin_t, counts = [], [], [], []
        for label in self.labels:
            x = unit(np.asarray(examples[label], np.float32))
            protos.append(unit(x.mean(0)))
            counts.append(len(x))
            if len(x) > 1:
                others = unit((x.sum(0, keepdims=True) - x) / (len(x) - 1))  # leave-one-out prototypes
                sims = (x * others).sum(1)
            else:
                sims = np.array([one_shot_similarity], np.float32)
            own = float(np.quantile(sims, self.quantile))
            sim_t.append((len(x) * own + PRIOR_WEIGHT * one_shot_similarity) / (len(x) + PRIOR_WEIGHT)
                         if len(x) > 1 else own)
            margin_t.append(float(np.quantile(sims - self._nearest_reference(x), self.quantile))
                            if len(x) > 1 and len(refs) else 0.0)
        d = len(protos[0]) if protos else 0
        self.prototypes = np.stack(protos).astype(np.float32) if protos else np.zeros((0, d), np.float32)
        self.similarity_thresholds = np.asarray(sim_t, np.float32)
        self.margin_thresholds = np.asarray(margin_t, np.float32)
        self.counts = counts

    def _nearest_reference(self, x: np.ndarray) -> np.ndarray:
        """Highest similarity of each row of ``x`` to any base reference (-1 without references)."""
        if not len(self.references):
            return np.full(len(x), -1.0, np.float32)
        return (x @ self.references.T).max(1)

    def match(self, embedding: np.ndarray) -> Match:
        """The enrolled label ``embedding`` takes (index -1: none) and the probability to give it."""
        if not self.labels:
            return Match(-1, 0.0, 0.0)
        e = unit(np.asarray(embedding, np.float32).reshape(1, -1))
        sims = (self.prototypes @ e[0])
        j = int(sims.argmax())
        s = float(sims[j])
        t = float(self.similarity_thresholds[j])
        if s < t:
            return Match(-1, 0.0, s)
        if len(self.references) and s - float(self._nearest_reference(e)[0]) < self.margin_thresholds[j]:
            return Match(-1, 0.0, s)
        conf = MIN_CONFIDENCE + (1 - MIN_CONFIDENCE) * min(1.0, (s - t) / max(1e-6, 1 - t))
        return Match(j, conf, s)

    def describe(self) -> list[str]:
        """One line per label: examples and calibrated thresholds (for ``--list`` and ``info``)."""
        return [f"{label}: {n} example(s), similarity >= {st:.3f}, margin over base labels >= {mt:+.3f}"
                for label, n, st, mt in zip(self.labels, self.counts, self.similarity_thresholds,
                                            self.margin_thresholds, strict=True)]


def combine(base_probs: np.ndarray, base_labels: list[str], labels: list[str], match: Match,
            enrolled: list[str]) -> np.ndarray:
    """The probability vector over ``labels`` (base labels, then new enrolled ones).

    No match: the base head's answer, 0 for every new label. A match with
    confidence c: c for the enrolled label and the base probabilities scaled
    by 1 - c, so the match wins and the vector still sums to 1.
    """
    out = np.zeros(len(labels), np.float32)
    out[:len(base_labels)] = base_probs
    if match.index < 0:
        return out
    out *= np.float32(1 - match.confidence)
    out[labels.index(enrolled[match.index])] += np.float32(match.confidence)
    return out
