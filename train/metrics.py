"""Training's evaluation figures; the per-split metrics themselves live in :mod:`har.models.metrics`.

Why there: ``har export`` and ``har bench`` score variants with the same
function, and export never imports training code.
"""

from __future__ import annotations

from har.models.metrics import classification_metrics, confusion

__all__ = ["classification_metrics", "confusion"]
