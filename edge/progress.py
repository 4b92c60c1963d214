"""Progress bars for the long steps (downloads, TFLite export, training epochs), drawn by rich.

Why one module: every bar goes to stderr, only on a terminal (a log file or
journald gets no carriage-return noise), and rich honours NO_COLOR itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


def wanted(enabled: bool | None = None) -> bool:
    """``enabled`` when given, else whether stderr is a terminal."""
    if enabled is not None:
        return enabled
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _console() -> Console:
    return Console(stderr=True)


class ByteBar:
    """Bytes of one download: ``update(done, total)`` as data arrives, ``close()`` at the end."""

    def __init__(self, label: str, enabled: bool | None = None):
        self.enabled = wanted(enabled)
        self._progress = None
        if self.enabled:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                      TransferSpeedColumn(), TimeRemainingColumn(), console=_console(),
                                      transient=False)
            self._task = self._progress.add_task(label, total=None)
            self._progress.start()

    def update(self, done: int, total: int | None, force: bool = False) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total)
            if force:
                self._progress.refresh()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@contextmanager
def steps(label: str, total: int | None, enabled: bool | None = None) -> Iterator:
    """A bar of ``total`` steps; yields ``advance(n=1, note=None)``. Does nothing off a terminal."""
    if not wanted(enabled):
        yield lambda n=1, note=None: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=_console()) as progress:
        task = progress.add_task(label, total=total)

        def advance(n: int = 1, note: str | None = None) -> None:
            progress.update(task, advance=n, description=f"{label} {note}" if note else label)

        yield advance
