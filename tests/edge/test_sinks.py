import dataclasses
import io
import json
import logging
import sqlite3
import threading

import numpy as np
import pytest

from har.edge.capture import open_video
from har.edge.draw import annotate, overlay_lines
from har.edge.events import Event
from har.edge.sinks.base import MultiSink, Sink
from har.edge.sinks.console import ConsoleSink
from har.edge.sinks.jsonl import JsonlSink
from har.edge.sinks.outbox import Outbox, OutboxError
from har.edge.sinks.video import VideoSink


def sample_events():
    s = Event.started(12.4, "wave", 0.93, started_at=12.4)
    e = Event.ended(15.1, "wave", 0.88, started_at=12.4, start_event_id=s.event_id)
    st = Event.state(20.0, "wave", 0.876, probabilities={"wave": 0.876}, stats={"fps": 14.94, "frames": 3})
    return s, e, st


# -- console -----------------------------------------------------------------


def test_console_lines():
    s, e, st = sample_events()
    out = io.StringIO()
    sink = ConsoleSink(out)
    for ev in (s, e, st):
        sink.publish(ev)
    assert out.getvalue().splitlines() == [
        "12.40s  ▶ started  wave  (0.93)",
        "15.10s  ■ ended    wave  after 2.70s",
    ]
    out = io.StringIO()
    ConsoleSink(out, show_state=True).publish(st)
    assert out.getvalue() == "20.00s  · state    wave  (0.88)  fps=14.9  frames=3\n"


def test_console_falls_back_to_ascii():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    sink = ConsoleSink(stream)
    sink.publish(sample_events()[0])
    sink.stop()
    assert raw.getvalue().decode() == "12.40s  > started  wave  (0.93)\n"


# -- jsonl -------------------------------------------------------------------


def test_jsonl_writes_one_object_per_line_and_flushes(tmp_path):
    path = tmp_path / "deep" / "dir" / "events.jsonl"
    sink = JsonlSink(path)
    events = sample_events()
    for ev in events:
        sink.publish(ev)
        # flushed after every write: readable before stop()
        assert path.read_text().count("\n") == events.index(ev) + 1
    sink.stop()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["event_id"] for r in rows] == [e.event_id for e in events]
    assert Event.from_dict(rows[1]).start_event_id == events[0].event_id
    with pytest.raises(RuntimeError, match="stopped"):
        sink.publish(events[0])


def test_jsonl_rotates_by_size(tmp_path):
    path = tmp_path / "events.jsonl"
    def event(i):  # fixed wall time: every line has the same length
        return dataclasses.replace(Event.started(float(i), "wave", 0.5), wall_time=1_700_000_000.25)

    line_len = len(event(1).to_json()) + 1
    sink = JsonlSink(path, max_bytes=3 * line_len, backups=2, fsync=True)
    ids = []
    for i in range(10):
        ev = event(i)
        ids.append(ev.event_id)
        sink.publish(ev)
    sink.stop()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    kept = []
    for name in ("events.jsonl.2", "events.jsonl.1", "events.jsonl"):
        text = (tmp_path / name).read_text()
        assert len(text.encode()) <= 3 * line_len
        kept += [json.loads(line)["event_id"] for line in text.splitlines()]
    assert kept == ids[-len(kept) :] and len(kept) == 7  # 3 + 3 + 1, oldest dropped


def test_jsonl_appends_across_restarts(tmp_path):
    path = tmp_path / "e.jsonl"
    for _ in range(2):
        sink = JsonlSink(path)
        sink.publish(sample_events()[0])
        sink.stop()
    assert len(path.read_text().splitlines()) == 2


# -- outbox ------------------------------------------------------------------


def test_outbox_fifo_idempotent_ack_and_persistence(tmp_path):
    path = tmp_path / "state" / "outbox.sqlite3"
    ob = Outbox(path)
    assert ob.put("a", "t/events", b"1") is True
    assert ob.put("b", "t/events", "2", qos=1) is True
    assert ob.put("a", "t/events", b"dup") is False  # idempotent on event_id
    assert ob.put("c", "t/events", b"3", retain=True) is True
    assert len(ob) == 3
    items = ob.peek(10)
    assert [i.event_id for i in items] == ["a", "b", "c"]
    assert items[0].payload == b"1" and items[1].payload == b"2" and items[2].retain is True
    assert [i.event_id for i in ob.peek(1, after_seq=items[0].seq)] == ["b"]
    assert ob.ack("b") is True and ob.ack("b") is False
    ob.close()
    with pytest.raises(RuntimeError, match="closed"):
        len(ob)

    ob = Outbox(path)  # a new process would see the same
    assert [i.event_id for i in ob.peek(10)] == ["a", "c"]
    ob.put("d", "t/events", b"4")
    assert [i.event_id for i in ob.peek(10)] == ["a", "c", "d"]  # new rows still go last
    assert ob.put("b", "t/events", b"2") is True  # an acked id may be queued again (it was deleted)
    ob.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_outbox_is_exclusive_and_thread_safe(tmp_path):
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as ob:
        with pytest.raises(OutboxError, match="already in use"):
            Outbox(path)

        def writer(k):
            for i in range(25):
                ob.put(f"{k}-{i}", "t", b"x")

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(ob) == 100
        for item in ob.peek(100):
            assert ob.ack(item.event_id)
        assert len(ob) == 0
    Outbox(path).close()  # released after close


