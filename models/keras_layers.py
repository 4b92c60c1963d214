"""The one custom Keras layer the families use, and the loader that knows it.

Why: Keras 3's ``TimeDistributed`` runs its layer once per time step when the
time axis is static (a Python loop of 20 convolutions on batch-size tensors,
then a stack). For the LRCN's CNN that made a training step 7x slower than
running the layer once on every frame (``tools/time_distributed_bench.py``). :class:`FoldedTimeDistributed` folds
time into the batch axis instead, the way ``export_graphs`` already does:
the same layer, the same weights, the same outputs.

A ``model.keras`` that uses it loads only where it is registered, so every
reader goes through :func:`load_model`.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="har")
class FoldedTimeDistributed(keras.layers.TimeDistributed):
    """``TimeDistributed`` for layers that treat each frame on its own: one call on ``(B*T, ...)``.

    Only for frame-wise layers (convolution, pooling, dropout, flatten); not
    for masks, which the LRCN never uses.
    """

    def call(self, inputs, training=None, mask=None):
        if mask is not None:
            raise ValueError(f"{self.name} folds time into the batch and takes no mask")
        kwargs = {"training": training} if self.layer._call_has_training_arg else {}
        y = self.layer.call(ops.reshape(inputs, (-1, *inputs.shape[2:])), **kwargs)
        return ops.reshape(y, (ops.shape(inputs)[0], inputs.shape[1], *y.shape[1:]))


def load_model(path: str | Path):
    """``keras.models.load_model`` (uncompiled) with har's layers registered."""
    return keras.models.load_model(Path(path), compile=False)
