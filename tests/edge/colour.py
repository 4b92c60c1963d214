"""A tiny bundle whose answers are known in advance, and videos to feed it.

The bundle holds a Keras model with fixed weights that scores a window by its
mean colour (red, green, grey), converted to TFLite like any other model, so
event order and timing can be checked exactly through the real pipeline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from har.edge.bundle import TensorInfo, build_metadata, model_entry, write_metadata
from tests.helpers import write_video

LABELS = ["green", "idle", "red"]
SEQ, SIZE, INTERVAL, FPS = 8, 16, 0.1, 20.0
COLOURS = {"red": (40, 40, 220), "green": (40, 200, 40), "idle": (128, 128, 128)}  # BGR


def _colour_model():
    import keras

    inp = keras.Input((SEQ, SIZE, SIZE, 3), batch_size=1)
    x = keras.layers.GlobalAveragePooling3D()(inp)  # mean R, G, B in [0, 1]
    dense = keras.layers.Dense(3, activation="softmax")
    out = dense(x)
    # logits: green = 12(G - R), red = 12(R - G), idle = 2 (wins when R ~ G)
    w = np.array([[-12.0, 0.0, 12.0], [12.0, 0.0, -12.0], [0.0, 0.0, 0.0]], np.float32)
    dense.set_weights([w, np.array([0.0, 2.0, 0.0], np.float32)])
    return keras.Model(inp, out)


def build_colour_bundle(out: Path) -> Path:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(_colour_model())
    (out / "model.tflite").write_bytes(conv.convert())
    models = {"window": model_entry(out / "model.tflite", TensorInfo((1, SEQ, SIZE, SIZE, 3), "float32"),
                                    TensorInfo((1, 3), "float32"), ["MEAN", "FULLY_CONNECTED", "SOFTMAX"], "fp32")}
    meta = build_metadata(labels=LABELS, seq_len=SEQ, frame_size=SIZE, sampling_mode="interval",
                          interval_s=INTERVAL, quantization="fp32", models=models,
                          source={"model": "colour-test", "test_metrics": {}})
    write_metadata(out, meta)
    return out


def scenario(path: Path, segments: list[tuple[str, float]], fps: float = FPS) -> Path:
    rng = np.random.default_rng(0)
    frames = []
    for name, seconds in segments:
        for _ in range(round(seconds * fps)):
            f = np.full((48, 64, 3), COLOURS[name], np.uint8)
            frames.append(np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8))
    return write_video(path, frames, fps)
