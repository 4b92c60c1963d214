"""A tiny streaming bundle with an embedding model, whose answers are known in advance (like tests.edge.colour).

Encoder: a frame's mean colour minus 0.5 (3 features). Head: the colour
bundle's rule on the window mean (green, red, else idle). Embedding: the
window's mean centred colour (the head's penultimate layer, its second
output), so a blue window is near blue examples and far from red, green and
grey ones: enrolling "blue" must make blue clips take it, and nothing else.
``separate_embed=True`` builds a bundle as exported before the head carried
its embedding: a single-output head and ``embed.tflite``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from har.edge.bundle import MODEL_FILES, build_metadata, model_entry, write_metadata
from har.edge.interpreter import model_tensors
from tests.edge.colour import INTERVAL, LABELS, SEQ, SIZE, _colour_model

FEATURES = 3


def _graphs():
    import keras

    frame = keras.Input((SIZE, SIZE, 3), batch_size=1)
    enc = keras.layers.Dense(FEATURES)
    encoder = keras.Model(frame, enc(keras.layers.GlobalAveragePooling2D()(frame)))
    enc.set_weights([np.eye(3, dtype=np.float32), np.full(3, -0.5, np.float32)])

    feats = keras.Input((SEQ, FEATURES), batch_size=1)
    dense = keras.layers.Dense(3, activation="softmax")
    head = keras.Model(feats, dense(keras.layers.GlobalAveragePooling1D()(feats)))
    dense.set_weights([np.array([[-12.0, 0.0, 12.0], [12.0, 0.0, -12.0], [0.0, 0.0, 0.0]], np.float32),
                       np.array([0.0, 2.0, 0.0], np.float32)])

    feats2 = keras.Input((SEQ, FEATURES), batch_size=1)
    embed = keras.Model(feats2, keras.layers.GlobalAveragePooling1D()(feats2))
    return {"window": _colour_model(), "encoder": encoder, "head": head, "embed": embed}


def build_enroll_bundle(out: Path, separate_embed: bool = False) -> Path:
    import tensorflow as tf

    from har.export.head_embedding import add_embedding_output

    models = {}
    for name, model in _graphs().items():
        if name == "embed" and not separate_embed:
            continue
        f = out / MODEL_FILES[name]
        data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        f.write_bytes(add_embedding_output(data) if name == "head" and not separate_embed else data)
        (inp,), (outp, *emb) = model_tensors(f)
        models[name] = model_entry(f, inp, outp, ["MEAN", "FULLY_CONNECTED"], "fp32",
                                   embedding=emb[0] if emb else None)
    meta = build_metadata(labels=LABELS, seq_len=SEQ, frame_size=SIZE, sampling_mode="interval",
                          interval_s=INTERVAL, quantization="fp32", models=models,
                          source={"model": "colour-enroll-test", "test_metrics": {}})
    write_metadata(out, meta)
    return out


def build_old_enroll_bundle(out: Path) -> Path:
    """The same bundle as exported before heads carried their embedding: a separate ``embed.tflite``."""
    return build_enroll_bundle(out, separate_embed=True)
