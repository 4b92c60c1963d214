"""An epoch bar for Keras training on a terminal (rich), instead of Keras's per-epoch log lines.

Off a terminal (CI, a log file) Keras keeps ``verbose=2``: one line per epoch,
which reads well in a log.
"""

from __future__ import annotations

import keras

from har.edge.progress import steps, wanted


class EpochBar(keras.callbacks.Callback):
    """Advances one step per epoch and shows the latest loss and validation accuracy."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs
        self._ctx = None
        self._advance = None

    def on_train_begin(self, logs=None):
        self._ctx = steps("training", self.epochs, enabled=True)
        self._advance = self._ctx.__enter__()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        note = " ".join(f"{k} {v:.3f}" for k, v in logs.items() if k in ("loss", "val_loss", "val_accuracy"))
        self._advance(1, f"(epoch {epoch + 1}: {note})" if note else None)

    def on_train_end(self, logs=None):
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = None


def with_bar(callbacks: list, epochs: int) -> tuple[list, int]:
    """(callbacks, verbose) for ``model.fit``: the bar on a terminal, Keras's own lines elsewhere."""
    if wanted():
        return [*callbacks, EpochBar(epochs)], 0
    return callbacks, 2
