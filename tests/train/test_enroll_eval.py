"""``har eval-enroll`` on generated people, and the default model's embedding."""

from __future__ import annotations

import numpy as np

from har.edge.default_model import load_default_bundle
from har.edge.interpreter import TfliteModel
from har.train.enroll_eval import embed_motion, few_shot, fit_timing
from har.train.motion.windows import UNSEEN_FIRST_ACTOR, generated_windows, window_features


def test_default_model_embedding_is_its_heads_penultimate_layer(real_pose_models):
    b = load_default_bundle()
    assert b.embedding_dim == 64 and b.models["embed"].input.dtype == "int8"
    head, embed = TfliteModel(b.model_file("head")), TfliteModel(b.model_file("embed"))
    with np.load(b.path / "head.weights.npz") as z:
        w, bias = z["probs/0"].astype(np.float32), z["probs/1"].astype(np.float32)
    x = window_features(generated_windows(b.labels, range(UNSEEN_FIRST_ACTOR, UNSEEN_FIRST_ACTOR + 2)))
    via_embedding = (np.stack([embed.run(f) for f in x]) @ w + bias).argmax(1)
    assert (via_embedding == np.stack([head.run(f) for f in x]).argmax(1)).mean() >= 0.95
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
