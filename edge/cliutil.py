"""Habits both CLIs share: ``--version``, ``-v`` anywhere, ``NO_COLOR``, journald-friendly log lines.

Why here: ``har`` and ``har-edge`` should behave the same at the terminal and
under systemd, and each rule is a few lines that are easy to get subtly
different in two places.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

VERBOSE_FLAGS = ("-v", "--verbose")


def no_color() -> bool:
    """https://no-color.org: any non-empty NO_COLOR turns colour off."""
    return bool(os.environ.get("NO_COLOR"))


def echo_error(message: str) -> None:
    """``error: message`` on stderr, red on a terminal unless NO_COLOR is set."""
    if no_color():
        typer.echo(f"error: {message}", err=True)
    else:
        typer.secho(f"error: {message}", fg="red", err=True)


def hoist_verbose(argv: list[str]) -> list[str]:
    """Move ``-v``/``--verbose`` given after the subcommand to the front, where the root option reads it.

    ``har-edge run -v`` then means what ``har-edge -v run`` means. Nothing after ``--`` is touched.
    """
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in VERBOSE_FLAGS]
    if not flags:
        return argv
    rest = [a for a in argv[:end] if a not in VERBOSE_FLAGS]
    return flags[:1] + rest + argv[end:]


def setup_logging(verbose: bool) -> None:
    """INFO (DEBUG with -v) on stderr; under journald without our own timestamp (the journal adds one)."""
    from har.edge.systemd import under_journald

    fmt = "%(levelname)s %(name)s: %(message)s" if under_journald() else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt, stream=sys.stderr)


def version_option(prog: str):
    """A ``--version`` option that prints ``<prog> <version>`` and exits."""
    from har.edge import __version__

    def show(value: bool) -> None:
        if value:
            typer.echo(f"{prog} {__version__}")
            raise typer.Exit()

    return typer.Option("--version", callback=show, is_eager=True, help="Show the version and exit.")
