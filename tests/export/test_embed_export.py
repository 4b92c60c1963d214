"""The embedding model every pose bundle now carries is the head's penultimate layer, int8 like the head."""

from __future__ import annotations

import numpy as np

from har.edge.bundle import load_bundle
from har.edge.interpreter import TfliteModel


def _dense(model_dir):
    import keras

    model = keras.models.load_model(model_dir / "model.keras", compile=False)
    return [w for w in model.get_layer("probs").get_weights()]


def test_pose_export_writes_the_penultimate_layer_as_embed_tflite(trained):
    bundle = load_bundle(trained["bundle"])
    assert bundle.embedding_dim == 64
    assert bundle.models["embed"].input == bundle.models["head"].input
    assert bundle.models["embed"].input.dtype == "int8"  # full int8, like the head
    embed = TfliteModel(bundle.model_file("embed"))
    xte, _ = trained["features"][1]
    w, b = _dense(trained["model_dir"])
    logits = np.stack([embed.run(x) for x in xte]) @ w + b
    agree = (logits.argmax(1) == trained["keras_probs"].argmax(1)).mean()
    assert agree >= 0.9, agree
    section = bundle.metadata["embedding"]
    assert section["dim"] == 64 and set(section["references"]) <= set(bundle.labels) and section["references"]
    assert -1 <= section["one_shot_similarity"] <= 1


def test_the_cache_bundle_has_its_embedding_too(cache_bundle):
    assert load_bundle(cache_bundle).embedding_dim == 64
