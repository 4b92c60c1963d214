"""Crash safety of the event log and the outbox: torn lines, full disks, SIGKILL, power cuts, corrupt files.

Real files, real SQLite, a real (tmpfs) full file system where this machine
lets the test mount one, and the real CLI for what a user sees.
"""

from __future__ import annotations

import contextlib
import errno
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from har.edge.capture import open_video
from har.edge.cli import app
from har.edge.events import Event
from har.edge.sinks.jsonl import JsonlSink
from har.edge.sinks.outbox import Outbox, OutboxError
from har.edge.sinks.video import VideoSink
from tests.edge.colour import scenario
from tests.helpers import need

# -- a small full file system ---------------------------------------------------------------------


@contextlib.contextmanager
def small_fs(tmp_path: Path, size_kb: int = 512):
    """A tmpfs of ``size_kb`` (needs root): skipped on a user's clone where it cannot be mounted, failed in CI."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    need(res.returncode == 0, f"cannot mount a tmpfs here ({res.stderr.strip() or 'not root'})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(folder: Path) -> Path:
    """Write a filler file until the file system is full; delete it to make room again."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler


# -- JSON lines -------------------------------------------------------------------------------------


def test_a_torn_last_line_is_cut_and_the_next_event_starts_a_new_line(tmp_path):
    path = tmp_path / "events.jsonl"
    whole = Event.started(1.0, "wave", 0.9)
    path.write_text(whole.to_json() + "\n" + Event.started(2.0, "walk", 0.8).to_json()[:37])  # power cut mid-write
    sink = JsonlSink(path)
    nxt = Event.started(3.0, "jump", 0.7)
    sink.publish(nxt)
    sink.stop()
    rows = [json.loads(line) for line in path.read_text().splitlines()]  # every line parses
    assert [r["event_id"] for r in rows] == [whole.event_id, nxt.event_id]


