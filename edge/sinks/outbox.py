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

What survives what (tested in tests/edge/test_robustness.py; see docs/robustness.md):

* a crash or SIGKILL, even in the middle of a write: every event whose
  :meth:`Outbox.put` returned is there, in order; a half-written transaction
  is rolled back by SQLite on the next open;
* a power cut: the same, as ``synchronous=FULL`` fsyncs the WAL on every
  commit; a torn WAL tail is ignored by SQLite's checksums;
* a corrupt database (a damaged SD card, a file truncated by hand): it is
  moved aside as ``<path>.corrupt-<time>``, whatever rows can still be read
  are copied into a fresh outbox, and a warning names both files;
* a full disk: :meth:`Outbox.put` keeps the event in memory (in order, after
  those already queued) and writes it as soon as a later write succeeds; a
  warning says so. Only events that arrive while the disk is full and are
  still in memory when the process dies are lost.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path
from typing import NamedTuple

from har.edge.errors import HarError

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


log = logging.getLogger(__name__)
_CORRUPT = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_FULL = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR}


class OutboxError(HarError, OSError):
    """An outbox that cannot be used: a directory, not writable, or held by another process."""


def _is_full(e: BaseException) -> bool:
    """A write that failed for lack of space (or an I/O error): worth retrying later, not a bug."""
    if isinstance(e, sqlite3.DatabaseError):
        return (getattr(e, "sqlite_errorcode", 0) & 0xFF) in _FULL
    return isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO)


_INSERT = ("INSERT OR IGNORE INTO outbox (event_id, topic, payload, qos, retain, created) "
           "VALUES (?, ?, ?, ?, ?, ?)")


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
        if self.path.is_dir():
            raise OutboxError(f"outbox path {self.path} is a directory; set mqtt.outbox_path to a file in it, "
                              f"e.g. {self.path / 'outbox.sqlite3'}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutboxError(f"cannot create the outbox folder {self.path.parent}: {e.strerror}") from None
        self._lock = threading.Lock()
        self._backlog: deque[tuple] = deque()  # rows waiting for disk space, oldest first
        self._lock_file = _acquire_process_lock(self.path)
        try:
            try:
                self._db: sqlite3.Connection | None = self._open()
            except sqlite3.DatabaseError as e:
                if (getattr(e, "sqlite_errorcode", 0) & 0xFF) not in _CORRUPT:
                    raise
                self._db = self._replace_corrupt(e)
        except sqlite3.Error as e:
            self._release_process_lock()
            raise OutboxError(f"cannot open the outbox {self.path}: {e}") from None
        except BaseException:
            self._release_process_lock()
            raise

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=5.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(_SCHEMA)
            problems = [r[0] for r in db.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                err = sqlite3.DatabaseError(f"quick_check: {'; '.join(problems[:3])}")
                err.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
                raise err
        except BaseException:
            db.close()
            raise
        return db

    def _replace_corrupt(self, why: Exception) -> sqlite3.Connection:
        """Move a corrupt outbox aside, start a fresh one, and copy every row that can still be read."""
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                os.replace(src, f"{aside}{suffix}")
        rows = _salvage(aside)
        db = self._open()
        db.executemany(_INSERT, rows)
        log.warning("outbox %s was corrupt (%s); moved it to %s and started a fresh one with the %d events "
                    "that could still be read", self.path, why, aside, len(rows))
        return db

    def put(
        self, event_id: str, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> bool:
        """Queue a message. Idempotent on ``event_id``: returns False if it was already queued.

        On a full disk the message waits in memory, after any earlier ones, and
        is written by the next call that finds space (see the module docstring).
        """
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        row = (event_id, topic, sqlite3.Binary(payload), int(qos), int(bool(retain)), time.time())
        with self._lock:
            db = self._conn()
            if self._backlog:  # the disk was full: catch up first, so order is kept
                self._write_backlog(db)
            if self._backlog:
                if any(r[0] == event_id for r in self._backlog):
                    return False
                self._backlog.append(row)
                return True
            try:
                cur = db.execute(_INSERT, row)
            except (sqlite3.DatabaseError, OSError) as e:
                if not _is_full(e):
                    raise
                self._backlog.append(row)
                log.warning("outbox %s cannot be written (%s); events wait in memory until there is space",
                            self.path, e)
                return True
            return cur.rowcount == 1

    def _write_backlog(self, db: sqlite3.Connection) -> None:
        """Write the rows that waited for space, oldest first; stop at the first write that still fails."""
        while self._backlog:
            try:
                db.execute(_INSERT, self._backlog[0])
            except (sqlite3.DatabaseError, OSError) as e:
                if not _is_full(e):
                    raise
                return
            self._backlog.popleft()
            if not self._backlog:
                log.info("outbox %s is writable again; the events that waited in memory are queued", self.path)

    def peek(self, n: int = 1, after_seq: int = 0) -> list[OutboxItem]:
        """The oldest ``n`` messages (with ``seq > after_seq``), in insertion order, without removing them."""
        with self._lock:
            if self._backlog:
                self._write_backlog(self._conn())
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
            try:
                cur = self._conn().execute("DELETE FROM outbox WHERE event_id = ?", (event_id,))
            except (sqlite3.DatabaseError, OSError) as e:
                if not _is_full(e):
                    raise
                return False  # stays queued and is sent again later: at least once, never lost
            return cur.rowcount == 1

    def __len__(self) -> int:
        """Messages waiting: queued on disk plus any waiting in memory for disk space."""
        with self._lock:
            return self._conn().execute("SELECT COUNT(*) FROM outbox").fetchone()[0] + len(self._backlog)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                if self._backlog:
                    self._write_backlog(self._db)
                if self._backlog:
                    log.error("outbox %s: the disk is still full; %d events that waited in memory are lost",
                              self.path, len(self._backlog))
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
    try:
        f = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 - held until close()
    except OSError as e:
        raise OutboxError(f"cannot create the outbox lock file {path}.lock: {e.strerror}") from None
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise OutboxError(
            f"outbox {path} is already in use by another har-edge; give each instance its own mqtt.outbox_path"
        ) from None
    return f


def _salvage(path: Path) -> list[tuple]:
    """Every outbox row that can still be read from a damaged database, in order; [] if none."""
    rows: list[tuple] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return rows
    try:
        last = -1
        while True:  # row by row, so one bad page costs only the rows on it
            try:
                r = db.execute("SELECT seq, event_id, topic, payload, qos, retain, created FROM outbox "
                               "WHERE seq > ? ORDER BY seq LIMIT 1", (last,)).fetchone()
            except sqlite3.Error:
                break
            if r is None:
                break
            last = r[0]
            rows.append(r[1:])
    finally:
        db.close()
    return rows
