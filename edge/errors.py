"""One base for every failure a user can cause and fix.

The CLIs turn a :class:`HarError` into one line, ``error: <message>``, and
exit code 2; anything else is a bug and keeps its traceback. Subclasses keep
their historical built-in bases (``ValueError``, ``OSError``) so callers that
catch those still work.
"""

from __future__ import annotations


class HarError(Exception):
    """A user-facing failure: bad input, a wrong file, an unreachable service. Its message is one sentence."""
