"""Append events to a JSON-lines file, rotated by size.

Why JSON lines: one self-contained object per line survives a power cut (at
most the last line is torn), is trivially greppable and loads with
``pandas.read_json(lines=True)``. Rotation keeps an SD card from filling up.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from har.edge.events import Event
from har.edge.sinks.base import Sink

log = logging.getLogger(__name__)


class JsonlSink(Sink):
    """One JSON object per line per event, flushed after every write.

    Rotation works like ``logging.handlers.RotatingFileHandler``: when the next
    line would push the file past ``max_bytes``, ``path`` becomes ``path.1``,
    ``path.1`` becomes ``path.2`` and so on up to ``path.<backups>``; the oldest
    is deleted. ``max_bytes=0`` disables rotation; ``backups=0`` simply starts
    the file over. ``fsync=True`` also forces every line to disk (slower on SD cards).
    """

    def __init__(
        self, path: str | os.PathLike, max_bytes: int = 10_000_000, backups: int = 3, fsync: bool = False
    ):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0 (0 disables rotation), got {max_bytes}.")
        if backups < 0:
            raise ValueError(f"backups must be >= 0, got {backups}.")
        self.path = Path(path).expanduser()
        self.max_bytes = int(max_bytes)
        self.backups = int(backups)
        self.fsync = fsync
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the sink's lifetime

    def publish(self, event: Event) -> None:
        line = (event.to_json() + "\n").encode("utf-8")
        with self._lock:
            if self._file is None:
                raise RuntimeError(f"JsonlSink for {self.path} is stopped.")
            size = self._file.tell()
            if self.max_bytes and size and size + len(line) > self.max_bytes:
                self._rotate()
            self._file.write(line)
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())

    def _rotate(self) -> None:
        self._file.close()
        if self.backups:
            for i in range(self.backups - 1, 0, -1):
                src = self._backup(i)
                if src.exists():
                    os.replace(src, self._backup(i + 1))
            os.replace(self.path, self._backup(1))
        self._file = open(self.path, "wb")  # noqa: SIM115
        log.debug("rotated %s", self.path)

    def _backup(self, i: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{i}")

    def stop(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()
                if self.fsync:
                    os.fsync(self._file.fileno())
                self._file.close()
                self._file = None
