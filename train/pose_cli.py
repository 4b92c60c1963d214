"""``har models fetch pose``: mounted on the ``har`` app by :func:`register`.

The command itself lives in :mod:`har.edge.pose.cli` so that ``har-edge`` on a
device without TensorFlow offers the very same one.
"""

from __future__ import annotations

from har.edge.pose.cli import register

__all__ = ["register"]