def test_a_file_that_is_only_a_torn_line_starts_over(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"kind": "action_st')
    sink = JsonlSink(path)
    sink.publish(Event.started(1.0, "wave", 0.9))
    sink.stop()
    assert len(path.read_text().splitlines()) == 1 and json.loads(path.read_text())["label"] == "wave"


def test_jsonl_on_a_full_disk_leaves_no_partial_line(tmp_path, caplog):
    with small_fs(tmp_path, 256) as mnt:
        sink = JsonlSink(mnt / "events.jsonl", max_bytes=0)
        first = Event.started(1.0, "wave", 0.9)
        sink.publish(first)
        filler = fill(mnt)
        big = Event.state(2.0, "wave", 0.9, probabilities={f"label{i}": 0.1 for i in range(400)})
        sink.publish(big)  # skipped with one warning, no traceback; the other sinks still get it
        sink.publish(big)
        assert sink.failed == 2 and caplog.text.count("cannot write events") == 1
        filler.unlink()
        last = Event.ended(3.0, "wave", 0.9, started_at=1.0, ended_at=3.0)
        sink.publish(last)
        sink.stop()
        rows = [json.loads(line) for line in (mnt / "events.jsonl").read_text().splitlines()]
        assert [r["event_id"] for r in rows] == [first.event_id, last.event_id]


# -- annotated video --------------------------------------------------------------------------------


def test_annotated_video_is_written_in_segments(tmp_path):
    """An mp4 holds its index in memory until closed: long runs rotate files (the soak measures the memory)."""
    path = tmp_path / "a.mp4"
    sink = VideoSink(path, fps=10, segment_s=1.0, backups=2)
    frame = np.full((48, 64, 3), 90, np.uint8)
    for _ in range(35):
        sink.write(frame, "wave", 0.9, 10.0)
    sink.stop()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.1.mp4", "a.2.mp4", "a.mp4"]
    counts = [int(open_video(tmp_path / n).get(cv2.CAP_PROP_FRAME_COUNT)) for n in
              ("a.2.mp4", "a.1.mp4", "a.mp4")]
    assert counts == [10, 10, 5]  # the oldest segment was dropped


# -- outbox: SIGKILL, power cut, corruption, full disk ----------------------------------------------

WRITER = """
import sys
from har.edge.sinks.outbox import Outbox
from har.edge.capture import open_video
ob = Outbox(sys.argv[1])
i = 0
while True:
    ob.put(f"e{i:06d}", "t", b"x" * 300)
    print(f"e{i:06d}", flush=True)  # acknowledged to the pipeline: put() returned
    i += 1
"""


@pytest.mark.parametrize("after", [5, 60, 400])
def test_sigkill_during_writes_loses_no_acknowledged_event(tmp_path, after):
    path = tmp_path / "o.sqlite3"
    for round_ in range(2):  # the second writer resumes on the same file, without help
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        acked = []
        for line in proc.stdout:
            acked.append(line.strip())
            if len(acked) >= after:
                break
        proc.kill()  # SIGKILL, most likely inside the next INSERT
        proc.wait(10)
        acked += [line.strip() for line in proc.stdout]
        with Outbox(path) as ob:
            queued = [i.event_id for i in ob.peek(100_000)]
        assert set(acked) <= set(queued)
        assert queued == sorted(queued)  # in the order they were put
        if round_ == 0:
            with Outbox(path) as ob:
                for item in ob.peek(100_000):
                    ob.ack(item.event_id)


def _snapshot(path: Path, dest: Path) -> None:
    """What is on disk right now (every commit was fsynced): the state a power cut would leave."""
    for suffix in ("", "-wal"):
        if Path(f"{path}{suffix}").exists():
            shutil.copyfile(f"{path}{suffix}", f"{dest}{suffix}")


def test_power_cut_mid_write_keeps_every_acknowledged_event_in_order(tmp_path):
    path = tmp_path / "o.sqlite3"
    cut = tmp_path / "cut.sqlite3"
    ob = Outbox(path)
    for i in range(50):
        ob.put(f"e{i:03d}", "t", b"x" * 300)
    wal = Path(f"{path}-wal")
    before = wal.stat().st_size
    ob.put("e050", "t", b"y" * 300)  # the write the power cut tears
    after = wal.stat().st_size
    _snapshot(path, cut)
    ob.close()
    with open(f"{cut}-wal", "r+b") as f:
        f.truncate(before + (after - before) // 2)
    with Outbox(cut) as restored:
        assert [i.event_id for i in restored.peek(1000)] == [f"e{i:03d}" for i in range(50)]
        assert restored.put("e051", "t", b"z")  # and it keeps working
        assert restored.peek(1000)[-1].event_id == "e051"


def test_a_truncated_database_is_moved_aside_and_a_fresh_one_started(tmp_path, caplog):
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as ob:
        for i in range(200):
            ob.put(f"e{i:03d}", "t", b"x" * 500)
    with open(path, "r+b") as f:  # closed cleanly, so everything is in the main file; cut it in half
        f.truncate(path.stat().st_size // 2)
    with Outbox(path) as ob:  # no traceback, no help needed
        assert ob.put("new", "t", b"1")
        assert [i.event_id for i in ob.peek(1000)][-1] == "new"
    aside = [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside and "moved it to" in caplog.text


def test_a_damaged_page_keeps_the_rows_before_it(tmp_path):
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as ob:
        for i in range(300):
            ob.put(f"e{i:03d}", "t", b"x" * 500)
    data = bytearray(path.read_bytes())
    page = 4096
    last = len(data) // page - 1
    data[last * page : last * page + 200] = b"\xff" * 200  # scribble over the last leaf page
    path.write_bytes(bytes(data))
    with Outbox(path) as ob:
        kept = [i.event_id for i in ob.peek(1000)]
    assert kept and kept == [f"e{i:03d}" for i in range(len(kept))]  # a prefix, in order, no gaps


def test_garbage_in_place_of_the_outbox_is_moved_aside(tmp_path):
    path = tmp_path / "o.sqlite3"
    path.write_bytes(b"not a database at all " * 200)
    with Outbox(path) as ob:
        assert len(ob) == 0
    assert any(".corrupt-" in p.name for p in tmp_path.iterdir())


def test_outbox_errors_are_one_sentence(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(OutboxError, match="is a directory"):
        Outbox(tmp_path / "dir")
    with Outbox(tmp_path / "o.sqlite3"), pytest.raises(OutboxError, match="already in use"):
        Outbox(tmp_path / "o.sqlite3")


def test_outbox_on_a_full_disk_keeps_events_in_memory_in_order(tmp_path):
    with small_fs(tmp_path, 4096) as mnt:
        ob = Outbox(mnt / "o.sqlite3")
        for i in range(5):
            assert ob.put(f"a{i}", "t", b"x" * 200)
        filler = fill(mnt)
        for i in range(40):  # the disk is full: accepted, waiting in memory
            assert ob.put(f"b{i}", "t", b"y" * 2000)
        assert len(ob) == 45
        filler.unlink()
        assert ob.put("c0", "t", b"z")
        assert [i.event_id for i in ob.peek(100)] == [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(40)] + ["c0"]
        for item in ob.peek(100):
            ob.ack(item.event_id)
        ob.close()


def test_outbox_on_an_injected_enospc_keeps_events_in_memory_in_order(tmp_path, monkeypatch):
    ob = Outbox(tmp_path / "o.sqlite3")
    ob.put("a", "t", b"1")
    real = ob._db
    full = {"on": True}

    class FullDisk:
        def execute(self, sql, *args):
            if full["on"] and sql.lstrip().startswith(("INSERT", "DELETE")):
                e = sqlite3.OperationalError("database or disk is full")
                e.sqlite_errorcode = sqlite3.SQLITE_FULL
                raise e
            return real.execute(sql, *args)

    monkeypatch.setattr(ob, "_db", FullDisk())
    assert ob.put("b", "t", b"2") and ob.put("c", "t", b"3")
    assert ob.ack("a") is False  # cannot delete either: it stays queued (sent again: at least once)
    assert ob.put("b", "t", b"again") is False  # still idempotent while waiting
    full["on"] = False
    assert [i.event_id for i in ob.peek(10)] == ["a", "b", "c"]
    monkeypatch.setattr(ob, "_db", real)
    ob.close()


# -- what the user sees ---------------------------------------------------------------------------


@pytest.fixture
def clip(tmp_path):
    return scenario(tmp_path / "clip.avi", [("idle", 0.5), ("red", 1.5)])


def _run_mqtt(colour_bundle, clip, outbox, port):
    env = {"HAR_MQTT_HOST": "127.0.0.1", "HAR_MQTT_PORT": str(port)}
    cfg = outbox.parent / f"edge-{time.monotonic_ns()}.toml"
    cfg.write_text(f'[mqtt]\noutbox_path = "{outbox}"\ndevice_id = "t"\n')
    return CliRunner().invoke(app, ["run", "--config", str(cfg), "--bundle", str(colour_bundle), "--source",
                                    str(clip), "--mqtt", "--no-console"], env=env)


def test_cli_starts_on_a_corrupt_outbox(colour_bundle, clip, broker, tmp_path):
    outbox = tmp_path / "outbox.sqlite3"
    outbox.write_bytes(b"\x00garbage" * 500)
    res = _run_mqtt(colour_bundle, clip, outbox, broker.port)
    assert res.exit_code == 0, res.output
    assert any(".corrupt-" in p.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("case", ["directory", "second instance"])
def test_cli_outbox_problems_are_one_sentence_and_exit_2(colour_bundle, clip, broker, tmp_path, case):
    outbox = tmp_path / "outbox.sqlite3"
    held = None
    if case == "directory":
        outbox.mkdir()
    else:
        held = Outbox(outbox)
    try:
        res = _run_mqtt(colour_bundle, clip, outbox, broker.port)
    finally:
        if held is not None:
            held.close()
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    err = res.output.strip().splitlines()[-1]
    assert err.startswith("error: ") and ("is a directory" in err or "already in use" in err)
