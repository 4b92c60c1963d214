"""The one root folder of every har cache (videos, pose models, decoded clips).

Three modules keep files under it; one helper keeps them agreeing on where
it is. ``$XDG_CACHE_HOME`` is honoured only when set and non-empty (an empty
value means unset in the XDG spec), else ``~/.cache``.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/har``, or ``~/.cache/har`` when that variable is unset or empty."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "har"
