"""What a bundle knows about its own classes in embedding space: one reference direction per base label.

Why: an enrolled label must not take windows of actions the bundle already
knows (walking past, sitting down) just because they are the nearest of the
user's few examples. The export runs the bundle's head and embedding on the
int8 calibration windows (training data only), keeps the windows the head
itself labels with probability >= :data:`MIN_PROBABILITY`, and stores the
mean unit-length embedding per label in ``metadata.json`` under
``embedding``. The enrolment classifier (:mod:`har.edge.enroll.prototypes`)
then accepts a window for an enrolled label only when it is at least as much
closer to that label's examples than to every base reference as the
examples themselves were. Pseudo-labels need no labels at export time and
describe what the head does, which is what matters on the device.

``one_shot_similarity`` (the 5th percentile of a calibration window's cosine
similarity to its own label's reference) is the similarity a single example
cannot calibrate by itself: enrolling from one recording uses it.
"""

from __future__ import annotations

import numpy as np

MIN_PROBABILITY = 0.5
ONE_SHOT_QUANTILE = 0.05
#: Without references (an older bundle), a single example needs this cosine similarity.
DEFAULT_ONE_SHOT_SIMILARITY = 0.8


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (a zero row stays zero)."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), np.float32(1e-9))


def embedding_section(probs: np.ndarray, embeddings: np.ndarray, labels: list[str]) -> dict:
    """``metadata.json``'s ``embedding`` section from the head's probabilities and the embeddings of windows."""
    probs, e = np.asarray(probs, np.float32), unit(embeddings)
    k, p = probs.argmax(1), probs.max(1)
    refs, sims = {}, []
    for i, label in enumerate(labels):
        mine = e[(k == i) & (p >= MIN_PROBABILITY)]
        if len(mine):
            r = unit(mine.mean(0))
            refs[label] = [round(float(v), 5) for v in r]
            sims.append(mine @ r)
    one_shot = (float(np.quantile(np.concatenate(sims), ONE_SHOT_QUANTILE)) if sims
                else DEFAULT_ONE_SHOT_SIMILARITY)
    return {"dim": int(e.shape[1]), "references": refs, "one_shot_similarity": round(one_shot, 4),
            "calibration_windows": int(len(e)), "reference_rule": f"head argmax with p >= {MIN_PROBABILITY}"}


def bundle_references(metadata: dict, dim: int) -> tuple[dict[str, np.ndarray], float]:
    """``(label -> unit reference, one-shot similarity)`` from a bundle's metadata; empty when it has none."""
    section = metadata.get("embedding") if isinstance(metadata.get("embedding"), dict) else {}
    refs = {}
    for label, vec in (section.get("references") or {}).items():
        v = np.asarray(vec, np.float32) if isinstance(vec, list) else None
        if v is not None and v.shape == (dim,) and np.isfinite(v).all():
            refs[str(label)] = unit(v)
    one_shot = section.get("one_shot_similarity", DEFAULT_ONE_SHOT_SIMILARITY)
    if not isinstance(one_shot, int | float) or isinstance(one_shot, bool) or not -1 <= one_shot <= 1:
        one_shot = DEFAULT_ONE_SHOT_SIMILARITY
    return refs, float(one_shot)
