"""The one place both CLIs turn a :class:`~har.edge.errors.HarError` into ``error: <message>`` and exit 2.

Why a click group and not a try/except in ``main()``: the group wraps every
command however it is invoked (the console script, ``python -m``, typer's
``CliRunner`` in tests), so no command needs its own catch list, and an
exception that is not a HarError is a bug that keeps its traceback.
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from har.edge.cliutil import echo_error
from har.edge.errors import HarError


class HarGroup(TyperGroup):
    """A typer group whose commands report a HarError as one red line on stderr and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HarError as e:
            echo_error(str(e))  # red on a terminal unless NO_COLOR is set
            raise typer.Exit(2) from None
