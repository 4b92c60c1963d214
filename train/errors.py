"""The training side's error for a user mistake that is not a bad config key, a dataset or a video.

A subclass of :class:`har.edge.errors.HarError`, so the ``har`` CLI prints it
as ``error: ...`` and exits 2 (``har.edge.clierrors.HarGroup``); it stays a
``ValueError`` for callers that catch that.
"""

from __future__ import annotations

from har.edge.errors import HarError


class TrainError(HarError, ValueError):
    """A training request that cannot run as asked; the message says why and what to do."""
