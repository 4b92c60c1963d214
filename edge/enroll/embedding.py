"""The embedding of the window a classifier just classified, from wherever the bundle keeps it.

Why one place: a bundle exported by this version gives the embedding as the
head's second output, read from the invocation that just classified the
window (no second pass); an older bundle has ``embed.tflite``, a second
model run on the features the head just read. Enrolment, the live
classifier, the evaluation and the benchmark all take it from here, so they
measure what the device does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from har.edge.bundle import Bundle


def window_embedder(bundle: Bundle, classifier) -> Callable[[], np.ndarray]:
    """A function giving the embedding of ``classifier``'s latest ``classify`` (a :class:`~har.edge.pipeline.Classifier`).

    Call it right after ``classify`` and only when that window had enough of
    a person (``enough_poses``): otherwise the head did not run.
    """
    if bundle.head_embeds:
        return lambda: classifier.last_embedding
    from har.edge.interpreter import TfliteModel

    embed = TfliteModel(bundle.model_file("embed"), threads=1)
    return lambda: embed.run(classifier.last_input)


def where(bundle: Bundle) -> str:
    """Where the bundle's embedding comes from, for ``info`` and ``--list``."""
    return "the head's second output" if bundle.head_embeds else "embed.tflite, a second pass over the window"
