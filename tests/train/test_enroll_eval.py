"""``har eval-enroll`` on generated people, and the default model's embedding."""

from __future__ import annotations

import numpy as np

from har.edge.default_model import load_default_bundle
from har.edge.interpreter import TfliteModel
from har.train.enroll_eval import embed_motion, few_shot, fit_timing
from har.train.motion.windows import UNSEEN_FIRST_ACTOR, generated_windows, window_features


def test_default_model_embedding_is_its_heads_penultimate_layer(real_pose_models):
    """The head's second output, through the float dense layer, gives the head's own probabilities."""
    b = load_default_bundle()
    assert b.head_embeds and "embed" not in b.models and not (b.path / "embed.tflite").exists()
    assert b.embedding_dim == 64 and b.models["head"].embedding.dtype == "float32"  # fp32, like the head
    head = TfliteModel(b.model_file("head"))
    with np.load(b.path / "head.weights.npz") as z:
        w, bias = z["probs/0"].astype(np.float32), z["probs/1"].astype(np.float32)
    x = window_features(generated_windows(b.labels, range(UNSEEN_FIRST_ACTOR, UNSEEN_FIRST_ACTOR + 2)))
    for f in x:
        probs = head.run(f)
        logits = head.embedding() @ w + bias
        via_embedding = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        assert np.abs(via_embedding - probs).max() < 1e-4 and via_embedding.argmax() == probs.argmax()
    assert len(b.metadata["embedding"]["references"]) == len(b.labels)


def test_few_shot_on_generated_people_beats_chance_by_far_and_reports_spread(real_pose_models):
    b = load_default_bundle()
    data = embed_motion(b, enrollers=2, testers=3, takes=3)
    assert not set(data.groups[data.enrol]) & set(data.groups[~data.enrol])  # group-disjoint
    rows = [few_shot(data, b, k, draws=3) for k in (1, 3)]
    chance = 1 / len(data.classes)
    for r in rows:
        assert r["draws"] == 3
        assert r["closed_accuracy"]["mean"] > 5 * chance
        assert 0 <= r["false_accept_base"]["mean"] <= 1 and r["closed_accuracy"]["std"] >= 0
    assert rows[1]["closed_accuracy"]["mean"] >= rows[0]["closed_accuracy"]["mean"] - 0.05
    t = fit_timing(data, b, rounds=5)
    assert t["classes"] == len(data.classes) and t["fit_ms_p50"] > 0
