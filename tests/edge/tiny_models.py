"""Tiny real TFLite models (Keras, converted) with the tensor shapes the bundle tests write.

A bundle now refuses model files whose real tensors differ from its
metadata.json, so bundle tests need real models; these are the smallest that
have the right inputs and outputs: a pooling layer and a dense layer each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from har.edge.bundle import MODEL_FILES, Bundle, build_metadata, model_entry, write_metadata
from har.edge.interpreter import model_tensors

SEQ, SIZE, FEATURES, CLASSES, POSE_FEATURES = 20, 64, 64, 3, 104
LABELS = ["idle", "wave", "jump"]
TINY_NAMES = ("window", "encoder", "head", "pose_head")


def _convert(model, int8: bool = False) -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        rng = np.random.default_rng(0)
        shape = tuple(model.inputs[0].shape)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([rng.uniform(0, 1, shape).astype(np.float32)] for _ in range(4))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def _model(shape: tuple[int, ...], units: int, softmax: bool):
    import keras

    inp = keras.Input(shape, batch_size=1)
    pool = {4: keras.layers.GlobalAveragePooling3D, 3: keras.layers.GlobalAveragePooling2D,
            2: keras.layers.GlobalAveragePooling1D}[len(shape)]
    out = keras.layers.Dense(units, activation="softmax" if softmax else "relu")(pool()(inp))
    return keras.Model(inp, out)


def build_tiny_models(out: Path) -> dict[str, Path]:
    """``window`` (int8, 20x64x64x3 -> 3), ``encoder`` (64x64x3 -> 64), ``head`` (20x64 -> 3), ``pose_head`` (20x104 -> 3)."""
    specs = {"window": ((SEQ, SIZE, SIZE, 3), CLASSES, True, True),
             "encoder": ((SIZE, SIZE, 3), FEATURES, False, False),
             "head": ((SEQ, FEATURES), CLASSES, True, False),
             "pose_head": ((SEQ, POSE_FEATURES), CLASSES, True, False)}
    paths = {}
    for name, (shape, units, softmax, int8) in specs.items():
        paths[name] = out / f"{name}.tflite"
        paths[name].write_bytes(_convert(_model(shape, units, softmax), int8))
    return paths


def write_tiny_bundle(path: Path, tiny: dict[str, Path], streaming: bool = True, mode: str = "interval") -> Bundle:
    """A pixel bundle of the tiny real models, described exactly as ``har export`` describes its models."""
    path.mkdir(parents=True, exist_ok=True)
    names = ("window", "encoder", "head") if streaming else ("window",)
    models = {}
    for name in names:
        f = path / MODEL_FILES[name]
        shutil.copyfile(tiny[name], f)
        (inp,), (out,) = model_tensors(f)
        models[name] = model_entry(f, inp, out, ["MEAN", "FULLY_CONNECTED", "SOFTMAX"],
                                   "int8" if name == "window" else "fp32")
    meta = build_metadata(labels=LABELS, seq_len=SEQ, frame_size=SIZE, sampling_mode=mode,
                          interval_s=0.1, quantization="int8", models=models,
                          source={"model": "lrcn", "test_metrics": {"test_accuracy": 0.9, "macro_f1": 0.88}})
    return write_metadata(path, meta)
