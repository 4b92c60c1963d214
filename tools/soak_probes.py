"""What the soak measures of a running har-edge: its process, its outbox, its metrics and its JSON lines.

Each probe reads from outside the process (/proc, the SQLite file read-only,
the Prometheus endpoint, the JSON-lines files), so measuring does not change
what is measured. A probe that cannot read returns -1 rather than failing:
a sample taken while the process restarts a file should not end the soak.
"""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.request
from pathlib import Path


class JsonlTail:
    """Event ids (not state) in the JSON-lines file and its rotations, in the order written."""

    def __init__(self, path: Path):
        self.path = path

    def ids(self) -> list[str]:
        files = sorted(self.path.parent.glob(self.path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
        out = []
        for p in [*files, self.path]:
            if not p.exists():
                continue
            for line in p.read_bytes().splitlines():
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("kind") != "state":
                    out.append(ev["event_id"])
        return out


def proc_stats(pid: int) -> tuple[int, int, int]:
    """(RSS in kB, threads, open file descriptors) from /proc."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads, len(os.listdir(f"/proc/{pid}/fd"))


def outbox_stats(path: Path) -> tuple[int, int]:
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    if not path.exists():
        return 0, size
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0) as db:
            return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0], size
    except sqlite3.Error:
        return -1, size


def scrape_frames(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("har_edge_frames_total "):  # a counter: exposed with _total
                    return int(float(line.split()[1]))
    except OSError:
        pass
    return -1
