"""Sampler, window, sources and config: the small stages before the interpreter."""

import json
import time

import numpy as np
import pytest

from har.edge.config import ConfigError, load_config
from har.edge.sampler import IntervalSampler
from har.edge.sources import FileSource, LiveSource, SourceError, open_source
from har.edge.window import Window
from har.models.clips import Sampling, clip_indices
from tests.helpers import write_video


@pytest.mark.parametrize("fps", [10.0, 15.0, 25.0, 30.0, 29.97])
def test_sampler_picks_the_frames_training_picks(fps):
    s = Sampling(seq_len=20, interval_s=0.1, clips_per_video=2)  # the first clip starts at t=0
    n = int(fps * 4)
    sampler = IntervalSampler(0.1)
    sampler.set_frame_period(1 / fps)
    picked = [i for i in range(n) if sampler.accept(i / fps)]
    train_first_clip = clip_indices(n, fps, s)[0]
    assert picked[:20] == list(train_first_clip)


def test_sampler_rate_is_independent_of_camera_fps():
    for fps in (7.0, 30.0, 60.0):
        sampler = IntervalSampler(0.1)
        sampler.set_frame_period(1 / fps)
        kept = sum(sampler.accept(i / fps) for i in range(int(fps * 10)))
        assert abs(kept - min(100, fps * 10)) <= 1


def test_sampler_restarts_after_a_stall():
    sampler = IntervalSampler(0.1)
    assert sampler.accept(0.0) and sampler.accept(0.1)
    assert sampler.accept(5.0)  # a 5 s outage: take the next frame, no burst
    assert not sampler.accept(5.03) and sampler.accept(5.1)


def test_window_order_stride_and_clear():
    w = Window(3, stride=2)
    due = []
    for i in range(7):
        w.push(np.array([i]))
        due.append(w.due)
    assert due == [False, False, True, False, True, False, True]
    assert w.array().ravel().tolist() == [4, 5, 6]
    w.clear()
    assert not w.ready
    with pytest.raises(RuntimeError):
        w.array()


def _frames(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(n)]


def test_file_source_gives_media_time(tmp_path):
    path = write_video(tmp_path / "a.avi", _frames(12), fps=12.0)
    src = FileSource(path)
    items = list(src)
    assert len(items) == 12 and src.fps == 12.0
    assert [round(t, 4) for t, _ in items[:3]] == [0.0, round(1 / 12, 4), round(2 / 12, 4)]


def test_unopenable_sources_are_clear_errors(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        open_source(source=str(tmp_path / "nope.mp4"))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage" * 100)
    with pytest.raises(SourceError, match="cannot open"):
        open_source(source=str(bad))
    with pytest.raises(SourceError, match="exactly one"):
        open_source(camera=0, source="x.mp4")
    with pytest.raises(SourceError, match="cannot open camera 97"):
        open_source(camera=97)


def test_live_source_reconnects_and_marks_the_gap(tmp_path):
    # A stream that ends is treated like a camera that dropped: reopened with backoff.
    path = write_video(tmp_path / "cam.avi", _frames(5), fps=30.0)
    outages = []
    src = LiveSource(str(path), queue_size=64, on_outage=lambda down, why: outages.append(down))
    got, deadline = [], time.monotonic() + 10
    for item in src:
        got.append(item)
        if sum(x is None for x in got) >= 1 and len(got) >= 11 or time.monotonic() > deadline:
            break
    src.stop()
    assert outages[:2] == [True, False]
    gap = got.index(None)
    assert gap == 5 and all(x is not None for x in got[gap + 1 : gap + 6])


def test_live_source_drops_old_frames_when_the_consumer_is_slow(tmp_path):
    path = write_video(tmp_path / "cam.avi", _frames(60), fps=30.0)
    src = LiveSource(str(path), queue_size=2)
    time.sleep(1.0)  # the consumer is "busy"; the reader keeps only the newest frames
    assert src.queue_depth <= 2 and src.dropped >= 50
    src.stop()


def test_config_file_then_flags_then_env(tmp_path):
    f = tmp_path / "edge.toml"
    f.write_text('bundle = "b"\n[inference]\nthreads = 3\nstride = 4\n[mqtt]\nhost = "filehost"\n')
    cfg = load_config(f, {"inference.stride": 1}, environ={"HAR_MQTT_HOST": "envhost", "HAR_MQTT_PORT": "1999"})
    assert (cfg.bundle, cfg.inference.threads, cfg.inference.stride) == ("b", 3, 1)
    assert (cfg.mqtt.host, cfg.mqtt.port) == ("envhost", 1999)
    json.dumps(cfg.to_dict())


@pytest.mark.parametrize("text,match", [
    ("[inference]\nthread = 2\n", "unknown option inference.thread"),
    ("[inference]\nthreads = 'two'\n", "inference.threads must be int"),
    ("[smoother]\nenter_threshold = 0.3\nexit_threshold = 0.5\n", "exit_threshold"),
    ("[inference\n", "not valid"),
])
def test_bad_config_is_refused_with_the_key_named(tmp_path, text, match):
    f = tmp_path / "edge.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(f, {}, environ={})


def test_password_is_never_printed(tmp_path):
    cfg = load_config(None, {}, environ={"HAR_MQTT_USERNAME": "u", "HAR_MQTT_PASSWORD": "s3cret"})
    assert "s3cret" not in json.dumps(cfg.to_dict())
