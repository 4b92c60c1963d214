"""The one error of the export side: an export that cannot be done, said in one sentence."""

from __future__ import annotations

from har.edge.errors import HarError


class ExportError(HarError, ValueError):
    """An export that cannot be done; the message is one sentence saying why."""
