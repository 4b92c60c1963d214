"""The seed ConvLSTM: four ConvLSTM2D blocks, 44,524 parameters for 4 classes.

``export_graph=True`` builds the same weights in a form the TFLite converter
handles with builtin ops only: batch 1, unrolled recurrence, and
``TimeDistributed(MaxPooling2D)`` in place of ``MaxPooling3D((1, 2, 2))``
(identical maths, but MaxPool3D has no TFLite builtin).
"""

from __future__ import annotations

from har.models.registry import ExportSpec, InputSpec, register_model

SPEC = InputSpec()

FILTERS = (4, 8, 14, 16)


def build_convlstm(num_classes: int, seq_len: int = SPEC.seq_len, size: int = SPEC.size, export_graph: bool = False):
    import keras
    from keras import layers

    batch = 1 if export_graph else None
    inputs = keras.Input((seq_len, size, size, 3), batch_size=batch, name="frames")
    x = inputs
    for i, filters in enumerate(FILTERS):
        x = layers.ConvLSTM2D(
            filters,
            (3, 3),
            activation="tanh",
            data_format="channels_last",
            recurrent_dropout=0.2,
            return_sequences=True,
            unroll=True,  # 20 fixed steps: ~4-5x faster to train on CPU than the while loop
            name=f"conv_lstm2d_{i}",
        )(x)
        if export_graph:
            x = layers.TimeDistributed(
                layers.MaxPooling2D((2, 2), padding="same"), name=f"max_pooling3d_{i}"
            )(x)
        else:
            x = layers.MaxPooling3D((1, 2, 2), padding="same", name=f"max_pooling3d_{i}")(x)
        if i < len(FILTERS) - 1:
            x = layers.TimeDistributed(layers.Dropout(0.2), name=f"dropout_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="convlstm")


def export_graphs(src, num_classes: int, seq_len: int, size: int) -> dict:
    """The ``window`` graph (batch 1, unrolled, TimeDistributed pooling) with the weights of ``src``.

    Recurrent dropout only acts in training, yet Keras 3 traces its seed
    generator into the inference graph as resource variables (VAR_HANDLE,
    READ_VARIABLE, ASSIGN_VARIABLE): the export copy sets it to zero.
    """
    window = build_convlstm(num_classes, seq_len, size, export_graph=True)
    window.set_weights(src.get_weights())
    for layer in window.layers:
        if hasattr(layer, "cell"):
            layer.cell.recurrent_dropout = 0.0
    return {"window": window}


register_model("convlstm", "Seed ConvLSTM2D 4-8-14-16 (44,524 params at 4 classes)", build_convlstm, SPEC,
               seed_epochs=50, export=ExportSpec(("window",), export_graphs))
