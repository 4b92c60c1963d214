"""Every exported head gives its penultimate layer as a second output, int8 like the head."""

from __future__ import annotations

import numpy as np

from har.edge.bundle import load_bundle
from har.edge.interpreter import TfliteModel


def _keras(model_dir):
    from har.models.keras_layers import load_model

    model = load_model(model_dir / "model.keras")
    return model, model.get_layer("probs").get_weights()


def test_pose_export_gives_the_penultimate_layer_as_the_heads_second_output(trained):
    import keras

    bundle = load_bundle(trained["bundle"])
    assert bundle.head_embeds and bundle.embedding_dim == 64 and "embed" not in bundle.models
    assert bundle.models["head"].embedding.dtype == "int8"  # full int8, like the head
    head = TfliteModel(bundle.model_file("head"))
    xte, _ = trained["features"][1]
    model, (w, b) = _keras(trained["model_dir"])
    state = keras.Model(model.input, model.get_layer("lstm").output).predict(xte, verbose=0)  # float LSTM state
    probs, emb = zip(*((head.run(x), head.embedding()) for x in xte), strict=True)
    probs, emb = np.stack(probs), np.stack(emb)
    logits = emb @ w + b
    via_embedding = np.exp(logits - logits.max(1, keepdims=True))
    via_embedding /= via_embedding.sum(1, keepdims=True)
    assert np.abs(via_embedding - probs).max() < 0.05  # the very tensor the head's dense layer reads
    cos = (emb * state).sum(1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(state, axis=1)
    assert np.median(cos) > 0.98, np.median(cos)  # the float model's state, within int8 tolerance
    section = bundle.metadata["embedding"]
    assert section["dim"] == 64 and set(section["references"]) <= set(bundle.labels) and section["references"]
    assert -1 <= section["one_shot_similarity"] <= 1


def test_the_cache_bundle_has_its_embedding_too(cache_bundle):
    assert load_bundle(cache_bundle).embedding_dim == 64
