"""The seed LRCN: a per-frame CNN, an LSTM(32) over time, 73,060 parameters for 4 classes.

Besides the training graph, :func:`build_lrcn_encoder` builds the per-frame
CNN alone (one frame to its 64 features) with the same layer names, so
:func:`copy_weights_by_name` moves trained weights into it. The exporter
runs :func:`export_graphs`: the folded whole-window graph, and the streaming
split (that encoder, then the fused-LSTM head over its features).
"""

from __future__ import annotations

from har.models.registry import ExportSpec, InputSpec, register_model

SPEC = InputSpec()

CNN = ((16, 4, True), (32, 4, True), (64, 2, True), (64, 2, False))  # filters, pool, dropout
LSTM_UNITS = 32


def _cnn_layers():
    from keras import layers

    out = []
    for i, (filters, pool, dropout) in enumerate(CNN):
        out.append(layers.Conv2D(filters, (3, 3), padding="same", activation="relu", name=f"conv_{i}"))
        out.append(layers.MaxPooling2D((pool, pool), name=f"pool_{i}"))
        if dropout:
            out.append(layers.Dropout(0.25, name=f"dropout_{i}"))
    out.append(layers.Flatten(name="flatten"))
    return out


def build_lrcn(num_classes: int, seq_len: int = SPEC.seq_len, size: int = SPEC.size, time_distributed=None):
    """The training graph; ``time_distributed`` swaps the per-frame wrapper (Keras' own, to compare)."""
    import keras
    from keras import layers

    from har.models.keras_layers import FoldedTimeDistributed

    wrap = time_distributed or FoldedTimeDistributed  # frames folded into the batch: one call per layer, not 20
    inputs = keras.Input((seq_len, size, size, 3), name="frames")
    x = inputs
    for layer in _cnn_layers():
        x = wrap(layer, name=f"td_{layer.name}")(x)
    x = layers.LSTM(LSTM_UNITS, unroll=True, name="lstm")(x)  # fixed 20 steps: faster on CPU
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="lrcn")


def build_lrcn_encoder(size: int = SPEC.size):
    """One RGB frame -> its 64-value feature vector (batch 1)."""
    import keras

    inputs = keras.Input((size, size, 3), batch_size=1, name="frame")
    x = inputs
    for layer in _cnn_layers():
        x = layer(x)
    return keras.Model(inputs, x, name="lrcn_encoder")


def copy_weights_by_name(src, dst) -> None:
    """Copy weights from the training model into an export graph.

    Training wraps CNN layers in ``FoldedTimeDistributed(name="td_<layer>")``; export
    graphs use the bare layers. Matching is by the inner layer name.
    """
    by_name = {}
    for layer in src.layers:
        inner = getattr(layer, "layer", None)
        by_name[(inner or layer).name] = inner or layer
    for layer in dst.layers:
        if layer.weights:
            if layer.name not in by_name:
                raise KeyError(f"no weights for layer {layer.name!r} in {src.name}")
            layer.set_weights(by_name[layer.name].get_weights())


def export_graphs(src, num_classes: int, seq_len: int, size: int) -> dict:
    """``window``, ``encoder`` and ``head`` Keras models (batch 1) with the weights of ``src``.

    ``window`` folds the frames into the batch axis so the CNN runs once on
    all of them (per-frame TimeDistributed slicing makes 240 STRIDED_SLICE
    ops that LiteRT runs slowly and off XNNPACK), then one fused LSTM.
    """
    import keras

    from har.models.fused_lstm import dense_copy, fused_lstm_layer, lstm_head

    encoder = build_lrcn_encoder(size)
    copy_weights_by_name(src, encoder)
    features = int(encoder.output.shape[-1])
    src_lstm, src_dense = src.get_layer("lstm"), src.get_layer("probs")

    frames = keras.Input((seq_len, size, size, 3), batch_size=1, name="frames")
    x = keras.ops.reshape(frames, (seq_len, size, size, 3))  # time folded into the batch axis
    for layer in encoder.layers[1:]:
        x = layer(x)
    x = keras.ops.reshape(x, (1, seq_len, features))
    x = fused_lstm_layer(src_lstm)(x)
    dense = dense_copy(src_dense)
    window = keras.Model(frames, dense(x), name="lrcn_window")
    dense.set_weights(src_dense.get_weights())

    return {"window": window, "encoder": encoder, "head": lstm_head(src_lstm, src_dense, seq_len, features, "lrcn_head")}


register_model("lrcn", "Seed LRCN: TimeDistributed CNN + LSTM(32) (73,060 params at 4 classes)", build_lrcn, SPEC,
               seed_epochs=70, export=ExportSpec(("window", "encoder", "head"), export_graphs))
