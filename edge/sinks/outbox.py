"""A durable FIFO of messages waiting for a broker acknowledgement.

Why SQLite: a Pi loses power and Wi-Fi. Events written here survive both a
crash and a reboot, and the MQTT sink deletes a row only after the broker
acknowledged it, so nothing acknowledged is sent again by this device and
nothing unacknowledged is lost. WAL mode keeps writers (the detection loop)
and the deleter (the MQTT thread) from blocking each other for long, and
``synchronous=FULL`` makes each committed event survive a power cut (events
are rare, so the fsync cost does not matter).

One process at a time: on POSIX an advisory lock on ``<path>.lock`` makes a
second process fail with a clear error instead of sending everything twice.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import NamedTuple

try:  # POSIX only; elsewhere the single-process rule is just documented
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT    NOT NULL UNIQUE,
    topic    TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    qos      INTEGER NOT NULL,
    retain   INTEGER NOT NULL,
    created  REAL    NOT NULL
)
"""


class OutboxItem(NamedTuple):
    seq: int
    event_id: str
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float


class Outbox:
    """Thread-safe: one connection guarded by a lock (the MQTT network side acks)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._lock_file = _acquire_process_lock(self.path)
        try:
            self._db: sqlite3.Connection | None = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=5.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except BaseException:
            self._release_process_lock()
            raise

    def put(
        self, event_id: str, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> bool:
        """Queue a message. Idempotent on ``event_id``: returns False if it was already queued."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        with self._lock:
            cur = self._conn().execute(
                "INSERT OR IGNORE INTO outbox (event_id, topic, payload, qos, retain, created) VALUES (?, ?, ?, ?, ?, ?)",
                (event_id, topic, sqlite3.Binary(payload), int(qos), int(bool(retain)), time.time()),
            )
            return cur.rowcount == 1

    def peek(self, n: int = 1, after_seq: int = 0) -> list[OutboxItem]:
        """The oldest ``n`` messages (with ``seq > after_seq``), in insertion order, without removing them."""
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT seq, event_id, topic, payload, qos, retain, created FROM outbox "
                    "WHERE seq > ? ORDER BY seq LIMIT ?",
                    (int(after_seq), int(n)),
                )
                .fetchall()
            )
        return [OutboxItem(r[0], r[1], r[2], bytes(r[3]), r[4], bool(r[5]), r[6]) for r in rows]

    def ack(self, event_id: str) -> bool:
        """Delete a delivered message. Returns False if it was not (or no longer) queued."""
        with self._lock:
            cur = self._conn().execute("DELETE FROM outbox WHERE event_id = ?", (event_id,))
            return cur.rowcount == 1

    def __len__(self) -> int:
        with self._lock:
            return self._conn().execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
                self._release_process_lock()

    @property
    def closed(self) -> bool:
        return self._db is None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"Outbox {self.path} is closed.")
        return self._db

    def _release_process_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing drops the flock
            self._lock_file = None


def _acquire_process_lock(path: Path):
    if fcntl is None:
        return None
    f = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise RuntimeError(
            f"Outbox {path} is already in use (another process or sink has it open); give each har-edge instance its own outbox_path."
        ) from None
    return f
