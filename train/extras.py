"""``har`` on a device install: a command that needs TensorFlow says so in one line instead of a traceback.

Why: the base install (``pip install har-edge``) is the edge runtime, with no
TensorFlow, Keras or matplotlib; ``har`` is still on PATH, and a user who runs
``har train`` there should learn which extra to install, not read a
``ModuleNotFoundError`` 38 lines deep.
"""

from __future__ import annotations

import typer

from har.edge.clierrors import HarGroup
from har.edge.cliutil import echo_error

#: Top-level modules only the [train] extra installs.
TRAIN_ONLY = {"tensorflow", "keras", "tf_keras", "matplotlib", "yaml", "tensorflow_cpu"}


def missing_train_module(e: BaseException) -> str | None:
    """The [train]-only module ``e`` failed to import, or None when it is something else."""
    if isinstance(e, ModuleNotFoundError) and e.name and e.name.split(".")[0] in TRAIN_ONLY:
        return e.name.split(".")[0]
    return None


class TrainGroup(HarGroup):
    """HarGroup, plus: a missing TensorFlow/Keras/matplotlib is "needs the [train] extra" and exit 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as e:
            name = missing_train_module(e)
            if name is None:
                raise
            echo_error(f"this command needs the [train] extra ({name} is not installed): "
                       "pip install 'har-edge[train]', or use har-edge on a device")
            raise typer.Exit(2) from None
