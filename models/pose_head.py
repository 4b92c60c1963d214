"""A tiny classifier over pose keypoint features: the person-invariant path (issue 7).

The pixel models learn what the people in the training videos look like and
fail on new ones. This head never sees a pixel: its input is one feature
vector per sampled frame, computed from 33 body keypoints by
``har.edge.pose.features`` (on the device and in training alike), so
clothing, skin, lighting and background cannot leak into it.

``pose_lstm`` is LSTM(64) + dropout + softmax, about 40k parameters: the
keypoint estimator does the heavy lifting, the head only reads motion. Its
LSTM keeps Keras' default activations, so the exporter can fuse it into one
``UNIDIRECTIONAL_SEQUENCE_LSTM`` op (``har.export.convert_worker``).

The feature length is not fixed here (``models`` imports only Keras): the
trainer passes ``feature_dim`` from ``har.edge.pose.features.FEATURE_DIM``.
"""

from __future__ import annotations

from har.models.registry import InputSpec, register_model

LSTM_UNITS = 64
DROPOUT = 0.3


@register_model("pose_lstm", "Pose head: LSTM(64) + dropout + softmax over per-frame keypoint features",
                InputSpec(seq_len=20, encoder="pose"))
def build_pose_lstm(num_classes: int, seq_len: int = 20, size: int | None = None, feature_dim: int | None = None,
                    units: int = LSTM_UNITS, dropout: float = DROPOUT):
    """``(seq_len, feature_dim)`` keypoint features -> class probabilities. ``size`` is unused (no frames)."""
    import keras
    from keras import layers

    if not feature_dim:
        raise ValueError("pose_lstm needs feature_dim (har.edge.pose.features.FEATURE_DIM)")
    inputs = keras.Input((seq_len, feature_dim), name="features")
    x = layers.LSTM(units, unroll=True, name="lstm")(inputs)  # fixed 20 steps: faster on CPU
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="pose_lstm")
