"""Append events to a JSON-lines file, rotated by size.

Why JSON lines: one self-contained object per line survives a power cut (at
most the last line is torn), is trivially greppable and loads with
``pandas.read_json(lines=True)``. Rotation keeps an SD card from filling up.

Each line goes to the file in one ``write`` on an ``O_APPEND`` descriptor; a
write that fails half way (a full disk) is cut back off and the event skipped
with a warning (MQTT has its own outbox; this file is a log), and a torn last line
left by a power cut or a crash is cut off when the file is next opened, so the
next event always starts on a line of its own.
"""

from __future__ import annotations

import errno
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
        self.failed = 0  # events skipped since the last successful write (full disk)
        self._fd: int | None = self._open()
        _cut_torn_tail(self._fd, self.path)

    def _open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)

    def publish(self, event: Event) -> None:
        line = (event.to_json() + "\n").encode("utf-8")
        with self._lock:
            if self._fd is None:
                raise RuntimeError(f"JsonlSink for {self.path} is stopped.")
            size = os.fstat(self._fd).st_size
            if self.max_bytes and size and size + len(line) > self.max_bytes:
                self._rotate()
                size = 0
            try:
                written = os.write(self._fd, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, f"short write ({written} of {len(line)} bytes)")
                if self.fsync:
                    os.fsync(self._fd)
            except OSError as e:
                try:  # leave no partial line behind for the next event to be glued onto
                    os.ftruncate(self._fd, size)
                except OSError:
                    pass
                self.failed += 1
                if self.failed == 1:
                    log.warning("cannot write events to %s (%s); skipping lines until it works again",
                                self.path, e.strerror or e)
                return
            if self.failed:
                log.info("writing events to %s again; %d were skipped", self.path, self.failed)
                self.failed = 0

    def _rotate(self) -> None:
        os.close(self._fd)
        if self.backups:
            for i in range(self.backups - 1, 0, -1):
                src = self._backup(i)
                if src.exists():
                    os.replace(src, self._backup(i + 1))
            os.replace(self.path, self._backup(1))
        else:
            self.path.unlink()
        self._fd = self._open()
        log.debug("rotated %s", self.path)

    def _backup(self, i: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{i}")

    def stop(self) -> None:
        with self._lock:
            if self._fd is not None:
                if self.fsync:
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None


def _cut_torn_tail(fd: int, path: Path) -> None:
    """Cut a last line that has no newline (a write torn by a power cut) so the next one starts clean."""
    size = os.fstat(fd).st_size
    if not size or os.pread(fd, 1, size - 1) == b"\n":
        return
    keep = size
    while keep > 0:  # back to just after the last newline
        chunk = os.pread(fd, min(keep, 65536), max(0, keep - 65536))
        nl = chunk.rfind(b"\n")
        if nl >= 0:
            keep = keep - len(chunk) + nl + 1
            break
        keep -= len(chunk)
    os.ftruncate(fd, keep)
    log.warning("%s ended in a torn line (%d bytes, from a crash or power cut); cut it off", path, size - keep)
