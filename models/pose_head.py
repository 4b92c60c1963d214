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

from har.models.registry import ExportSpec, InputSpec, register_model

SPEC = InputSpec(encoder="pose", clips_per_video=12)  # keypoint windows are cheap: many per video

LSTM_UNITS = 64
DROPOUT = 0.3


def build_pose_lstm(num_classes: int, seq_len: int = SPEC.seq_len, size: int | None = None, feature_dim: int | None = None,
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


def export_graphs(src, num_classes: int, seq_len: int, size: int | None = None) -> dict:
    """The ``head`` graph (batch 1, fused LSTM); dropout is an identity at inference. The export gives every
    head its penultimate layer as a second output (har.export.head_embedding)."""
    from har.models.fused_lstm import lstm_head

    features = int(src.input_shape[-1])
    return {"head": lstm_head(src.get_layer("lstm"), src.get_layer("probs"), seq_len, features, "pose_head")}


register_model("pose_lstm", "Pose head: LSTM(64) + dropout + softmax over per-frame keypoint features",
               build_pose_lstm, SPEC, seed_epochs=50, export=ExportSpec(("head",), export_graphs))
