"""A live MJPEG stream on 127.0.0.1 through the real source, pipeline and CLI: stop, outages, timeouts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from har.edge.bundle import load_bundle
from har.edge.config import load_config
from har.edge.pipeline import Pipeline
from har.edge.sinks.base import Sink
from har.edge.sources import LiveSource, SourceError, open_source
from tests.edge.colour import COLOURS
from tests.mjpeg_server import MjpegServer


def _frames(name: str, n: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = np.full((48, 64, 3), COLOURS[name], np.int16)
    return [np.clip(base + rng.integers(-6, 7, base.shape), 0, 255).astype(np.uint8) for _ in range(n)]


@pytest.fixture
def camera():
    srv = MjpegServer(_frames("red"), fps=20)
    yield srv
    srv.close()


class ListSink(Sink):
    def __init__(self):
        self.events = []
        self.availability_calls = []

    def publish(self, event) -> None:
        self.events.append(event)

    def availability(self, online, reason=None) -> None:
        self.availability_calls.append(online)

    def stop(self) -> None:
        pass


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_on_a_live_stream_exits_0_without_aborting(colour_bundle, camera, tmp_path, sig):
    """The reader is inside cap.read() when the signal comes: stop joins it before the capture is released."""
    jsonl = tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "har.edge.cli", "run", "--bundle", str(colour_bundle),
                             "--source", camera.url, "--jsonl", str(jsonl), "--stride", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (jsonl.exists() and jsonl.stat().st_size > 0):
        time.sleep(0.05)
    assert jsonl.exists(), "no event from the stream"
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "FATAL" not in out and "Traceback" not in out, out
    kinds = [json.loads(line)["kind"] for line in jsonl.read_text().splitlines()]
    assert kinds[0] == "action_started" and "action_ended" in kinds  # red ended on the way out


def test_an_outage_ends_the_running_action_at_the_last_frame(colour_bundle, camera):
    """Red streams, the camera goes silent for 4 s, then shows green: red ends when its frames stopped."""
    bundle = load_bundle(colour_bundle)
    cfg = load_config(None, {"inference.stride": 1, "smoother.background_labels": ["idle"]}, environ={})
    sink = ListSink()
    src = open_source(source=camera.url, on_outage=lambda down, why: sink.availability(not down, why),
                      reconnect_max_s=0.5, open_timeout_s=1.0)
    pipe = Pipeline(cfg, bundle, sink)
    marks = {}

    def script():
        time.sleep(3.0)
        marks["stall"] = time.monotonic()
        camera.stall()  # connection open, nothing sent: only the read timeout notices
        time.sleep(4.0)
        camera.jpegs = [__import__("cv2").imencode(".jpg", f)[1].tobytes() for f in _frames("green")]
        marks["resume"] = time.monotonic()
        camera.resume()
        time.sleep(3.0)
        pipe.stop()
        src.stop()

    t = threading.Thread(target=script)
    t.start()
    pipe.run(src)
    t.join()
    actions = [(e.kind, e.label, e) for e in sink.events if e.kind != "state"]
    assert [(k, lab) for k, lab, _ in actions][:3] == [
        ("action_started", "red"), ("action_ended", "red"), ("action_started", "green")]
    red_end = actions[1][2]
    # Red streamed ~3 s; it must not span the 4 s outage (it ends at the last red frame).
    assert red_end.duration_s < 3.5, red_end
    assert sink.availability_calls[:2] == [False, True]  # the read timeout (1 s) noticed the silent stream


def test_reconnect_backoff_is_capped_by_reconnect_max_s(camera):
    """A camera refusing streams for 10 s is picked up within ~reconnect_max_s of coming back."""
    outages = []
    src = LiveSource(camera.url, reconnect_max_s=0.5, open_timeout_s=1.0,
                     on_outage=lambda down, why: outages.append((down, time.monotonic())))
    it = iter(src)
    next(it)
    camera.drop()  # closes the stream and answers 503 until resume()
    time.sleep(10.0)  # uncapped, the tries would be 0.5, 1.5, 3.5, 7.5 and 15.5 s after the drop
    back = time.monotonic()
    camera.resume()
    deadline = time.monotonic() + 10
    while not any(not down for down, _ in outages) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert src.stop()
    assert outages and outages[0][0] is True
    assert [d for d, _ in outages][:2] == [True, False]
    assert outages[1][1] - back < 3.0  # the 0.5 s cap plus one open, not 5.5 s


def test_a_stream_that_never_answers_fails_within_open_timeout():
    import socket

    with socket.socket() as s:  # accepts TCP but never speaks HTTP
        s.bind(("127.0.0.1", 0))
        s.listen()
        t0 = time.monotonic()
        with pytest.raises(SourceError, match="within 1 s"):
            open_source(source=f"http://127.0.0.1:{s.getsockname()[1]}/video", open_timeout_s=1.0)
        assert time.monotonic() - t0 < 5.0


def test_cli_uses_the_configured_open_timeout(colour_bundle, tmp_path):
    """`source.open_timeout_s` from the config reaches the stream: a silent camera is one sentence, exit 2."""
    import socket

    from typer.testing import CliRunner

    from har.edge.cli import app

    cfg = tmp_path / "edge.toml"
    cfg.write_text("[source]\nopen_timeout_s = 1.0\nreconnect_max_s = 2.0\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        t0 = time.monotonic()
        res = CliRunner().invoke(app, ["run", "--config", str(cfg), "--bundle", str(colour_bundle), "--source",
                                       f"http://127.0.0.1:{s.getsockname()[1]}/video", "--no-console"])
        took = time.monotonic() - t0
    assert res.exit_code == 2, res.output
    assert "within 1 s" in res.output.strip().splitlines()[-1] and took < 8.0


def test_a_looping_file_keeps_counting_time(tmp_path):
    from har.edge.sources import FileSource
    from tests.helpers import write_video

    path = write_video(tmp_path / "five.avi", _frames("green", 5), fps=10.0)
    src = FileSource(path, loop=True)
    got = []
    for ts, _frame in src:
        got.append(ts)
        if len(got) == 12:
            src.stop()
    assert len(got) == 12 and got == sorted(got) and got[-1] == pytest.approx(1.1)


def test_stop_while_the_reader_is_stuck_in_read_is_bounded(camera):
    """A silent stream: the reader sits in cap.read() until the read timeout; stop() waits that long at most."""
    src = LiveSource(camera.url, open_timeout_s=1.5)
    next(iter(src))
    camera.stall()
    time.sleep(0.3)  # the reader is now blocked inside FFmpeg
    t0 = time.monotonic()
    assert src.stop() is True  # joined: the capture was released by the reader itself
    assert time.monotonic() - t0 < 1.5 + 1.0
    assert not src._thread.is_alive()