# -- multisink ---------------------------------------------------------------


class Recorder(Sink):
    def __init__(self):
        self.events, self.stopped, self.avail = [], False, []

    def publish(self, event):
        self.events.append(event)

    def stop(self):
        self.stopped = True

    def availability(self, online, reason=None):
        self.avail.append((online, reason))


class Broken(Sink):
    def publish(self, event):
        raise OSError("disk full")

    def stop(self):
        raise OSError("still full")


def test_multisink_isolates_failures(caplog):
    a, b = Recorder(), Recorder()
    multi = MultiSink([a, Broken(), b])
    s, e, _ = sample_events()
    with caplog.at_level(logging.WARNING, logger="har.edge.sinks.base"):
        multi.publish(s)
        multi.publish(e)
        multi.availability(False, "camera lost")
        multi.stop()
    assert a.events == [s, e] and b.events == [s, e]
    assert a.stopped and b.stopped
    assert a.avail == [(False, "camera lost")]
    messages = [r.getMessage() for r in caplog.records]
    assert any("Broken.publish failed" in m for m in messages)
    assert any("again" in m for m in messages)


def test_sink_is_a_context_manager():
    r = Recorder()
    with r:
        pass
    assert r.stopped


# -- video -------------------------------------------------------------------


def test_annotate_is_pure_and_draws():
    frame = np.full((120, 160, 3), 200, np.uint8)
    out = annotate(frame, overlay_lines("wave", 0.93, 14.8))
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.all(frame == 200)  # input untouched
    assert not np.array_equal(out, frame)
    assert out[-1, -1].tolist() == [200, 200, 200]  # only the top-left box changes
    assert overlay_lines(None, 0.0) == ["idle"]


@pytest.mark.parametrize("ext", [".avi", ".mp4"])
def test_video_sink_writes_annotated_frames(tmp_path, ext):
    path = tmp_path / "out" / f"clip{ext}"
    sink = VideoSink(path, fps=10)
    rng = np.random.default_rng(0)
    for i in range(5):
        frame = rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)
        sink.write(frame, "wave" if i > 2 else None, 0.9, fps_now=9.8)
    sink.stop()
    cap = open_video(path)
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (96, 128, 3)
        n += 1
    cap.release()
    assert n == 5


def test_video_sink_resizes_to_requested_size_and_rejects_bad_paths(tmp_path):
    sink = VideoSink(tmp_path / "small.avi", fps=5, size=(64, 48))
    sink.write(np.zeros((96, 128), np.uint8), "wave", 0.5)
    sink.stop()
    cap = open_video(tmp_path / "small.avi")
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == (48, 64, 3)
    with pytest.raises(ValueError, match=r"\.mp4 or \.avi"):
        VideoSink(tmp_path / "x.gif", fps=5)
    with pytest.raises(ValueError, match="fps"):
        VideoSink(tmp_path / "x.avi", fps=0)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises((RuntimeError, OSError)):
        VideoSink(blocker / "x.avi", fps=5).write(np.zeros((8, 8, 3), np.uint8), None, 0.0)


def test_draw_skeleton_draws_visible_bones_only():
    from har.edge.draw import draw_skeleton

    frame = np.zeros((240, 320, 3), np.uint8)
    lm = np.full((33, 5), np.nan, np.float32)
    lm[11] = (0.25, 0.5, 0, 0.9, 0.9)  # left shoulder
    lm[13] = (0.75, 0.5, 0, 0.9, 0.9)  # left elbow: bone 11-13 is visible
    lm[15] = (0.75, 0.9, 0, 0.1, 0.9)  # left wrist, barely visible: no bone 13-15
    out = draw_skeleton(frame, lm)
    assert frame.max() == 0  # the input is not drawn on
    assert out[120, 160].any()  # middle of the shoulder-elbow bone
    assert not out[190:210, 240].any()  # between elbow and the invisible wrist
