"""Export-graph pieces shared by the LSTM families: a fused LSTM layer, the head and the embedding.

The LRCN's streaming head and the pose head are the same graph (fused LSTM +
dense softmax over per-frame features), and both families export the LSTM's
last state as their embedding; these builders run in the conversion worker
(``har.export.convert_worker``), the only process that imports TensorFlow.
"""

from __future__ import annotations

import uuid

import numpy as np


class ExportGraphError(ValueError):
    """A trained model whose layers the export graph cannot reproduce; the message says which and why."""


def fused_lstm_layer(src_lstm, name: str = "lstm"):
    """A Keras layer the converter turns into one UNIDIRECTIONAL_SEQUENCE_LSTM op.

    The TFLite converter fuses a function that carries the attributes Keras 2
    gave its LSTM (``api_implements="lstm_<id>"``, ``time_major``,
    ``go_backwards``) and the Keras 2 ``standard_lstm`` signature
    ``(inputs, init_h, init_c, kernel, recurrent_kernel, bias) -> (last,
    outputs, h, c, runtime)``; Keras 3 no longer emits it. The body below is
    only what TensorFlow runs (for calibration); the converter replaces it.
    Weights enter as constants: passed as variables the converter crashes.
    """
    import keras
    import tensorflow as tf

    cfg = src_lstm.get_config()
    unsupported = {k: cfg.get(k) for k, ok in (("activation", "tanh"), ("recurrent_activation", "sigmoid"))
                   if cfg.get(k) != ok}
    for flag in ("go_backwards", "return_sequences", "stateful"):
        if cfg.get(flag):
            unsupported[flag] = True
    if not cfg.get("use_bias", True):
        unsupported["use_bias"] = False
    if unsupported:
        raise ExportGraphError(f"the LSTM layer {src_lstm.name!r} uses {unsupported}, which the fused TFLite LSTM "
                          "does not support; train with the default LSTM settings")
    kernel, recurrent, bias = (np.asarray(w, np.float32) for w in src_lstm.get_weights())
    units = recurrent.shape[0]

    def standard_lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias):
        h, c = init_h, init_c
        for t in range(inputs.shape[1]):
            z = tf.matmul(inputs[:, t], kernel) + tf.matmul(h, recurrent_kernel) + bias
            i, f, g, o = tf.split(z, 4, axis=1)  # Keras gate order
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
        return h, h[:, None], h, c, tf.constant(0.0)

    fused = tf.function(standard_lstm, autograph=False, experimental_attributes={
        "api_implements": f"lstm_{uuid.uuid4().hex}", "api_preferred_device": "CPU",
        "time_major": False, "go_backwards": False})

    class FusedLSTM(keras.layers.Layer):
        def compute_output_shape(self, input_shape):
            return (input_shape[0], units)

        def call(self, x):
            zeros = tf.zeros((x.shape[0], units))
            last, *_ = fused(x, zeros, zeros, tf.constant(kernel), tf.constant(recurrent), tf.constant(bias))
            return last

    return FusedLSTM(name=name)


def dense_copy(src_dense):
    import keras

    cfg = src_dense.get_config()
    return keras.layers.Dense(cfg["units"], activation=cfg["activation"], name=src_dense.name)


def lstm_head(src_lstm, src_dense, seq_len: int, features: int, name: str):
    """``(1, seq_len, features)`` -> class probabilities: fused LSTM + dense, with the weights of the sources."""
    import keras

    feats = keras.Input((seq_len, features), batch_size=1, name="features")
    head_dense = dense_copy(src_dense)
    head = keras.Model(feats, head_dense(fused_lstm_layer(src_lstm)(feats)), name=name)
    head_dense.set_weights(src_dense.get_weights())
    return head
