"""One base for every failure a user can cause and fix.

The CLIs turn a :class:`HarError` into one line, ``error: <message>``, and
exit code 2; anything else is a bug and keeps its traceback. Subclasses keep
their historical built-in bases (``ValueError``, ``OSError``) so callers that
catch those still work.
"""

from __future__ import annotations


class HarError(Exception):
    """A user-facing failure: bad input, a wrong file, an unreachable service. Its message is one sentence."""


class UsageError(HarError):
    """A command line a command cannot act on: a bad flag combination or a value out of range."""


def first_line(e: BaseException, limit: int = 200) -> str:
    """The first line of a third-party exception's text, cut to ``limit``: enough to quote in one sentence."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:limit]
